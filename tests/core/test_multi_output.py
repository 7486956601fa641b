"""Primitives with several outputs: one node, one rule, one cotangent per output."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.core.primitive import Primitive
from tapegrad.testing import check_grads, check_primitive


def _sincos(x):
    return np.sin(x), np.cos(x)


def _sincos_vjp(g, ans, x):
    g_sin, g_cos = g
    s, c = ans
    total = 0.0
    if g_sin is not None:
        total = total + g_sin * c
    if g_cos is not None:
        total = total - g_cos * s
    return (total,)


@pytest.fixture
def sincos():
    prim = Primitive(_sincos, name="sincos_test")
    seen = []

    def rule(g, ans, x):
        seen.append(tuple(c is not None for c in g))
        return _sincos_vjp(g, ans, x)

    prim.defvjp(rule)
    prim.seen = seen
    return prim


def test_one_forward_gives_one_tensor_per_output(sincos):
    x = tg.tensor([0.3, 1.1], requires_grad=True)
    s, c = sincos(x)
    np.testing.assert_array_equal(s.data, np.sin([0.3, 1.1]))
    np.testing.assert_array_equal(c.data, np.cos([0.3, 1.1]))
    assert s.requires_grad and c.requires_grad and not s.is_leaf


def test_the_rule_runs_once_with_a_cotangent_per_output(sincos):
    x0 = np.array([0.3, 1.1, -2.0])
    x = tg.tensor(x0, requires_grad=True)
    s, c = sincos(x)
    tg.sum(s * 2.0 + c * 3.0).backward()
    assert sincos.seen == [(True, True)]  # one node: its rule ran once
    np.testing.assert_allclose(x.grad, 2.0 * np.cos(x0) - 3.0 * np.sin(x0))


@pytest.mark.parametrize("used", [0, 1])
def test_an_output_that_does_not_reach_the_loss_gets_none(sincos, used):
    x0 = np.array([0.3, 1.1])
    x = tg.tensor(x0, requires_grad=True)
    outputs = sincos(x)
    tg.sum(outputs[used]).backward()
    assert sincos.seen == [(used == 0, used == 1)]
    expected = np.cos(x0) if used == 0 else -np.sin(x0)
    np.testing.assert_allclose(x.grad, expected)


def test_second_order_through_both_outputs_and_one(sincos):
    x0 = np.array([0.3, 1.1, -0.7])
    # Against finite differences, up to the second derivative.
    check_grads(lambda x: tg.sum(sincos(x)[0] * sincos(x)[1]), x0, order=2)
    check_grads(lambda x: tg.sum(sincos(x)[1] ** 3), x0, order=2)

    # And against the closed form: d2/dx2 of sum(sin x cos x) = -4 sin x cos x.
    def f(y):
        s, c = sincos(y)
        return tg.sum(s * c)

    hess_diag = tg.grad(lambda x: tg.sum(tg.grad(f)(x)))(x0)
    np.testing.assert_allclose(hess_diag, -4.0 * np.sin(x0) * np.cos(x0), rtol=1e-12)


def test_integer_outputs_are_constants():
    prim = Primitive(lambda x: (x * 2.0, np.argmax(x)), name="double_and_argmax_test")
    prim.defvjp(lambda g, ans, x: (2.0 * g[0],))
    x = tg.tensor([1.0, 3.0, 2.0], requires_grad=True)
    doubled, where = prim(x)
    assert where.dtype.kind == "i" and not where.requires_grad
    tg.sum(doubled).backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_a_namedtuple_result_keeps_its_fields():
    x = tg.tensor(np.array([[2.0, 1.0], [1.0, 3.0]]), requires_grad=True)
    result = np.linalg.eigh(x)
    assert type(result).__name__ == "EighResult"
    assert result.eigenvalues.shape == (2,) and result.eigenvectors.shape == (2, 2)


def test_check_primitive_tests_each_output_and_rotates_the_subset(sincos):
    report = check_primitive(sincos, max_examples=30)
    assert report.examples > 0
    # Rotating subsets: the rule met each output alone and both together.
    assert {(True, False), (False, True), (True, True)} <= set(sincos.seen)


def test_check_primitive_catches_a_wrong_rule_for_one_output():
    prim = Primitive(_sincos, name="sincos_wrong_test")

    @prim.defvjp
    def _(g, ans, x):
        g_sin, g_cos = g
        total = 0.0
        if g_sin is not None:
            total = total + g_sin * ans[1]
        if g_cos is not None:
            total = total + g_cos * ans[0]  # wrong sign
        return (total,)

    with pytest.raises(AssertionError, match="sincos_wrong_test"):
        check_primitive(prim, max_examples=30)


def test_eigh_eigenvalues_alone_have_a_finite_gradient_when_others_are_tied():
    # Eigenvalues 1, 1, 3: the top one is simple, its gradient v v^T is finite.
    # Only the eigenvector terms divide by the gaps, and they are skipped.
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
    a = (q * np.array([1.0, 1.0, 3.0])) @ q.T
    g = tg.grad(lambda m: np.linalg.eigh(m)[0][2])(a)
    v = q[:, 2]
    np.testing.assert_allclose(g, np.tril(2.0 * np.outer(v, v) - np.diag(v * v)), atol=1e-12)


def test_svd_singular_values_alone_match_svdvals():
    a = np.random.default_rng(1).standard_normal((4, 3))
    via_svd = tg.grad(lambda m: tg.sum(np.linalg.svd(m, full_matrices=False)[1] ** 2))(a)
    # sum of squared singular values is the squared Frobenius norm: gradient 2a.
    np.testing.assert_allclose(via_svd, 2.0 * a, rtol=1e-12)
