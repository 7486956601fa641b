"""tapegrad.scipy.stats: scipy's values (to rounding) and second derivatives in the
data and every parameter; a fit with scipy.optimize.minimize(jac=True)."""

import numpy as np
import pytest
import scipy.optimize
import scipy.stats as st

import tapegrad as tg
import tapegrad.scipy as tsp
from tapegrad.testing import check_grads

RNG = np.random.default_rng(51)
X = RNG.standard_normal(6)
POSITIVE = RNG.uniform(0.1, 3.0, 6)
UNIT = RNG.uniform(0.05, 0.95, 6)
LOC, SCALE = np.array(0.3), np.array(1.7)


def close(out, expected):
    data = out.data if isinstance(out, tg.Tensor) else np.asarray(out)
    assert data.shape == np.shape(expected)
    np.testing.assert_allclose(data, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"])
def test_norm(method):
    ours, theirs = getattr(tsp.stats.norm, method), getattr(st.norm, method)
    close(ours(tg.tensor(X), tg.tensor(LOC), tg.tensor(SCALE)), theirs(X, LOC, SCALE))
    check_grads(ours, X, LOC, SCALE, order=2)


def test_norm_ppf():
    close(tsp.stats.norm.ppf(tg.tensor(UNIT), LOC, SCALE), st.norm.ppf(UNIT, LOC, SCALE))
    check_grads(tsp.stats.norm.ppf, UNIT, LOC, SCALE, order=2)


# name, our call, scipy's call, arguments (each differentiated)
DENSITIES = [
    ("t", tsp.stats.t.logpdf, st.t.logpdf, (X, np.array(3.5), LOC, SCALE)),
    (
        "gamma",
        tsp.stats.gamma.logpdf,
        st.gamma.logpdf,
        (POSITIVE, np.array(2.3), np.array(0.0), SCALE),
    ),
    ("beta", tsp.stats.beta.logpdf, st.beta.logpdf, (UNIT, np.array(2.3), np.array(1.4))),
    ("chi2", tsp.stats.chi2.logpdf, st.chi2.logpdf, (POSITIVE, np.array(3.5))),
    ("expon", tsp.stats.expon.logpdf, st.expon.logpdf, (POSITIVE, np.array(0.05), SCALE)),
    ("laplace", tsp.stats.laplace.logpdf, st.laplace.logpdf, (X + 0.05, LOC, SCALE)),
    ("cauchy", tsp.stats.cauchy.logpdf, st.cauchy.logpdf, (X, LOC, SCALE)),
    ("logistic", tsp.stats.logistic.logpdf, st.logistic.logpdf, (X, LOC, SCALE)),
    ("logistic.cdf", tsp.stats.logistic.cdf, st.logistic.cdf, (X, LOC, SCALE)),
    ("cauchy.cdf", tsp.stats.cauchy.cdf, st.cauchy.cdf, (X, LOC, SCALE)),
    ("expon.cdf", tsp.stats.expon.cdf, st.expon.cdf, (POSITIVE, np.array(0.05), SCALE)),
    ("t.pdf", tsp.stats.t.pdf, st.t.pdf, (X, np.array(3.5), LOC, SCALE)),
]


@pytest.mark.parametrize(
    ("name", "ours", "theirs", "args"), DENSITIES, ids=[d[0] for d in DENSITIES]
)
def test_densities_equal_scipys_and_differentiate_in_every_argument(name, ours, theirs, args):
    close(ours(*map(tg.tensor, args)), theirs(*args))
    check_grads(ours, *args, order=2)


def test_log_densities_are_minus_inf_outside_the_support():
    close(tsp.stats.gamma.logpdf(tg.tensor(X), 2.3), st.gamma.logpdf(X, 2.3))
    close(tsp.stats.expon.logpdf(tg.tensor(X)), st.expon.logpdf(X))
    close(tsp.stats.beta.logpdf(tg.tensor(X), 2.0, 3.0), st.beta.logpdf(X, 2.0, 3.0))


def test_discrete_distributions_in_their_parameter():
    k = np.array([0, 1, 3, 7, 2.5, -1])
    close(tsp.stats.poisson.logpmf(k, tg.tensor(2.2)), st.poisson.logpmf(k, 2.2))
    close(tsp.stats.binom.logpmf(k, 8, tg.tensor(0.3)), st.binom.logpmf(k, 8, 0.3))
    check_grads(lambda mu: tsp.stats.poisson.logpmf(k[:4], mu), np.array(2.2), order=2)
    check_grads(lambda p: tsp.stats.binom.pmf(k[:4], 8, p), np.array(0.3), order=2)


def test_dirichlet_with_components_first_and_the_last_one_left_out():
    alpha = np.array([1.5, 2.0, 0.8])
    x = RNG.dirichlet([1.0, 1.0, 1.0], size=4).T
    close(tsp.stats.dirichlet.logpdf(tg.tensor(x), tg.tensor(alpha)), st.dirichlet.logpdf(x, alpha))
    close(tsp.stats.dirichlet.logpdf(x[:, 0], alpha), st.dirichlet.logpdf(x[:, 0], alpha))
    close(tsp.stats.dirichlet.logpdf(x[:2], alpha), st.dirichlet.logpdf(x[:2], alpha))
    check_grads(tsp.stats.dirichlet.logpdf, x[:2], alpha, order=2)


def test_multivariate_normal_in_x_mean_and_cov():
    d = 3
    mean = RNG.standard_normal(d)
    factor = RNG.standard_normal((d, d)) + d * np.eye(d)
    cov = factor @ factor.T
    points = RNG.standard_normal((5, d))
    for x in (points, points[0]):
        close(tsp.stats.multivariate_normal.logpdf(tg.tensor(x), mean, tg.tensor(cov)),
              st.multivariate_normal.logpdf(x, mean, cov))  # fmt: skip
    close(tsp.stats.multivariate_normal.logpdf(points, mean, 2.0),
          st.multivariate_normal.logpdf(points, mean, 2.0))  # fmt: skip
    variances = np.array([1.0, 2.0, 3.0])
    close(tsp.stats.multivariate_normal.pdf(points, mean, variances),
          st.multivariate_normal.pdf(points, mean, variances))  # fmt: skip
    close(
        tsp.stats.multivariate_normal.logpdf(X, 0.5, 2.0),
        st.multivariate_normal.logpdf(X, 0.5, 2.0),
    )
    check_grads(
        lambda x, m, f: tsp.stats.multivariate_normal.logpdf(x, m, f @ f.T),
        points,
        mean,
        factor,
        order=2,
    )


def test_scipys_own_functions_refuse_a_tensor_that_requires_grad():
    with pytest.raises(TypeError, match="gradient"):
        st.norm.logpdf(tg.tensor(X, requires_grad=True))


def test_a_normal_fit_with_scipy_optimize_minimize_jac_true():
    data = RNG.normal(1.5, 0.7, 400)

    def loss(params):
        loc, log_scale = params[0], params[1]
        return -tg.mean(tsp.stats.norm.logpdf(data, loc, np.exp(log_scale)))

    fit = scipy.optimize.minimize(tg.value_and_grad(loss), np.zeros(2), jac=True)
    assert fit.success
    np.testing.assert_allclose(fit.x[0], data.mean(), atol=1e-5)
    np.testing.assert_allclose(np.exp(fit.x[1]), data.std(), atol=1e-5)
