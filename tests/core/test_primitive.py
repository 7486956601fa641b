"""The primitive registry and what the engine checks in a rule's answer."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.core.primitive import _REGISTRY, Primitive


@pytest.fixture
def registered():
    """Primitives registered by a test are removed afterwards."""
    before = dict(_REGISTRY)
    yield
    _REGISTRY.clear()
    _REGISTRY.update(before)


def make(fun, rule, needs_grad=False, **options):
    prim = Primitive(fun, **options)
    prim.defvjp(rule, needs_grad=needs_grad)
    return prim


def test_design_example_softplus(registered):
    @tg.primitive
    def softplus(x):
        return np.logaddexp(0.0, x)

    @softplus.defvjp
    def _(g, ans, x):
        return (g / (1.0 + np.exp(-x)),)

    x = tg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    tg.sum(softplus(x)).backward()
    np.testing.assert_allclose(x.grad, 1 / (1 + np.exp(-x.data)))
    assert softplus in tg.primitives().values()


def test_primitives_lists_the_registry_by_name():
    registry = tg.primitives()
    assert list(registry) == sorted(registry)
    for name in ("add", "subtract", "multiply", "divide", "negative", "power", "exp", "log"):
        assert registry[name].name == name
    assert all(isinstance(p, Primitive) for p in registry.values())


def test_same_short_name_from_another_module_is_kept_under_a_qualified_name(registered):
    def exp(x):
        return np.exp(x)

    prim = tg.primitive(exp)
    assert tg.primitives()["exp"] is tg.exp
    assert prim.name.endswith("exp") and prim.name != "exp"


def test_none_means_no_gradient_and_is_skipped():
    calls = []

    def rule(g, ans, x, y):
        calls.append(1)
        return g * 2.0, None

    prim = make(lambda x, y: 2.0 * x + y, rule)
    x = tg.tensor([1.0], requires_grad=True)
    y = tg.tensor([1.0], requires_grad=True)
    tg.sum(prim(x, y)).backward()
    np.testing.assert_allclose(x.grad, [2.0])
    assert y.grad is None  # "no gradient", not zeros
    assert calls == [1]


def test_a_zero_cotangent_is_a_gradient():
    prim = make(lambda x: x * 0.0, lambda g, ans, x: (g * 0.0,))
    x = tg.tensor([1.0], requires_grad=True)
    tg.sum(prim(x)).backward()
    np.testing.assert_array_equal(x.grad, [0.0])


def test_rule_returning_broadcast_shape_is_unbroadcast():
    # A rule for x + y that hands back g for both, in the output's shape.
    prim = make(lambda x, y: x + y, lambda g, ans, x, y: (g, g))
    x = tg.tensor(np.ones((2, 3)), requires_grad=True)
    y = tg.tensor(np.ones((3,)), requires_grad=True)
    z = tg.tensor(np.ones((2, 1)), requires_grad=True)
    tg.sum(prim(prim(x, y), z)).backward()
    np.testing.assert_allclose(y.grad, [2.0, 2.0, 2.0])
    np.testing.assert_allclose(z.grad, [[3.0], [3.0]])


def test_rule_returning_impossible_shape_names_primitive_and_shapes():
    prim = make(lambda x: x * 2.0, lambda g, ans, x: (np.ones(5),), name="twice")
    x = tg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"'twice'.*shape \(5,\).*shape \(3,\)"):
        tg.sum(prim(x)).backward()


def test_rule_returning_wrong_count_names_primitive():
    prim = make(lambda x, y: x * y, lambda g, ans, x, y: (g * y,), name="times")
    x = tg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match=r"'times'.*2 cotangents"):
        tg.sum(prim(x, 2.0)).backward()


def test_rule_returning_integer_cotangent_names_primitive_and_dtypes():
    prim = make(lambda x: x * 2.0, lambda g, ans, x: (np.ones(3, dtype=int),), name="intrule")
    x = tg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match=r"'intrule'.*int64.*float64"):
        tg.sum(prim(x)).backward()


def test_cotangent_is_cast_to_input_dtype():
    prim = make(lambda x: x * 2.0, lambda g, ans, x: (np.asarray(g, dtype=np.float64) * 2.0,))
    x = tg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    tg.sum(prim(x)).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, 2.0)


def test_missing_rule_is_a_clear_error():
    prim = Primitive(lambda x: x * 2.0, name="norule")
    x = tg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"'norule'.*defvjp"):
        prim(x)
    assert isinstance(prim(np.ones(3)), tg.Tensor)  # fine without a gradient


def test_nondiff_argument_is_never_traced():
    def take_first(x, index):
        return x[index]

    seen = {}

    def rule(g, ans, x, index):
        seen["index"] = index
        out = np.zeros_like(x)
        out[index] = g
        return out, None

    prim = make(take_first, rule, nondiff=(1,))
    x = tg.tensor(np.arange(4.0), requires_grad=True)
    i = tg.tensor(np.array(2.0), requires_grad=True)
    y = prim(x, 2)
    assert y.item() == 2.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [0, 0, 1, 0])
    assert seen["index"] == 2
    assert i.grad is None


def test_positional_options_become_keywords_for_the_rule():
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = np.sum(x, 0)  # axis given positionally
    y.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x.grad, [[1, 2, 3], [1, 2, 3]])


def test_numpy_function_without_rule_is_a_type_error_naming_it():
    x = tg.tensor(np.ones(4), requires_grad=True)
    with pytest.raises(TypeError, match=r"np\.unwrap.*tapegrad\.primitive"):
        np.unwrap(x)


def test_numpy_function_without_rule_runs_on_constants():
    y = np.unwrap(tg.tensor(np.array([0.0, 7.0])))
    np.testing.assert_allclose(y, [0.0, 7.0 - 2 * np.pi])


def test_ufunc_out_argument_is_a_type_error():
    x = tg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="out="):
        np.exp(x, out=np.empty(3))


def test_residuals_reach_the_rule_and_are_rebuilt_under_create_graph():
    seen = []

    def fun(x):
        e = np.exp(x)
        return e * e, {"e": e}

    def rule(g, ans, x, residuals=None):
        seen.append(residuals is None)
        e = np.exp(x) if residuals is None else residuals["e"]
        return (g * 2.0 * e * e,)

    prim = make(fun, rule, residuals=True)
    x0 = np.array([0.3, -0.2])
    np.testing.assert_allclose(tg.grad(lambda x: tg.sum(prim(x)))(x0), 2 * np.exp(2 * x0))
    hessian_diag = tg.grad(lambda x: tg.sum(tg.grad(lambda z: tg.sum(prim(z)))(x)))(x0)
    np.testing.assert_allclose(hessian_diag, 4 * np.exp(2 * x0))
    assert seen[0] is False and True in seen


def test_gradient_of_a_0d_input_is_an_ndarray():
    x = tg.tensor(2.0, requires_grad=True)
    tg.sum(x * np.ones(3)).backward()
    assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad == 3.0


def test_rule_calling_a_primitive_still_gives_an_ndarray_gradient():
    prim = make(lambda x: x * 2.0, lambda g, ans, x: (tg.multiply(g, 2.0),))
    x = tg.tensor(np.ones(3), requires_grad=True)
    tg.sum(prim(x)).backward()
    assert type(x.grad) is np.ndarray
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_rule_declaring_needs_grad_is_told_which_inputs_need_one():
    seen = []

    def rule(g, ans, x, y, needs_grad):
        seen.append(needs_grad)
        return (g * y if needs_grad[0] else None), (g * x if needs_grad[1] else None)

    prim = make(lambda x, y: x * y, rule, needs_grad=True)
    x = tg.tensor([2.0], requires_grad=True)
    c = tg.tensor([3.0])
    tg.sum(prim(x, c)).backward()
    tg.sum(prim(c, x)).backward()
    assert seen == [(True, False), (False, True)]
    np.testing.assert_array_equal(x.grad, [6.0])
    second = tg.grad(lambda z: tg.sum(tg.grad(lambda w: tg.sum(prim(w, w * w)))(z)))(
        np.array([2.0])
    )
    np.testing.assert_allclose(second, [6.0 * 2.0])  # d2/dw2 of w^3


def test_an_integer_result_is_a_constant():
    x = tg.tensor([1.5, 2.5], requires_grad=True)
    total = tg.sum(x, dtype=np.int64)
    assert total.dtype == np.int64 and not total.requires_grad
    assert not x.astype(np.int32).requires_grad


@pytest.mark.parametrize(
    "forward",
    [
        lambda x, c: x + c,  # operator fast path
        lambda x, c: tg.add(x, c),  # general call
        lambda x, c: np.add(x, c),  # numpy protocol
    ],
)
def test_forward_errors_name_the_primitive_and_the_shapes(forward):
    x = tg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError) as info:
        forward(x, tg.tensor(np.ones(4)))
    assert any("'add'" in n and "(2, 3), (4,)" in n for n in info.value.__notes__)
