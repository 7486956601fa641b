"""Linear algebra: products, einsum and numpy.linalg, against numpy and finite differences."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads


def _real(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _wellcond(*shape, seed=0):
    """Square matrices (..., n, n) with eigenvalues near n: far from singular."""
    n = shape[-1]
    return _real(*shape, seed=seed) * 0.5 + n * np.eye(n)


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

NORMS = [
    ("default", {}, (3,)),
    ("default-matrix", {}, (2, 3)),
    ("default-3d", {}, (2, 3, 2)),
    ("default-keepdims", {"keepdims": True}, (2, 3)),
    ("vector-1", {"ord": 1}, (4,)),
    ("vector-inf", {"ord": np.inf}, (4,)),
    ("vector--inf", {"ord": -np.inf}, (4,)),
    ("vector-3", {"ord": 3}, (4,)),
    ("vector-half", {"ord": 0.5}, (4,)),
    ("vector--1", {"ord": -1}, (4,)),
    ("vector-0", {"ord": 0}, (4,)),
    ("vector-axis", {"axis": 1}, (2, 3)),
    ("vector-axis-keepdims", {"ord": 1, "axis": -2, "keepdims": True}, (2, 3)),
    ("fro", {"ord": "fro"}, (2, 3)),
    ("matrix-1", {"ord": 1}, (3, 3)),
    ("matrix--1", {"ord": -1}, (3, 2)),
    ("matrix-inf", {"ord": np.inf}, (2, 3)),
    ("matrix--inf", {"ord": -np.inf}, (2, 3)),
    ("matrix-axes", {"ord": 1, "axis": (2, 0)}, (3, 2, 4)),
    ("matrix-fro-axes", {"ord": "fro", "axis": (0, 2), "keepdims": True}, (3, 2, 4)),
    ("matrix-2", {"ord": 2}, (3, 2)),
    ("matrix--2", {"ord": -2}, (2, 3)),
    ("nuc", {"ord": "nuc"}, (3, 3)),
]


def _norm_input(shape, seed=0):
    """Distinct magnitudes away from 0 and distinct row/column sums: no kinks, no ties."""
    r = np.random.default_rng(seed)
    size = int(np.prod(shape))
    magnitude = 0.5 + 0.37 * r.permutation(size) + 0.01 * r.random(size)
    return (np.where(r.random(size) < 0.5, -1.0, 1.0) * magnitude).reshape(shape)


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


@pytest.mark.parametrize(("kwargs", "shape"), [c[1:] for c in NORMS], ids=[c[0] for c in NORMS])
def test_norm(kwargs, shape):
    x = _norm_input(shape)
    out = np.linalg.norm(tg.tensor(x, requires_grad=True), **kwargs)
    expected = np.linalg.norm(x, **kwargs)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    singular = kwargs.get("ord") in (2, -2, "nuc") and len(shape) == 2
    check_grads(lambda t: np.linalg.norm(t, **kwargs), x, order=1 if singular else 2)


def test_norm_names_agree():
    x = _norm_input((2, 3))
    t = tg.tensor(x, requires_grad=True)
    np.testing.assert_allclose(tg.linalg.norm(t, 1).data, np.linalg.norm(x, 1))
    np.testing.assert_allclose(
        np.linalg.vector_norm(t, ord=3, axis=(0, 1)).data,
        np.linalg.vector_norm(x, ord=3, axis=(0, 1)),
    )
    np.testing.assert_allclose(
        np.linalg.matrix_norm(t, ord=np.inf).data, np.linalg.matrix_norm(x, ord=np.inf)
    )
    check_grads(lambda a: tg.linalg.vector_norm(a, axis=0), x, order=2)


@pytest.mark.parametrize("ord_", [None, 2, 1, np.inf, 3, 0.5])
def test_norm_gradient_at_the_zero_vector_is_zero(ord_):
    x = tg.tensor(np.zeros(3), requires_grad=True)
    np.linalg.norm(x, ord_).backward()
    np.testing.assert_array_equal(x.grad, np.zeros(3))


def test_norm_of_a_partly_zero_batch_is_nan_free():
    x = tg.tensor(np.array([[0.0, 0.0], [3.0, 4.0]]), requires_grad=True)
    np.sum(np.linalg.norm(x, axis=1)).backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.0], [0.6, 0.8]])


def test_inf_norm_ties_share_the_gradient():
    x = tg.tensor(np.array([-2.0, 1.0, 2.0]), requires_grad=True)
    np.linalg.norm(x, np.inf).backward()
    np.testing.assert_array_equal(x.grad, [-0.5, 0.0, 0.5])


@pytest.mark.parametrize("ord_", [2, -2, "nuc"])
def test_singular_value_norms_have_second_derivatives(ord_):
    # Once refused; the rule now runs on the differentiable svd.
    a = _with_singular_values((3, 2), [2.0, 0.7], seed=4)
    check_grads(lambda t: np.linalg.norm(t, ord_), a, order=2)


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
        (lambda t: np.linalg.norm(t, "fro", axis=0), ValueError),
        (lambda t: np.linalg.norm(t, 7), ValueError),
        (lambda t: np.linalg.inv(t - t), np.linalg.LinAlgError),
    ],
    ids=[
        "einsum-count",
        "einsum-ellipsis",
        "einsum-char",
        "out",
        "tensordot",
        "norm-str",
        "norm-ord",
        "inv-singular",
    ],
)
def test_bad_arguments_raise(call, error):
    with pytest.raises(error):
        call(tg.tensor(np.eye(2), requires_grad=True))


EDGES = [
    ("norm-0d", lambda t: np.linalg.norm(t), np.full((), -3.0)),
    ("norm-empty", lambda t: np.linalg.norm(t), np.zeros((0,))),
    ("norm-empty-rows", lambda t: np.linalg.norm(t, axis=1), np.zeros((2, 0))),
    ("det-0x0", lambda t: np.linalg.det(t), np.zeros((0, 0))),
    ("inv-batch-0x0", lambda t: np.linalg.inv(t), np.zeros((2, 0, 0))),
    ("trace-empty", lambda t: np.trace(t), np.zeros((0, 3))),
    ("einsum-empty", lambda t: np.einsum("ij->", t), np.zeros((0, 3))),
    ("tensordot-empty", lambda t: np.tensordot(t, np.ones((3, 2)), 1), np.zeros((0, 3))),
    ("dot-empty", lambda t: np.dot(t, np.ones((3, 2))), np.zeros((0, 3))),
]


@pytest.mark.parametrize(("fun", "x"), [c[1:] for c in EDGES], ids=[c[0] for c in EDGES])
def test_0d_and_size0_inputs(fun, x):
    out = fun(tg.tensor(x, requires_grad=True))
    expected = fun(x)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected)
    _, vjp_fn = tg.vjp(fun, x)
    (grad,) = vjp_fn(np.ones(out.shape))
    assert np.shape(grad) == x.shape and np.all(np.isfinite(grad))
    if x.size:
        check_grads(fun, x, order=2)


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


# -- spectral decompositions: eigh, eigvalsh, svd, svdvals, pinv ---------------------------


def _symmetric_with(values, seed=0):
    """Q diag(values) Q^T, Q random orthogonal: a spectrum chosen well separated."""
    n = len(values)
    q, _ = np.linalg.qr(_real(n, n, seed=seed))
    return (q * np.asarray(values)) @ q.T


def _with_singular_values(shape, values, seed=0):
    rows, cols = shape
    k = len(values)
    u, _ = np.linalg.qr(_real(rows, rows, seed=seed))
    v, _ = np.linalg.qr(_real(cols, cols, seed=seed + 1))
    return (u[:, :k] * np.asarray(values)) @ v[:, :k].T


def _projector_sum(vectors, weights):
    """sum_i weights[i] v_i v_i^T: invariant under each eigenvector's sign."""
    return np.matmul(vectors * weights, np.swapaxes(vectors, -1, -2))


