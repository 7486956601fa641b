"""Linear algebra: products, einsum and numpy.linalg, against numpy and finite differences.

Spectral decompositions and norms (tapegrad/ops/spectral.py) are in test_spectral.py.
"""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

from .linalg_inputs import check_edge, real, wellcond

_real, _wellcond = real, wellcond


def _spd(*shape, seed=0):
    a = _real(*shape, seed=seed)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


# (id, function, inputs): the function is numpy code, so it is its own reference.
CASES = [
    ("matmul", lambda a, b: a @ b, [_real(2, 3), _real(3, 4, seed=1)]),
    ("matmul-vv", lambda a, b: np.matmul(a, b), [_real(3), _real(3, seed=1)]),
    ("matmul-vm", lambda a, b: np.matmul(a, b), [_real(3), _real(2, 3, 4, seed=1)]),
    ("matmul-mv", lambda a, b: np.matmul(a, b), [_real(2, 2, 3), _real(3, seed=1)]),
    ("matmul-batch", lambda a, b: a @ b, [_real(2, 1, 2, 3), _real(4, 3, 2, seed=1)]),
    ("matmul-empty", lambda a, b: a @ b, [_real(2, 0), _real(0, 3, seed=1)]),
    ("dot-scalar", lambda a, b: np.dot(a, b), [_real(), _real(2, 3, seed=1)]),
    ("dot-vv", lambda a, b: np.dot(a, b), [_real(3), _real(3, seed=1)]),
    ("dot-mm", lambda a, b: np.dot(a, b), [_real(2, 3), _real(3, 2, seed=1)]),
    ("dot-nd-1d", lambda a, b: np.dot(a, b), [_real(2, 2, 3), _real(3, seed=1)]),
    ("dot-nd-nd", lambda a, b: np.dot(a, b), [_real(2, 2, 3), _real(4, 3, 2, seed=1)]),
    ("dot-method", lambda a, b: a.dot(b), [_real(2, 3), _real(3, seed=1)]),
    ("vdot", lambda a, b: np.vdot(a, b), [_real(2, 3), _real(3, 2, seed=1)]),
    ("inner", lambda a, b: np.inner(a, b), [_real(2, 3), _real(4, 3, seed=1)]),
    ("inner-scalar", lambda a, b: np.inner(a, b), [_real(2), _real(seed=1)]),
    ("outer", lambda a, b: np.outer(a, b), [_real(3), _real(2, 2, seed=1)]),
    ("tensordot", lambda a, b: np.tensordot(a, b), [_real(2, 3, 4), _real(3, 4, 2, seed=1)]),
    ("tensordot-0", lambda a, b: np.tensordot(a, b, 0), [_real(2), _real(3, seed=1)]),
    (
        "tensordot-pairs",
        lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 1])),
        [_real(2, 3, 4), _real(3, 4, 2, seed=1)],
    ),
    ("vecdot", lambda a, b: np.vecdot(a, b), [_real(2, 3), _real(3, seed=1)]),
    ("einsum-matmul", lambda a, b: np.einsum("ij,jk->ik", a, b), [_real(2, 3), _real(3, 4)]),
    ("einsum-implicit", lambda a, b: np.einsum("ij,jk", a, b), [_real(2, 3), _real(3, 4)]),
    ("einsum-transpose", lambda a: np.einsum("ba", a), [_real(2, 3)]),
    ("einsum-trace", lambda a: np.einsum("ii", a), [_real(3, 3)]),
    ("einsum-diagonal", lambda a: np.einsum("ii->i", a), [_real(3, 3)]),
    ("einsum-sum", lambda a: np.einsum("ijk->j", a), [_real(2, 3, 4)]),
    ("einsum-repeated-3", lambda a: np.einsum("iji->j", a), [_real(2, 3, 2)]),
    ("einsum-outer", lambda a, b: np.einsum("i,j", a, b), [_real(2), _real(3)]),
    ("einsum-dot", lambda a, b: np.einsum("i,i", a, b), [_real(3), _real(3, seed=1)]),
    ("einsum-scalar", lambda a, b: np.einsum(",ij->ji", a, b), [_real(), _real(2, 3)]),
    ("einsum-self", lambda a: np.einsum("ij,ij->i", a, a), [_real(2, 3)]),
    (
        "einsum-ellipsis",
        lambda a, b: np.einsum("...ij,...jk->...ik", a, b),
        [_real(2, 2, 3), _real(3, 2, seed=1)],
    ),
    (
        "einsum-ellipsis-implicit",
        lambda a, b: np.einsum("i...,i...", a, b),
        [_real(2, 3), _real(2, 1, 3, seed=1)],
    ),
    ("einsum-broadcast-1", lambda a, b: np.einsum("ij,jk", a, b), [_real(2, 1), _real(3, 2)]),
    (
        "einsum-three",
        lambda a, b, c: np.einsum("ij,jk,kl->li", a, b, c),
        [_real(2, 3), _real(3, 2, seed=1), _real(2, 2, seed=2)],
    ),
    (
        "einsum-sublists",
        lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [2, 0]),
        [_real(2, 3), _real(3, 4, seed=1)],
    ),
    (
        "einsum-optimize",
        lambda a, b, c: np.einsum("ij,jk,kl", a, b, c, optimize=True),
        [_real(2, 3), _real(3, 2, seed=1), _real(2, 2, seed=2)],
    ),
    ("trace", lambda a: np.trace(a), [_real(3, 4)]),
    ("trace-offset", lambda a: np.trace(a, -1, 1, 2), [_real(2, 3, 3)]),
    ("trace-method", lambda a: a.trace(), [_real(3, 3)]),
    ("inv", lambda a: np.linalg.inv(a), [_wellcond(3, 3)]),
    ("inv-batch", lambda a: np.linalg.inv(a), [_wellcond(2, 2, 2)]),
    ("det", lambda a: np.linalg.det(a), [_wellcond(3, 3)]),
    ("det-batch", lambda a: np.linalg.det(a), [_wellcond(2, 3, 3)]),
    ("det-1x1", lambda a: np.linalg.det(a), [_wellcond(1, 1)]),
    ("logabsdet", lambda a: np.linalg.slogdet(a)[1], [_wellcond(3, 3) - 4 * np.eye(3)]),
    ("logabsdet-batch", lambda a: np.linalg.slogdet(a).logabsdet, [_wellcond(2, 2, 2)]),
    ("solve", lambda a, b: np.linalg.solve(a, b), [_wellcond(3, 3), _real(3, 2, seed=1)]),
    ("solve-vector", lambda a, b: np.linalg.solve(a, b), [_wellcond(3, 3), _real(3, seed=1)]),
    (
        "solve-batch-vector",
        lambda a, b: np.linalg.solve(a, b),
        [_wellcond(2, 3, 3), _real(3, seed=1)],
    ),
    (
        "solve-broadcast",
        lambda a, b: np.linalg.solve(a, b),
        [_wellcond(3, 3), _real(2, 3, 2, seed=1)],
    ),
    ("cholesky", lambda a: np.linalg.cholesky(a), [_spd(3, 3)]),
    ("cholesky-batch", lambda a: np.linalg.cholesky(a), [_spd(2, 2, 2)]),
    ("cholesky-upper", lambda a: np.linalg.cholesky(a, upper=True), [_spd(3, 3)]),
    ("cholesky-of-product", lambda b: np.linalg.cholesky(b @ b.T + np.eye(3)), [_real(3, 3)]),
]


