"""scipy.stats densities on Tensors, differentiable in the data and every parameter.

``tsp.stats.norm.logpdf(x, loc, scale)`` reads as scipy's call; each method
is a composite of tapegrad ops and of the ``tapegrad.scipy.special`` rules,
written with scipy's own formulas, so values equal scipy's to rounding.
(scipy's own functions convert their arguments to arrays: on a Tensor that
requires grad they raise rather than drop the gradient.)

Outside a distribution's support the log density is ``-inf`` (a constant),
as scipy's. Parameters are not validated beyond what the formulas need;
invalid ones (a negative scale) give NaN, as in scipy.
"""

import math

import numpy as np

from ..core.tensor import Tensor
from ..ops._common import unwrap
from ..ops.linalg import _mT
from . import special

_LOG_SQRT_2PI = math.log(math.sqrt(2.0 * math.pi))
_LOG_PI = math.log(math.pi)
_LOG_2 = math.log(2.0)


def _operand(value):
    return (
        value if isinstance(value, Tensor) else np.asarray(value, dtype=np.result_type(value, 1.0))
    )


def _standardize(x, loc, scale):
    return (_operand(x) - loc) / scale


def _outside(value, mask):
    """``value`` with -inf where ``mask`` (outside the support) holds."""
    mask = np.asarray(unwrap(mask))
    if not mask.any():
        return value
    return np.where(mask, np.array(-np.inf, dtype=np.result_type(value)), value)


class _Continuous:
    """``pdf`` from ``logpdf``; subclasses give ``logpdf`` (and maybe cdf, ...)."""

    def pdf(self, x, *args, **kwargs):
        return np.exp(self.logpdf(x, *args, **kwargs))


class _Discrete:
    def pmf(self, k, *args, **kwargs):
        return np.exp(self.logpmf(k, *args, **kwargs))


class _Norm(_Continuous):
    """``scipy.stats.norm``: logpdf, pdf, cdf, logcdf, sf, logsf, ppf."""

    def logpdf(self, x, loc=0.0, scale=1.0):
        z = _standardize(x, loc, scale)
        return -z * z / 2.0 - _LOG_SQRT_2PI - np.log(scale)

    def cdf(self, x, loc=0.0, scale=1.0):
        return special.ndtr(_standardize(x, loc, scale))

    def logcdf(self, x, loc=0.0, scale=1.0):
        return special.log_ndtr(_standardize(x, loc, scale))

    def sf(self, x, loc=0.0, scale=1.0):
        return special.ndtr(-_standardize(x, loc, scale))

    def logsf(self, x, loc=0.0, scale=1.0):
        return special.log_ndtr(-_standardize(x, loc, scale))

    def ppf(self, q, loc=0.0, scale=1.0):
        return special.ndtri(_operand(q)) * scale + loc


class _T(_Continuous):
    """``scipy.stats.t``: logpdf, pdf (differentiable in ``df`` too)."""

    def logpdf(self, x, df, loc=0.0, scale=1.0):
        z = _standardize(x, loc, scale)
        df = _operand(df)
        log_ratio = special.gammaln((df + 1.0) / 2.0) - special.gammaln(df / 2.0)
        log_kernel = (df + 1.0) / 2.0 * np.log1p(z * z / df)
        return log_ratio - 0.5 * (np.log(df) + _LOG_PI) - log_kernel - np.log(scale)


class _Gamma(_Continuous):
    """``scipy.stats.gamma``: logpdf, pdf in the shape ``a``, ``loc`` and ``scale``."""

    def logpdf(self, x, a, loc=0.0, scale=1.0):
        y = _standardize(x, loc, scale)
        value = special.xlogy(a - 1.0, y) - y - special.gammaln(a) - np.log(scale)
        return _outside(value, unwrap(y) < 0)


class _Beta(_Continuous):
    """``scipy.stats.beta``: logpdf, pdf in ``a``, ``b``, ``loc`` and ``scale``."""

    def logpdf(self, x, a, b, loc=0.0, scale=1.0):
        y = _standardize(x, loc, scale)
        value = special.xlog1py(b - 1.0, -y) + special.xlogy(a - 1.0, y) - special.betaln(a, b)
        data = unwrap(y)
        return _outside(value - np.log(scale), (data < 0) | (data > 1))


class _Expon(_Continuous):
    """``scipy.stats.expon``: logpdf, pdf, cdf."""

    def logpdf(self, x, loc=0.0, scale=1.0):
        y = _standardize(x, loc, scale)
        return _outside(-y - np.log(scale), unwrap(y) < 0)

    def cdf(self, x, loc=0.0, scale=1.0):
        y = _standardize(x, loc, scale)
        return np.where(unwrap(y) < 0, 0.0, -np.expm1(-y))


class _Laplace(_Continuous):
    """``scipy.stats.laplace``: logpdf, pdf (the kink at ``loc`` has gradient 0 there)."""

    def logpdf(self, x, loc=0.0, scale=1.0):
        y = _standardize(x, loc, scale)
        return -np.abs(y) - _LOG_2 - np.log(scale)


class _Cauchy(_Continuous):
    """``scipy.stats.cauchy``: logpdf, pdf, cdf."""

    def logpdf(self, x, loc=0.0, scale=1.0):
        y = _standardize(x, loc, scale)
        return -_LOG_PI - np.log1p(y * y) - np.log(scale)

    def cdf(self, x, loc=0.0, scale=1.0):
        return 0.5 + np.arctan(_standardize(x, loc, scale)) / math.pi


