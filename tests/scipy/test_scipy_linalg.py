"""tapegrad.scipy.linalg: scipy's values, gradients to second order, and the
triangles scipy reads."""

import numpy as np
import pytest
import scipy.linalg as sl

import tapegrad as tg
import tapegrad.scipy as tsp
from tapegrad.testing import check_grads, check_primitive

BOTH = ("rev", "fwd")  # VJPs and JVPs against finite differences
RNG = np.random.default_rng(52)
FACTOR = np.tril(RNG.standard_normal((3, 3))) + 3.0 * np.eye(3)
SPD = FACTOR @ FACTOR.T
B = RNG.standard_normal((3, 2))


def close(out, expected):
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-14)


PRIMITIVES = [
    tsp.linalg.solve_triangular,
    tsp.linalg.expm,
    tsp.linalg.lu_factor,
    tg.primitives()["lu_solve"],
    tsp.linalg.solve_sylvester,
    tsp.linalg.sqrtm,
    tsp.linalg.logm,
]


@pytest.mark.parametrize("primitive", PRIMITIVES, ids=str)
def test_the_primitives_pass_the_property_test(primitive):
    check_primitive(primitive, 25, seed=2)


@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("trans", [0, 1])
def test_solve_triangular_reads_one_triangle(lower, trans):
    a = RNG.standard_normal((3, 3)) + 3.0 * np.eye(3)
    close(tsp.linalg.solve_triangular(tg.tensor(a), tg.tensor(B), trans=trans, lower=lower),
          sl.solve_triangular(a, B, trans=trans, lower=lower))  # fmt: skip
    t = tg.tensor(a, requires_grad=True)
    tg.sum(tsp.linalg.solve_triangular(t, B, trans=trans, lower=lower)).backward()
    unread = np.triu(np.ones((3, 3)), 1) if lower else np.tril(np.ones((3, 3)), -1)
    assert np.all(t.grad[unread == 1] == 0)


@pytest.mark.parametrize("lower", [False, True])
def test_cholesky_cho_factor_cho_solve(lower):
    close(tsp.linalg.cholesky(tg.tensor(SPD), lower=lower), sl.cholesky(SPD, lower=lower))
    factor = tsp.linalg.cho_factor(tg.tensor(SPD), lower=lower)
    close(
        tsp.linalg.cho_solve(factor, tg.tensor(B)), sl.cho_solve(sl.cho_factor(SPD, lower=lower), B)
    )

    def f(m, b):
        return tsp.linalg.cho_solve(tsp.linalg.cho_factor(m @ m.T, lower=lower), b)

    check_grads(f, FACTOR, B, order=2)


def test_solve_and_expm_equal_scipys():
    close(
        tsp.linalg.solve(tg.tensor(SPD), tg.tensor(B), assume_a="pos"),
        sl.solve(SPD, B, assume_a="pos"),
    )
    a = 0.3 * RNG.standard_normal((3, 3))
    close(tsp.linalg.expm(tg.tensor(a)), sl.expm(a))
    check_grads(tsp.linalg.expm, a, order=2)


# -- LU --------------------------------------------------------------------------------

# Rows shuffled so that partial pivoting swaps rows (the pivots are not 0, 1, 2, 3).
GENERAL = np.array(
    [[0.5, 2.4, -0.3, 0.2], [2.6, 0.1, 0.4, -0.3], [0.2, -0.3, 0.1, 2.2], [-0.1, 0.3, 2.5, 0.4]]
)
RHS = RNG.standard_normal((4, 2))


def test_lu_factor_equals_scipys_and_its_pivots_are_a_constant():
    lu, piv = tsp.linalg.lu_factor(tg.tensor(GENERAL, requires_grad=True))
    expected_lu, expected_piv = sl.lu_factor(GENERAL)
    close(lu, expected_lu)
    np.testing.assert_array_equal(piv.data, expected_piv)
    assert lu.requires_grad and not piv.requires_grad
    assert list(expected_piv) != [0, 1, 2, 3]  # the test exercises the permutation