@pytest.mark.parametrize(("fun", "inputs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_values_match_numpy(fun, inputs):
    out = fun(*[tg.tensor(a, requires_grad=True) for a in inputs])
    assert isinstance(out, tg.Tensor)
    np.testing.assert_allclose(out.data, fun(*inputs), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("fun", "inputs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_gradients_second_order(fun, inputs):
    check_grads(fun, *inputs, order=2)


@pytest.mark.parametrize(("fun", "inputs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_float32(fun, inputs):
    inputs = [a.astype(np.float32) for a in inputs]
    tensors = [tg.tensor(a, requires_grad=True) for a in inputs]
    out = fun(*tensors)
    assert out.dtype == np.result_type(fun(*inputs))  # float32 unless a float64 constant joins
    out.backward(np.ones(out.shape, dtype=out.dtype))
    for t in tensors:
        assert not isinstance(t.grad, tg.Tensor) and t.grad.dtype == np.float32
    check_grads(fun, *inputs, order=1)


def test_slogdet_sign_is_a_constant_and_logabsdet_a_tensor():
    a = _wellcond(3, 3) - 4 * np.eye(3)
    sign, logabsdet = np.linalg.slogdet(tg.tensor(a, requires_grad=True))
    expected = np.linalg.slogdet(a)
    assert not isinstance(sign, tg.Tensor) and sign == expected.sign
    assert isinstance(logabsdet, tg.Tensor)
    np.testing.assert_allclose(logabsdet.data, expected.logabsdet)
    logabsdet.backward()


def test_det_gradient_is_the_cofactor_matrix():
    a = np.array([[2.0, 1.0], [3.0, 4.0]])
    grad = tg.grad(np.linalg.det)(a)
    np.testing.assert_allclose(grad, [[4.0, -3.0], [-1.0, 2.0]])


def test_cholesky_gradient_goes_to_the_lower_triangle_numpy_reads():
    a = _spd(3, 3)
    grad = tg.grad(lambda t: np.sum(np.linalg.cholesky(t)))(a)
    np.testing.assert_array_equal(np.triu(grad, 1), np.zeros((3, 3)))


def test_linalg_namespace():
    a = _wellcond(3, 3)
    t = tg.tensor(a, requires_grad=True)
    for name in ("inv", "det", "cholesky"):
        arg = _spd(3, 3) if name == "cholesky" else a
        ours = getattr(tg.linalg, name)(tg.tensor(arg, requires_grad=True))
        np.testing.assert_allclose(ours.data, getattr(np.linalg, name)(arg))
    np.testing.assert_allclose(tg.linalg.solve(t, np.ones(3)).data, np.linalg.solve(a, np.ones(3)))
    assert tg.linalg.slogdet(t)[0] == np.linalg.slogdet(a)[0]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda t: np.einsum("ij,jk", t), ValueError),
        (lambda t: np.einsum("...ij->ij", np.ones((2, 2, 2)) * t), ValueError),
        (lambda t: np.einsum("i#", t), ValueError),
        (lambda t: np.einsum("ij", t, out=np.empty((2, 2))), TypeError),
        (lambda t: np.tensordot(t, t, axes=([0], [0, 1])), ValueError),
        (lambda t: np.linalg.inv(t - t), np.linalg.LinAlgError),
    ],
    ids=[
        "einsum-count",
        "einsum-ellipsis",
        "einsum-char",
        "out",
        "tensordot",
        "inv-singular",
    ],
)
def test_bad_arguments_raise(call, error):
    with pytest.raises(error):
        call(tg.tensor(np.eye(2), requires_grad=True))


EDGES = [
    ("det-0x0", lambda t: np.linalg.det(t), np.zeros((0, 0))),
    ("inv-batch-0x0", lambda t: np.linalg.inv(t), np.zeros((2, 0, 0))),
    ("trace-empty", lambda t: np.trace(t), np.zeros((0, 3))),
    ("einsum-empty", lambda t: np.einsum("ij->", t), np.zeros((0, 3))),
    ("tensordot-empty", lambda t: np.tensordot(t, np.ones((3, 2)), 1), np.zeros((0, 3))),
    ("dot-empty", lambda t: np.dot(t, np.ones((3, 2))), np.zeros((0, 3))),
]


@pytest.mark.parametrize(("fun", "x"), [c[1:] for c in EDGES], ids=[c[0] for c in EDGES])
def test_0d_and_size0_inputs(fun, x):
    check_edge(fun, x)


# -- regressions found by the op audit -------------------------------------------------------


def _det_by_differences(a, eps=1e-6):
    grad = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        step = np.zeros_like(a)
        step[i] = eps
        grad[i] = (np.sum(np.linalg.det(a + step)) - np.sum(np.linalg.det(a - step))) / (2 * eps)
    return grad


@pytest.mark.parametrize(
    "a",
    [
        np.array([[1.0, 2.0], [2.0, 4.0]]),
        np.zeros((3, 3)),
        np.diag([0.0, 2.0, 3.0]),
        np.array([[[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]], 2.0 * np.eye(3)]),
    ],
    ids=["rank-1", "zero", "diagonal-rank-2", "batch-with-one-singular"],
)
def test_det_of_a_singular_matrix_has_the_cofactor_gradient(a):
    # The gradient of det is the cofactor matrix, singular or not; it once
    # raised LinAlgError from inverting A in the rule.
    grad = tg.grad(lambda t: tg.sum(np.linalg.det(t)))(a)
    np.testing.assert_allclose(grad, _det_by_differences(a), atol=1e-8)


def test_det_of_a_rank_one_matrix_by_hand():
    grad = tg.grad(np.linalg.det)(np.array([[1.0, 2.0], [2.0, 4.0]]))
    np.testing.assert_allclose(grad, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)


def test_matmul_of_mismatched_shapes_names_both():
    a = tg.tensor(np.ones((2, 3)), requires_grad=True)
    for call in (tg.matmul, np.matmul, np.dot, lambda x, y: x @ y):
        with pytest.raises(ValueError, match=r"matmul of shapes \(2, 3\) and \(4, 5\)"):
            call(a, np.ones((4, 5)))


@pytest.mark.parametrize("label", [52, -1, 60])
def test_einsum_sublist_label_out_of_range_names_einsum_and_the_label(label):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(ValueError, match=f"einsum: sublist label {label}"):
        np.einsum(x, [label], [])


# -- kron and cross ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [((2, 3), (4,)), ((3,), (2, 2)), ((2, 1, 3), (2, 2)), ((), (3,))],
    ids=str,
)
def test_kron_equals_numpys_and_differentiates_both(shape_a, shape_b):
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    np.testing.assert_array_equal(np.kron(tg.tensor(a), tg.tensor(b)).data, np.kron(a, b))
    check_grads(np.kron, a, b, order=2)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # numpy 2 deprecates 2-vectors
@pytest.mark.parametrize(
    ("shape_a", "shape_b", "options"),
    [
        ((4, 3), (3,), {}),
        ((3, 5), (3, 5), {"axis": 0}),
        ((2,), (3,), {}),
        ((3,), (2,), {}),
        ((5, 2), (5, 2), {}),
        ((4, 3), (3, 4), {"axisb": 0, "axisc": 0}),
    ],
    ids=str,
)
def test_cross_equals_numpys_and_differentiates_both(shape_a, shape_b, options):
    rng = np.random.default_rng(10)
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    out, expected = np.cross(tg.tensor(a), tg.tensor(b), **options), np.cross(a, b, **options)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    check_grads(lambda a, b: np.cross(a, b, **options), a, b, order=2)