class _Logistic(_Continuous):
    """``scipy.stats.logistic``: logpdf, pdf, cdf."""

    def logpdf(self, x, loc=0.0, scale=1.0):
        y = -np.abs(_standardize(x, loc, scale))
        return y - 2.0 * np.log1p(np.exp(y)) - np.log(scale)

    def cdf(self, x, loc=0.0, scale=1.0):
        return special.expit(_standardize(x, loc, scale))


class _Chi2(_Continuous):
    """``scipy.stats.chi2``: logpdf, pdf in ``df``, ``loc`` and ``scale``."""

    def logpdf(self, x, df, loc=0.0, scale=1.0):
        y = _standardize(x, loc, scale)
        half = _operand(df) / 2.0
        value = special.xlogy(half - 1.0, y) - y / 2.0 - special.gammaln(half) - _LOG_2 * half
        return _outside(value - np.log(scale), unwrap(y) < 0)


class _Poisson(_Discrete):
    """``scipy.stats.poisson``: logpmf, pmf, differentiable in ``mu``."""

    def logpmf(self, k, mu, loc=0):
        k = np.asarray(unwrap(k)) - loc
        value = special.xlogy(k, mu) - special.gammaln(k + 1.0) - mu
        return _outside(value, (k < 0) | (k != np.floor(k)))


class _Binom(_Discrete):
    """``scipy.stats.binom``: logpmf, pmf, differentiable in ``p``."""

    def logpmf(self, k, n, p, loc=0):
        k = np.asarray(unwrap(k)) - loc
        n = np.asarray(unwrap(n))
        combinations = special.gammaln(n + 1.0) - (
            special.gammaln(k + 1.0) + special.gammaln(n - k + 1.0)
        )
        value = combinations + special.xlogy(k, p) + special.xlog1py(n - k, -_operand(p))
        return _outside(value, (k < 0) | (k > n) | (k != np.floor(k)))


class _Dirichlet(_Continuous):
    """``scipy.stats.dirichlet``: logpdf, pdf; ``x`` has the components first, as scipy's
    (``(K,)`` or ``(K, N)``), and may leave out the last one."""

    def logpdf(self, x, alpha):
        alpha = _operand(alpha)
        x = _operand(x)
        k = np.shape(alpha)[0]
        if np.shape(x)[0] == k - 1:  # the last component completes the simplex
            last = 1.0 - np.sum(x, axis=0, keepdims=True)
            x = np.concatenate([x, last], axis=0)
        elif np.shape(x)[0] != k:
            raise ValueError(
                "Vector 'x' must have either the same number of entries as, or one entry "
                f"fewer than, parameter vector 'a', but alpha.shape = {np.shape(alpha)} and "
                f"x.shape = {np.shape(x)}."
            )
        shape = (k,) + (1,) * (np.ndim(x) - 1)
        alpha_column = np.reshape(alpha, shape)
        log_beta = np.sum(special.gammaln(alpha)) - special.gammaln(np.sum(alpha))
        return np.sum(special.xlogy(alpha_column - 1.0, x), axis=0) - log_beta


class _MultivariateNormal(_Continuous):
    """``scipy.stats.multivariate_normal``: logpdf, pdf in ``x``, ``mean`` and ``cov``
    (a matrix, a vector of variances, or a scalar), through a Cholesky factor."""

    def logpdf(self, x, mean=None, cov=1, allow_singular=False):
        if allow_singular:
            raise NotImplementedError(
                "multivariate_normal.logpdf(allow_singular=True) on Tensors is not supported"
            )
        x = _operand(x)
        cov = _operand(cov)
        dim = _dimension(mean, cov, x)
        if np.ndim(cov) == 0:
            cov = cov * np.eye(dim)
        elif np.ndim(cov) == 1:
            cov = cov * np.eye(dim)  # variances on the diagonal
        if mean is None:
            mean = np.zeros(dim)
        # scipy's reading of x: a 1-D x is one point, or points when dim == 1.
        if np.ndim(x) == 0:
            x = np.reshape(x, (1, 1))
        elif np.ndim(x) == 1:
            x = np.reshape(x, (-1, 1) if dim == 1 else (1, -1))
        factor = np.linalg.cholesky(cov)
        deviation = x - mean
        whitened = np.linalg.solve(factor, _mT(deviation))  # L^-1 (x - mean)^T
        mahalanobis = np.sum(whitened * whitened, axis=0)
        log_det = 2.0 * np.sum(np.log(np.diagonal(factor)))
        out = -0.5 * (dim * 2.0 * _LOG_SQRT_2PI + log_det + mahalanobis)
        return np.squeeze(out) if np.size(out) != 1 else np.reshape(out, ())


def _dimension(mean, cov, x):
    if mean is not None:
        return int(np.size(mean))
    if np.ndim(cov) >= 1:
        return int(np.shape(cov)[0])
    return int(np.shape(x)[-1]) if np.ndim(x) >= 1 else 1


norm = _Norm()
t = _T()
gamma = _Gamma()
beta = _Beta()
expon = _Expon()
laplace = _Laplace()
cauchy = _Cauchy()
logistic = _Logistic()
chi2 = _Chi2()
poisson = _Poisson()
binom = _Binom()
dirichlet = _Dirichlet()
multivariate_normal = _MultivariateNormal()

__all__ = [
    "norm",
    "t",
    "gamma",
    "beta",
    "expon",
    "laplace",
    "cauchy",
    "logistic",
    "chi2",
    "poisson",
    "binom",
    "dirichlet",
    "multivariate_normal",
]
