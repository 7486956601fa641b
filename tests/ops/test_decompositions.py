"""numpy.linalg's qr, eig, eigvals, lstsq and composites: numpy's values, gradients
to second order against finite differences, and errors where no gradient exists."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

RNG = np.random.default_rng(44)


def dominant(*shape):
    return RNG.standard_normal(shape) + 3.0 * np.eye(*shape[-2:])


def assert_numpys(out, expected):
    data = out.data if isinstance(out, tg.Tensor) else np.asarray(out)
    assert data.shape == np.shape(expected) and data.dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(data, expected)


# -- qr --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 3)], ids=str)
@pytest.mark.parametrize("mode", ["reduced", "r", "complete"])
def test_qr_equals_numpys_and_differentiates_both_factors(shape, mode):
    a = dominant(*shape)
    if mode == "complete" and shape[-2] > shape[-1]:
        with pytest.raises(NotImplementedError, match="mode='reduced'"):
            np.linalg.qr(tg.tensor(a, requires_grad=True), mode=mode)
        q, _ = np.linalg.qr(tg.tensor(a), mode=mode)  # no gradient needed: numpy's
        assert_numpys(q, np.linalg.qr(a, mode=mode).Q)
        return
    expected = np.linalg.qr(a, mode=mode)
    out = np.linalg.qr(tg.tensor(a), mode=mode)
    if mode == "r":
        assert_numpys(out, expected)
        check_grads(lambda a: np.linalg.qr(a, mode="r"), a, order=2)
        return
    assert_numpys(out.Q, expected.Q)
    assert_numpys(out.R, expected.R)
    check_grads(lambda a: np.linalg.qr(a, mode=mode).Q, a, order=2)
    check_grads(lambda a: tg.sum(np.linalg.qr(a, mode=mode).R ** 2), a, order=2)


# -- eig ---------------------------------------------------------------------------------


def real_spectrum(n, values):
    basis = np.eye(n) + 0.3 * RNG.standard_normal((n, n))
    return basis @ np.diag(values) @ np.linalg.inv(basis)


def test_eig_equals_numpys_and_differentiates_values_and_vectors():
    a = real_spectrum(3, [2.0, -1.0, 0.5])
    w, v = np.linalg.eig(tg.tensor(a))
    expected = np.linalg.eig(a)
    assert_numpys(w, expected.eigenvalues)
    assert_numpys(v, expected.eigenvectors)
    assert_numpys(tg.linalg.eigvals(tg.tensor(a)), expected.eigenvalues)
    check_grads(np.linalg.eigvals, a, order=2)
    check_grads(lambda a: np.linalg.eig(a).eigenvectors, a, order=2)


def test_eigvals_of_a_triangular_matrix_move_with_its_diagonal():
    t = tg.tensor(
        np.triu(RNG.standard_normal((3, 3))) + np.diag([1.0, 2.0, 3.0]), requires_grad=True
    )
    tg.sum(np.linalg.eigvals(t)).backward()  # the trace
    np.testing.assert_allclose(t.grad, np.eye(3), atol=1e-12)


def test_eig_of_a_complex_spectrum_is_complex_and_differentiable():
    # A rotation's eigenvalues are +-1j; the complex cases are in test_complex.py.
    rotation = tg.tensor([[0.0, 1.0], [-1.0, 0.0]], requires_grad=True)
    values = np.linalg.eigvals(rotation)
    np.testing.assert_array_equal(values.data, np.linalg.eigvals(rotation.data))
    # With a complex pair, sum(Im(w)^2) = 2 det(A) - tr(A)^2 / 2: its gradient is twice
    # the cofactor matrix minus tr(A) I.
    tg.sum(tg.imag(values) ** 2).backward()
    np.testing.assert_allclose(rotation.grad, [[0.0, 2.0], [-2.0, 0.0]], atol=1e-12)


# -- lstsq -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "b_shape"),
    [((5, 3), (5,)), ((5, 3), (5, 2)), ((3, 3), (3,)), ((2, 4), (2, 2))],
    ids=str,
)
def test_lstsq_equals_numpys_and_each_float_output_differentiates(shape, b_shape):
    a, b = RNG.standard_normal(shape), RNG.standard_normal(b_shape)
    expected = np.linalg.lstsq(a, b)
    out = np.linalg.lstsq(tg.tensor(a), tg.tensor(b))
    for o, e in zip(out, expected):
        assert_numpys(o, e)
    assert out.rank == expected[2]
    for field in ("x", "residuals", "s"):
        if np.size(getattr(out, field)):
            check_grads(lambda a, b, f=field: getattr(np.linalg.lstsq(a, b), f), a, b, order=2)


# -- composites ----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 7, -1, -3])
def test_matrix_power_is_numpys_binary_powering(n):
    a = dominant(2, 3, 3) / 3.0
    assert_numpys(np.linalg.matrix_power(tg.tensor(a), n), np.linalg.matrix_power(a, n))
    if n:
        check_grads(lambda a: np.linalg.matrix_power(a, n), a, order=2)


@pytest.mark.parametrize(
    "shapes",
    [
        [(2, 3), (3, 4)],
        [(3,), (3, 4), (4, 2)],
        [(2, 5), (5, 3), (3, 6), (6, 2)],
        [(4,), (4, 3), (3, 5), (5,)],
    ],
    ids=str,
)
def test_multi_dot_equals_numpys(shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    out = np.linalg.multi_dot([tg.tensor(a) for a in arrays])
    expected = np.linalg.multi_dot(arrays)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13)
    check_grads(lambda *xs: np.linalg.multi_dot(list(xs)), *arrays, order=2)


def test_tensorsolve_and_tensorinv_are_one_reshape_from_solve_and_inv():
    a = (3.0 * np.eye(6) + RNG.standard_normal((6, 6))).reshape(6, 2, 3)
    b = RNG.standard_normal(6)
    assert_numpys(np.linalg.tensorsolve(tg.tensor(a), tg.tensor(b)), np.linalg.tensorsolve(a, b))
    check_grads(np.linalg.tensorsolve, a, b, order=2)
    t = (3.0 * np.eye(6) + RNG.standard_normal((6, 6))).reshape(2, 3, 3, 2)
    assert_numpys(np.linalg.tensorinv(tg.tensor(t)), np.linalg.tensorinv(t))
    check_grads(np.linalg.tensorinv, t, order=2)


@pytest.mark.parametrize("p", [None, 2, -2, 1, -1, np.inf, -np.inf, "fro", "nuc"])
def test_cond_equals_numpys_in_float64_and_float32(p):
    a = dominant(2, 3, 3)
    for dtype in (np.float64, np.float32):
        x = a.astype(dtype)
        assert_numpys(np.linalg.cond(tg.tensor(x), p), np.linalg.cond(x, p))
    check_grads(lambda a: np.linalg.cond(a, p), a, order=2)


def test_tg_linalg_has_the_numpy_linalg_names():
    for name in ("qr", "eig", "eigvals", "lstsq", "matrix_power", "multi_dot", "tensorsolve",
                 "tensorinv", "cond"):  # fmt: skip
        assert callable(getattr(tg.linalg, name))
