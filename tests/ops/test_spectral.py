"""Spectral decompositions and norms (tapegrad/ops/spectral.py): eigh, eigvalsh,
svd, svdvals, pinv, and the vector and matrix norms, against numpy and finite
differences."""

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


# -- norms ---------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda t: np.linalg.norm(t, "fro", axis=0), ValueError),
        (lambda t: np.linalg.norm(t, 7), ValueError),
    ],
    ids=[
        "norm-str",
        "norm-ord",
    ],
)
def test_bad_arguments_raise(call, error):
    with pytest.raises(error):
        call(tg.tensor(np.eye(2), requires_grad=True))


EDGES = [
    ("norm-0d", lambda t: np.linalg.norm(t), np.full((), -3.0)),
    ("norm-empty", lambda t: np.linalg.norm(t), np.zeros((0,))),
    ("norm-empty-rows", lambda t: np.linalg.norm(t, axis=1), np.zeros((2, 0))),
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