WEIGHTS = np.array([0.3, -1.2, 2.0, 0.7])


def test_eigh_values_and_vectors_match_numpy():
    a = np.stack([_symmetric_with([-1.0, 0.5, 2.0, 3.5], seed=s) for s in range(2)])
    values, vectors = np.linalg.eigh(tg.tensor(a, requires_grad=True))
    expected = np.linalg.eigh(a)
    np.testing.assert_allclose(values.data, expected.eigenvalues, atol=1e-12)
    # Same vectors up to sign, and the sign convention: largest entry positive.
    np.testing.assert_allclose(np.abs(vectors.data), np.abs(expected.eigenvectors), atol=1e-12)
    rows = np.argmax(np.abs(vectors.data), axis=-2)
    assert np.all(np.take_along_axis(vectors.data, rows[..., None, :], axis=-2) > 0)
    assert tg.linalg.eigh(a).eigenvalues.shape == (2, 4)


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_gradients_to_second_order(uplo):
    a = _symmetric_with([-1.0, 0.5, 2.0, 3.5], seed=1)
    a = a + (np.triu(_real(4, 4, seed=2), 1) if uplo == "L" else np.tril(_real(4, 4, seed=2), -1))

    def both(t):
        values, vectors = np.linalg.eigh(t, UPLO=uplo)
        return values * WEIGHTS + _projector_sum(vectors, WEIGHTS**2)

    check_grads(both, a, order=2)


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_gradient_goes_to_the_triangle_numpy_reads(uplo):
    a = _symmetric_with([1.0, 2.0, 4.0], seed=3) + 5.0 * np.tril(np.ones((3, 3)), -1)
    a = a if uplo == "U" else a.T  # garbage in the triangle numpy ignores
    grad = tg.grad(lambda t: tg.sum(np.linalg.eigh(t, UPLO=uplo)[0] ** 2))(a)
    unread = np.triu(grad, 1) if uplo == "L" else np.tril(grad, -1)
    np.testing.assert_array_equal(unread, 0.0)
    # For a symmetric input the symmetric gradient 2 V diag(w) V^T = 2 S,
    # folded onto the read triangle.
    s = np.tril(a) + np.tril(a, -1).T if uplo == "L" else np.triu(a) + np.triu(a, 1).T
    expected = 2 * s * (2.0 - np.eye(3))
    expected = np.tril(expected) if uplo == "L" else np.triu(expected)
    np.testing.assert_allclose(grad, expected, atol=1e-10)