@pytest.mark.parametrize("trans", [0, 1, 2])
@pytest.mark.parametrize("vector", [False, True], ids=["matrix b", "vector b"])
def test_lu_solve_equals_scipys_and_differentiates_in_lu_and_b(trans, vector):
    b = RHS[:, 0] if vector else RHS
    factor = sl.lu_factor(GENERAL)
    close(tsp.linalg.lu_solve(factor, tg.tensor(b), trans=trans), sl.lu_solve(factor, b, trans))

    def f(lu, b):
        return tsp.linalg.lu_solve((lu, factor[1]), b, trans=trans)

    check_grads(f, factor[0], b, order=2, modes=BOTH)


@pytest.mark.parametrize("trans", [0, 1])
def test_lu_solve_of_lu_factor_has_the_gradient_of_solve(trans):
    # A second route: lu_factor then lu_solve is a solve with A (or A^T).
    def through_lu(a, b):
        return tsp.linalg.lu_solve(tsp.linalg.lu_factor(a), b, trans=trans)

    def direct(a, b):
        return np.linalg.solve(a.T if trans else a, b)

    weights = RNG.standard_normal(RHS.shape)
    for argnum in (0, 1):
        got = tg.grad(lambda a, b: tg.sum(through_lu(a, b) * weights), argnums=argnum)
        want = tg.grad(lambda a, b: tg.sum(direct(a, b) * weights), argnums=argnum)
        np.testing.assert_allclose(got(GENERAL, RHS), want(GENERAL, RHS), rtol=1e-11, atol=1e-13)
    check_grads(through_lu, GENERAL, RHS, order=2, modes=BOTH)


def test_lu_factor_gradient_against_finite_differences_to_second_order():
    check_grads(lambda a: tsp.linalg.lu_factor(a)[0], GENERAL, order=2, modes=BOTH)


def test_lu_factor_refuses_a_non_square_matrix_naming_the_shape():
    with pytest.raises(ValueError, match=r"lu_factor.*\(2, 3\)"):
        tsp.linalg.lu_factor(tg.tensor(np.ones((2, 3)), requires_grad=True))


# -- solve with assume_a -----------------------------------------------------------------

# No structure at all: each assume_a reads its own part of it, as scipy does.
UNSTRUCTURED = SPD + np.triu(RNG.uniform(0.1, 0.3, (3, 3)), 1)
READS = {
    None: np.ones((3, 3)),
    "gen": np.ones((3, 3)),
    "sym": np.triu(np.ones((3, 3))),
    "her": np.triu(np.ones((3, 3))),
    "pos": np.triu(np.ones((3, 3))),
    "diagonal": np.eye(3),
    "tridiagonal": np.tril(np.triu(np.ones((3, 3)), -1), 1),
    "upper triangular": np.triu(np.ones((3, 3))),
    "lower triangular": np.tril(np.ones((3, 3))),
}


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("assume_a", list(READS), ids=str)
def test_solve_reads_what_scipy_reads_for_every_assume_a(assume_a, lower, transposed):
    # posv needs the read triangle's mirror image to be positive definite.
    a = UNSTRUCTURED.T if lower and assume_a == "pos" else UNSTRUCTURED
    options = {"assume_a": assume_a, "lower": lower, "transposed": transposed}
    close(tsp.linalg.solve(tg.tensor(a), tg.tensor(B), **options), sl.solve(a, B, **options))
    t = tg.tensor(a, requires_grad=True)
    tg.sum(tsp.linalg.solve(t, B, **options)).backward()
    reads = READS[assume_a].T if lower and assume_a in ("sym", "her", "pos") else READS[assume_a]
    assert np.all(t.grad[reads == 0] == 0) and np.all(t.grad[reads == 1] != 0)
    check_grads(lambda a, b: tsp.linalg.solve(a, b, **options), a, B, order=2, modes=BOTH)


def test_solve_refuses_an_unknown_structure():
    with pytest.raises(ValueError, match="'skew' is not a recognized matrix structure"):
        tsp.linalg.solve(tg.tensor(SPD), B, assume_a="skew")


# -- Sylvester, square root, logarithm -------------------------------------------------

NEAR_I = 1.5 * np.eye(3) + 0.3 * RNG.standard_normal((3, 3))


