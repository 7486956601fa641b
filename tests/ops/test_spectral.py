"""Spectral decompositions and norms (tapegrad/ops/spectral.py): eigh, eigvalsh,
svd, svdvals, pinv, and the vector and matrix norms, against numpy and finite
differences."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

from .linalg_inputs import check_edge, real, wellcond

_real, _wellcond = real, wellcond


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


# Every order numpy's norm takes, on every kind of axis argument it takes.
VECTOR_ORDS = [None, 0, 1, -1, 2, -2, np.inf, -np.inf, 0.5, -0.5, 1.5, 3]
MATRIX_ORDS = [None, "fro", "f", "nuc", 1, -1, 2, -2, np.inf, -np.inf]
AXES = {
    (): [None],
    (5,): [None, 0, -1, (0,), (-1,)],
    (3, 4): [None, 0, -1, (1,), (0, 1), (1, 0), (-1, -2), (0, -2)],
    (2, 3, 4): [None, 1, -3, (2,), (0, 2), (2, 0), (-1, 1), (1, -3), (-2, 1)],
}
ALL_NORMS = [
    (shape, ord_, axis, keepdims)
    for shape, axes in AXES.items()
    for axis in axes
    for ord_ in dict.fromkeys([*VECTOR_ORDS, *MATRIX_ORDS])
    for keepdims in (False, True)
]


@pytest.mark.parametrize(("shape", "ord_", "axis", "keepdims"), ALL_NORMS, ids=str)
def test_norm_takes_every_order_and_axis_numpy_takes(shape, ord_, axis, keepdims):
    # numpy's values to the last bit, numpy's dtype and shape, numpy's refusals;
    # derivatives to second order (the inputs keep away from kinks and ties).
    x = _norm_input(shape, seed=len(shape))

    def fun(t):
        return np.linalg.norm(t, ord_, axis, keepdims)

    try:
        expected = fun(x)
    except Exception as error:
        with pytest.raises(type(error)):
            fun(tg.tensor(x, requires_grad=True))
        return
    out = fun(tg.tensor(x, requires_grad=True))
    assert out.shape == np.shape(expected) and out.dtype == expected.dtype
    np.testing.assert_array_equal(out.data, expected)
    out32 = fun(tg.tensor(x.astype(np.float32)))
    np.testing.assert_array_equal(out32.data, fun(x.astype(np.float32)))
    assert out32.dtype == np.float32
    check_grads(fun, x, order=2)


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
    check_edge(fun, x)


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


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_values_and_vectors_are_numpys(uplo, dtype):
    # numpy's eigenvectors, signs included (they were once re-signed).
    a = np.stack([_symmetric_with([-1.0, 0.5, 2.0, 3.5], seed=s) for s in range(2)])
    a = (a + np.tril(_real(2, 4, 4, seed=3), -1)).astype(dtype)  # not symmetric
    values, vectors = np.linalg.eigh(tg.tensor(a, requires_grad=True), UPLO=uplo)
    expected = np.linalg.eigh(a, UPLO=uplo)
    np.testing.assert_array_equal(values.data, expected.eigenvalues)
    np.testing.assert_array_equal(vectors.data, expected.eigenvectors)
    assert values.dtype == vectors.dtype == dtype
    assert tg.linalg.eigh(a).eigenvalues.shape == (2, 4)


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_gradients_are_those_of_numpys_function(uplo):
    # The plain eigenvectors, not a sign-invariant function of them: LAPACK's
    # signs are locally constant here, so finite differences of numpy agree.
    a = _symmetric_with([-1.0, 0.5, 2.0, 3.5], seed=1) + np.triu(_real(4, 4, seed=2), 1)
    if uplo == "U":
        a = a.T
    check_grads(lambda t: np.linalg.eigh(t, UPLO=uplo).eigenvectors, a, order=2)
    check_grads(lambda t: np.linalg.eigh(t, UPLO=uplo).eigenvectors[..., 1:3], a, order=2)


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
    # numpy's U and Vh, signs included (they were once re-signed).
    for ours, theirs in zip((u, s, vh), expected):
        np.testing.assert_array_equal(ours.data, theirs)
    np.testing.assert_allclose((u.data * s.data) @ vh.data, a, atol=1e-12)
    check_grads(lambda t: tg.linalg.svd(t, full_matrices=False).U, a, order=2)
    check_grads(lambda t: tg.linalg.svd(t, full_matrices=False).Vh, a, order=2)

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


# -- ties: a finite gradient wherever one exists ---------------------------------------------
#
# Exact ties (diagonal matrices, exact zero singular values) put 1/0 into the
# eigenvector terms. Only pairs inside a tied block have it, and their
# coefficients are exactly zero when the loss uses no vector of that block.

TIED = np.diag([1.0, 1.0, 2.0])  # eigenvalue 2 simple, eigenvalue 1 tied


def test_a_simple_eigenvalue_beside_tied_ones_has_its_gradient():
    # d w_3 = v_3^T dS v_3 = dS[2, 2], to first and second order.
    for values in (
        lambda t: np.linalg.eigh(t).eigenvalues[2],
        lambda t: np.linalg.eigvalsh(t)[2],
    ):
        np.testing.assert_array_equal(tg.grad(values)(TIED), np.diag([0.0, 0.0, 1.0]))
        check_grads(values, TIED, order=2)


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_an_eigenvector_of_a_simple_eigenvalue_beside_tied_ones_has_its_gradient(uplo):
    # d v_3 = sum_j v_j (v_j^T dS v_3) / (w_3 - w_j) over j = 1, 2 (gaps of 1).
    # With v_j = sign_j e_j: the gradient of c . v_3 is c_j sign_3 at (2, j),
    # folded onto the triangle numpy reads.
    c = np.array([0.5, -2.0, 3.0])

    def loss(t):
        return tg.sum(np.linalg.eigh(t, UPLO=uplo).eigenvectors[:, 2] * c)

    sign = np.linalg.eigh(TIED).eigenvectors[2, 2]
    expected = np.zeros((3, 3))
    expected[2, :2] = c[:2] * sign
    grad = tg.grad(loss)(TIED)
    np.testing.assert_array_equal(grad, expected if uplo == "L" else expected.T)
    check_grads(loss, TIED)


def test_eigenvectors_of_the_tied_block_still_have_no_finite_gradient():
    grad = tg.grad(lambda t: tg.sum(np.linalg.eigh(t).eigenvectors[:, 0] * [1.0, 2.0, 3.0]))(TIED)
    assert not np.all(np.isfinite(grad))


RANK_DEFICIENT = [
    ("square", np.diag([3.0, 0.0, 0.0])),
    ("tall", np.array([[3.0, 0.0], [0.0, 0.0], [0.0, 0.0]])),
    ("wide", np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]])),
    ("rank-1", np.outer([1.0, 2.0, -1.0], [0.5, -1.0, 2.0, 1.0])),
]


def _best_rank_one(t):
    """s_1 u_1 v_1^T, weighted: smooth where s_1 is simple. (Exactly at a diagonal
    matrix LAPACK's sign of u_1 differs from its sign at every nearby matrix, so
    u_1 alone has no finite difference there.)"""
    u, s, vh = tg.linalg.svd(t, full_matrices=False)
    return tg.sum(np.matmul(u[:, :1] * s[:1], vh[:1]) * np.arange(t.size).reshape(t.shape))


# (name, function, closed-form gradient given U and Vh or None, order checked).
# The best rank-1 approximation is checked to first order only: its rule uses
# every singular vector, and the second derivative would differentiate those
# of the tied zero singular values (non-finite, never finite and wrong).
TOP_SINGULAR_VALUE = [
    ("svdvals", lambda t: np.linalg.svdvals(t)[0], 2),
    ("svd", lambda t: tg.linalg.svd(t, full_matrices=False).S[0], 2),
    ("norm-2", lambda t: np.linalg.norm(t, 2), 2),
    ("best-rank-1", _best_rank_one, 1),
]


@pytest.mark.parametrize("a", [c[1] for c in RANK_DEFICIENT], ids=[c[0] for c in RANK_DEFICIENT])
@pytest.mark.parametrize(
    ("fun", "order"), [c[1:] for c in TOP_SINGULAR_VALUE], ids=[c[0] for c in TOP_SINGULAR_VALUE]
)
def test_the_top_singular_value_of_a_rank_deficient_matrix_has_its_gradient(fun, order, a):
    # The zero singular values are tied (or nearly so), the top one is simple:
    # d s_1 = u_1^T dA v_1, and everything built from u_1, s_1, v_1 is smooth.
    grad = tg.grad(fun)(a)
    assert np.all(np.isfinite(grad))
    if order == 2:
        u, _, vh = np.linalg.svd(a)
        np.testing.assert_allclose(grad, np.outer(u[:, 0], vh[0]), atol=1e-12)
    check_grads(fun, a, order=order)


def test_singular_vectors_of_a_zero_singular_value_still_have_no_finite_gradient():
    # In a tall matrix, u_2 of s_2 = 0 is any unit vector orthogonal to u_1.
    a = RANK_DEFICIENT[1][1]
    grad = tg.grad(lambda t: tg.sum(tg.linalg.svd(t, full_matrices=False).U[:, 1] * 2.0))(a)
    assert not np.all(np.isfinite(grad))