def test_eigvalsh_matches_eigh_and_differences():
    a = np.stack([_symmetric_with([-2.0, 0.1, 1.5], seed=s) for s in range(3)])
    t = tg.tensor(a, requires_grad=True)
    np.testing.assert_allclose(np.linalg.eigvalsh(t).data, np.linalg.eigvalsh(a), atol=1e-12)
    check_grads(lambda x: np.linalg.eigvalsh(x) * WEIGHTS[:3], a, order=2)
    by_eigh = tg.grad(lambda x: tg.sum(np.linalg.eigh(x)[0] * WEIGHTS[:3]))(a)
    by_eigvalsh = tg.grad(lambda x: tg.sum(np.linalg.eigvalsh(x) * WEIGHTS[:3]))(a)
    np.testing.assert_allclose(by_eigvalsh, by_eigh, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 2), (2, 4), (3, 3)], ids=["tall", "wide", "square"])
def test_svd_matches_numpy_and_differences(shape):
    k = min(shape)
    a = _with_singular_values(shape, [1.0, 2.5, 4.0][:k], seed=5)
    u, s, vh = tg.linalg.svd(tg.tensor(a, requires_grad=True), full_matrices=False)
    expected = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(s.data, expected.S, atol=1e-12)
    np.testing.assert_allclose((u.data * s.data) @ vh.data, a, atol=1e-12)
    np.testing.assert_allclose(np.abs(u.data), np.abs(expected.U), atol=1e-12)

    def sign_invariant(t):
        u, s, vh = tg.linalg.svd(t, full_matrices=False)
        # u_i v_i^T is invariant under the joint sign flip; u_i u_i^T too.
        return [
            np.sum(s * WEIGHTS[:k]),
            np.matmul(u * WEIGHTS[:k], vh),
            _projector_sum(u, WEIGHTS[:k] ** 2),
            _projector_sum(np.swapaxes(vh, -1, -2), WEIGHTS[:k]),
        ]

    for i in range(4):
        check_grads(lambda t, i=i: sign_invariant(t)[i], a, order=2)