def test_solve_sylvester_equals_scipys_and_differentiates_to_second_order():
    a, b, q = NEAR_I, np.eye(2) + 0.2 * RNG.standard_normal((2, 2)), RNG.standard_normal((3, 2))
    close(tsp.linalg.solve_sylvester(tg.tensor(a), tg.tensor(b), tg.tensor(q)),
          sl.solve_sylvester(a, b, q))  # fmt: skip
    check_grads(tsp.linalg.solve_sylvester, a, b, q, order=2, modes=BOTH)


def test_sqrtm_equals_scipys_and_has_the_closed_form_gradient_of_its_trace():
    close(tsp.linalg.sqrtm(tg.tensor(NEAR_I)), sl.sqrtm(NEAR_I))
    # d tr(A^(1/2)) = tr(A^(-1/2) dA) / 2, for any A with a principal root.
    got = tg.grad(lambda a: tg.trace(tsp.linalg.sqrtm(a)))(NEAR_I)
    np.testing.assert_allclose(got, 0.5 * np.linalg.inv(sl.sqrtm(NEAR_I)).T, rtol=1e-10)
    check_grads(tsp.linalg.sqrtm, NEAR_I, order=2, modes=BOTH)
    check_grads(tsp.linalg.sqrtm, SPD, order=2, modes=BOTH)


def test_logm_equals_scipys_and_has_the_closed_form_gradient_of_its_trace():
    close(tsp.linalg.logm(tg.tensor(NEAR_I)), sl.logm(NEAR_I))
    # d tr(log A) = tr(A^-1 dA).
    got = tg.grad(lambda a: tg.trace(tsp.linalg.logm(a)))(NEAR_I)
    np.testing.assert_allclose(got, np.linalg.inv(NEAR_I).T, rtol=1e-10)
    check_grads(tsp.linalg.logm, NEAR_I, order=2, modes=BOTH)
    check_grads(tsp.linalg.logm, SPD / 10.0, order=2, modes=BOTH)


def test_logm_is_the_inverse_of_expm_in_value_and_gradient():
    # A second route for the Frechet adjoint: logm(expm(A)) == A near 0, so its
    # Jacobian is the identity.
    a = 0.3 * RNG.standard_normal((3, 3))
    weights = RNG.standard_normal((3, 3))
    got = tg.grad(lambda a: tg.sum(tsp.linalg.logm(tsp.linalg.expm(a)) * weights))(a)
    np.testing.assert_allclose(got, weights, rtol=1e-9, atol=1e-11)


# A real matrix with a negative eigenvalue: its principal logarithm and root are
# complex (scipy's), and a complex matrix.
NEGATIVE = np.array([[-1.0, 0.4], [0.3, 2.0]])
COMPLEX = NEAR_I[:2, :2] + 0.3j * np.array([[1.0, 0.5], [-0.2, 1.0]])


@pytest.mark.parametrize("name", ["expm", "sqrtm", "logm"])
@pytest.mark.parametrize("a", [NEGATIVE, COMPLEX], ids=["real, negative eigenvalue", "complex"])
def test_matrix_functions_with_complex_values(name, a):
    function = getattr(tsp.linalg, name)
    expected = getattr(sl, name)(a)
    assert np.iscomplexobj(expected) or name == "expm"  # expm of a real matrix is real
    close(function(tg.tensor(a)), expected)
    # Finite differences along the real (and for a complex a the imaginary)
    # directions, of the real and imaginary parts.
    on_the_cut = name == "logm" and a is NEGATIVE
    check_grads(function, a, order=1 if on_the_cut else 2, modes=BOTH)
    # A real cotangent on a complex matrix's function (a loss of the real part).
    check_grads(lambda z: np.real(function(z)), a, order=1)


def test_logm_on_the_branch_cut_refuses_a_second_derivative():
    def gradient(a):
        return tg.grad(lambda a: tg.sum(np.real(tsp.linalg.logm(a))))(a)

    with pytest.raises(NotImplementedError, match="logm: no second derivative"):
        tg.grad(lambda a: tg.sum(gradient(a)))(NEGATIVE)
