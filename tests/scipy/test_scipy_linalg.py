"""tapegrad.scipy.linalg: scipy's values, gradients to second order, and the
triangles scipy reads."""

import numpy as np
import pytest
import scipy.linalg as sl

import tapegrad as tg
import tapegrad.scipy as tsp
from tapegrad.testing import check_grads, check_primitive

RNG = np.random.default_rng(52)
FACTOR = np.tril(RNG.standard_normal((3, 3))) + 3.0 * np.eye(3)
SPD = FACTOR @ FACTOR.T
B = RNG.standard_normal((3, 2))


def close(out, expected):
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("primitive", [tsp.linalg.solve_triangular, tsp.linalg.expm], ids=str)
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