def test_svd_batched_and_float32():
    a = np.stack([_with_singular_values((3, 2), [1.0, 3.0], seed=s) for s in range(2)])
    a32 = a.astype(np.float32)
    u, s, vh = tg.linalg.svd(tg.tensor(a32, requires_grad=True), full_matrices=False)
    assert (u.shape, s.shape, vh.shape) == ((2, 3, 2), (2, 2), (2, 2, 2))
    assert u.dtype == s.dtype == vh.dtype == np.float32
    np.testing.assert_allclose(s.data, np.linalg.svd(a, compute_uv=False), rtol=1e-5)
    grad = tg.grad(lambda t: tg.sum(tg.linalg.svd(t, full_matrices=False)[1]))(a32)
    assert grad.dtype == np.float32
    check_grads(lambda t: np.matmul(*tg.linalg.svd(t, full_matrices=False)[::2]), a32, order=2)


def test_svd_of_a_square_matrix_takes_numpys_defaults():
    a = _with_singular_values((3, 3), [1.0, 2.0, 3.5], seed=6)
    check_grads(lambda t: tg.linalg.svd(t)[1] * WEIGHTS[:3], a, order=2)


def test_svdvals_and_compute_uv_false():
    a = _with_singular_values((4, 3), [0.5, 1.5, 3.0], seed=7)
    t = tg.tensor(a, requires_grad=True)
    np.testing.assert_allclose(np.linalg.svdvals(t).data, np.linalg.svdvals(a), atol=1e-12)
    np.testing.assert_allclose(
        tg.linalg.svd(t, compute_uv=False).data, np.linalg.svdvals(a), atol=1e-12
    )
    check_grads(lambda x: np.linalg.svdvals(x) * WEIGHTS[:3], a, order=2)
    # sum of singular values = nuclear norm: a second route to the gradient
    nuc = tg.grad(lambda x: np.linalg.norm(x, "nuc"))(a)
    np.testing.assert_allclose(tg.grad(lambda x: tg.sum(tg.linalg.svdvals(x)))(a), nuc)


def test_full_matrices_svd_of_a_non_square_matrix():
    a = _real(3, 2)
    with pytest.raises(NotImplementedError, match=r"svd\(full_matrices=True\).*\(3, 2\)"):
        tg.linalg.svd(tg.tensor(a, requires_grad=True))
    u, s, vh = tg.linalg.svd(tg.tensor(a))  # no gradient needed: numpy's full U
    assert u.shape == (3, 3) and vh.shape == (2, 2)
    np.testing.assert_allclose(s.data, np.linalg.svd(a)[1])


def test_pinv_matches_numpy_and_differences():
    for shape in [(4, 2), (2, 3)]:
        a = _with_singular_values(shape, [0.8, 2.0], seed=8)
        t = tg.tensor(a, requires_grad=True)
        np.testing.assert_allclose(np.linalg.pinv(t).data, np.linalg.pinv(a), atol=1e-12)
        check_grads(np.linalg.pinv, a, order=2)


def test_pinv_of_a_square_matrix_is_the_inverse_with_its_gradient():
    a = _wellcond(3, 3)
    weights = _real(3, 3, seed=9)
    by_pinv = tg.grad(lambda t: tg.sum(np.linalg.pinv(t) * weights))(a)
    by_inv = tg.grad(lambda t: tg.sum(np.linalg.inv(t) * weights))(a)
    np.testing.assert_allclose(by_pinv, by_inv, atol=1e-10)


def test_repeated_eigenvalues_give_no_finite_wrong_gradient():
    # The eigenvectors of a repeated eigenvalue are not differentiable.
    a = np.diag([1.0, 1.0, 2.0])
    grad = tg.grad(lambda t: tg.sum(_projector_sum(np.linalg.eigh(t)[1], WEIGHTS[:3])))(a)
    assert not np.all(np.isfinite(grad))
