"""scipy.special on Tensors: one registration per ufunc, plus composites.

Each ufunc is registered with ``numpy=scipy.special.NAME``: scipy's ufuncs
honour ``__array_ufunc__``, so ``scipy.special.gammaln(t)`` on a Tensor runs
the rule below. The functions scipy writes in Python (``logsumexp``,
``softmax``, ``log_softmax``, ``polygamma``, ``multigammaln``) do not
dispatch: call them from here (``tsp.special.logsumexp``). Rules are written
with operators, ``np.*`` and these ufuncs, so they are differentiable again.
Orders and parameters that are not differentiated (``n`` of polygamma, ``v``
of the Bessel functions, ``a`` of gammainc) are marked ``nondiff``.
"""

import inspect
import math

import numpy as np
import scipy.special as sc

from ..core import primitive as _core
from ..domain import Domain
from ..ops._common import unwrap
from ..ops.index import call_in_rule
from ..ops.reduce import logsumexp as _logsumexp
from ..ops.samples import scipy_special as samples

REAL = Domain(("real",))
POSITIVE = Domain(("positive",))
KINKFREE = Domain(("kinkfree",))
UNIT = Domain(("unit",))
POSITIVE_PAIR = Domain(("positive", "positive"), shapes="broadcast")

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _ufunc(ufunc, domain, *, name=None, **options):
    """The scipy ufunc itself as an elementwise primitive (see ops._common.ufunc_primitive)."""
    name = name or ufunc.__name__
    prim = _core.primitive(
        ufunc, name=name, numpy=ufunc, domain=domain, elementwise=True, **options
    )
    prim.__module__ = __name__
    prim.__qualname__ = name
    prim.__doc__ = f"``scipy.special.{name}`` on Tensors; see ``help(scipy.special.{name})``."
    inputs = ("x",) if ufunc.nin == 1 else tuple(f"x{i + 1}" for i in range(ufunc.nin))
    prim.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in inputs]
    )
    return prim


# -- gamma and beta functions -------------------------------------------------------------


gammaln = _ufunc(sc.gammaln, POSITIVE)


@gammaln.defvjp
def _gammaln_vjp(g, ans, x):
    return (g * sc.digamma(x),)


gamma = _ufunc(sc.gamma, POSITIVE)


@gamma.defvjp
def _gamma_vjp(g, ans, x):
    return (g * ans * sc.digamma(x),)


digamma = _ufunc(sc.digamma, POSITIVE, name="digamma")
psi = digamma


@digamma.defvjp
def _digamma_vjp(g, ans, x):
    return (g * call_in_rule(polygamma, 1, x),)


@_core.primitive(nondiff=(0,), domain=Domain(sample=samples.polygamma), elementwise=True)
def polygamma(n, x):
    """``scipy.special.polygamma`` (a Python function there: call it from here);
    differentiable in ``x``."""
    # scipy computes in float64 whatever x is; keep x's dtype, as the ufuncs do.
    return sc.polygamma(n, x).astype(np.result_type(x), copy=False)


@polygamma.defvjp
def _polygamma_vjp(g, ans, n, x):
    return None, g * call_in_rule(polygamma, np.add(n, 1), x)


def multigammaln(a, d):
    """``scipy.special.multigammaln``: a sum of ``gammaln``, as scipy computes it."""
    d = int(d)
    if np.any(unwrap(a) <= 0.5 * (d - 1)):
        raise ValueError(f"condition a ({a}) > 0.5 * (d-1) ({0.5 * (d - 1)}) not met")
    total = (d * (d - 1) * 0.25) * np.log(np.pi)
    for j in range(1, d + 1):
        total = total + gammaln(a - (j - 1.0) / 2)
    return total


betaln = _ufunc(sc.betaln, POSITIVE_PAIR)


@betaln.defvjp
def _betaln_vjp(g, ans, a, b):
    both = sc.digamma(a + b)
    return g * (sc.digamma(a) - both), g * (sc.digamma(b) - both)


beta = _ufunc(sc.beta, POSITIVE_PAIR)


@beta.defvjp
def _beta_vjp(g, ans, a, b):
    both = sc.digamma(a + b)
    return g * ans * (sc.digamma(a) - both), g * ans * (sc.digamma(b) - both)


gammainc = _ufunc(sc.gammainc, POSITIVE_PAIR, nondiff=(0,))


@gammainc.defvjp
def _gammainc_vjp(g, ans, a, x):
    # d/dx P(a, x) = x^(a - 1) e^-x / Gamma(a), in logs so it never overflows.
    return None, g * np.exp((a - 1.0) * np.log(x) - x - sc.gammaln(a))


gammaincc = _ufunc(sc.gammaincc, POSITIVE_PAIR, nondiff=(0,))


@gammaincc.defvjp
def _gammaincc_vjp(g, ans, a, x):
    return None, -g * np.exp((a - 1.0) * np.log(x) - x - sc.gammaln(a))


# -- error functions and the normal distribution ------------------------------------------


MODERATE = Domain(sample=samples.moderate)

erf = _ufunc(sc.erf, MODERATE)


@erf.defvjp
def _erf_vjp(g, ans, x):
    return (g * (2.0 / _SQRT_PI) * np.exp(-x * x),)


erfc = _ufunc(sc.erfc, MODERATE)


@erfc.defvjp
def _erfc_vjp(g, ans, x):
    return (g * (-2.0 / _SQRT_PI) * np.exp(-x * x),)


erfcx = _ufunc(sc.erfcx, MODERATE)


@erfcx.defvjp
def _erfcx_vjp(g, ans, x):
    return (g * (2.0 * x * ans - 2.0 / _SQRT_PI),)


erfinv = _ufunc(sc.erfinv, UNIT)


@erfinv.defvjp
def _erfinv_vjp(g, ans, x):
    return (g * (_SQRT_PI / 2.0) * np.exp(ans * ans),)


erfcinv = _ufunc(sc.erfcinv, Domain(sample=samples.erfcinv))


@erfcinv.defvjp
def _erfcinv_vjp(g, ans, x):
    return (g * (-_SQRT_PI / 2.0) * np.exp(ans * ans),)


ndtr = _ufunc(sc.ndtr, REAL)


@ndtr.defvjp
def _ndtr_vjp(g, ans, x):
    return (g * np.exp(-0.5 * x * x) / _SQRT_2PI,)


log_ndtr = _ufunc(sc.log_ndtr, REAL)


@log_ndtr.defvjp
def _log_ndtr_vjp(g, ans, x):
    # pdf / cdf, as exp(log pdf - log cdf): finite far in the left tail.
    return (g * np.exp(-0.5 * x * x - ans) / _SQRT_2PI,)


ndtri = _ufunc(sc.ndtri, Domain(sample=samples.probability))


@ndtri.defvjp
def _ndtri_vjp(g, ans, x):
    return (g * _SQRT_2PI * np.exp(0.5 * ans * ans),)


# -- logistic functions --------------------------------------------------------------------


expit = _ufunc(sc.expit, REAL)


@expit.defvjp
def _expit_vjp(g, ans, x):
    return (g * ans * (1.0 - ans),)


logit = _ufunc(sc.logit, Domain(sample=samples.probability))


@logit.defvjp
def _logit_vjp(g, ans, x):
    return (g / (x * (1.0 - x)),)


log_expit = _ufunc(sc.log_expit, REAL)


@log_expit.defvjp
def _log_expit_vjp(g, ans, x):
    return (g * sc.expit(-x),)


# -- x log y and entropies -----------------------------------------------------------------


xlogy = _ufunc(sc.xlogy, Domain(("real", "positive"), shapes="broadcast"))


@xlogy.defvjp(needs_grad=True)
def _xlogy_vjp(g, ans, x, y, needs_grad):
    return (g * np.log(y) if needs_grad[0] else None), (g * x / y if needs_grad[1] else None)


xlog1py = _ufunc(sc.xlog1py, Domain(("real", "positive"), shapes="broadcast"))


@xlog1py.defvjp(needs_grad=True)
def _xlog1py_vjp(g, ans, x, y, needs_grad):
    gx = g * np.log1p(y) if needs_grad[0] else None
    return gx, (g * x / (1.0 + y) if needs_grad[1] else None)


entr = _ufunc(sc.entr, POSITIVE)


@entr.defvjp
def _entr_vjp(g, ans, x):
    return (-g * (np.log(x) + 1.0),)


rel_entr = _ufunc(sc.rel_entr, POSITIVE_PAIR)


@rel_entr.defvjp
def _rel_entr_vjp(g, ans, x, y):
    return g * (np.log(x / y) + 1.0), -g * x / y


kl_div = _ufunc(sc.kl_div, Domain(sample=samples.positive_pair))


@kl_div.defvjp
def _kl_div_vjp(g, ans, x, y):
    return g * np.log(x / y), g * (1.0 - x / y)


# -- Bessel functions ------------------------------------------------------------------------


i0 = _ufunc(sc.i0, REAL)


@i0.defvjp
def _i0_vjp(g, ans, x):
    return (g * sc.i1(x),)


i1 = _ufunc(sc.i1, KINKFREE)


@i1.defvjp
def _i1_vjp(g, ans, x):
    # I1'(x) = I0(x) - I1(x) / x, which is 1/2 at 0.
    zero = x == 0
    return (g * np.where(zero, 0.5, sc.i0(x) - ans / np.where(zero, 1.0, x)),)


i0e = _ufunc(sc.i0e, KINKFREE)


@i0e.defvjp
def _i0e_vjp(g, ans, x):
    return (g * (sc.i1e(x) - np.sign(x) * ans),)


i1e = _ufunc(sc.i1e, KINKFREE)


@i1e.defvjp
def _i1e_vjp(g, ans, x):
    zero = x == 0
    slope = sc.i0e(x) - ans * (np.sign(x) + 1.0 / np.where(zero, 1.0, x))
    return (g * np.where(zero, 0.5, slope),)


ive = _ufunc(sc.ive, Domain(sample=samples.bessel), nondiff=(0,))


@ive.defvjp
def _ive_vjp(g, ans, v, z):
    return None, g * ((sc.ive(v - 1.0, z) + sc.ive(v + 1.0, z)) / 2.0 - np.sign(z) * ans)


jv = _ufunc(sc.jv, Domain(sample=samples.bessel), nondiff=(0,))


@jv.defvjp
def _jv_vjp(g, ans, v, z):
    return None, g * (sc.jv(v - 1.0, z) - sc.jv(v + 1.0, z)) / 2.0


yv = _ufunc(sc.yv, Domain(sample=samples.bessel), nondiff=(0,))


@yv.defvjp
def _yv_vjp(g, ans, v, z):
    return None, g * (sc.yv(v - 1.0, z) - sc.yv(v + 1.0, z)) / 2.0


# Rules derived for real arguments (no conjugate, real-only identities):
# recording one on a complex input raises instead of giving a wrong gradient.
for _real_rule in (gamma, erf, erfc, erfcx, ndtr, log_ndtr, xlogy, xlog1py, ive, jv, yv):
    _real_rule.real_only = True


# -- softmax and logsumexp (Python functions in scipy: call them from here) ------------------


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``scipy.special.logsumexp``, with ``b`` (weights, maybe negative) and
    ``return_sign``; differentiable in ``a`` and ``b``."""
    if b is None:
        out = _logsumexp(a, axis=axis, keepdims=keepdims)
        if return_sign:
            return out, np.ones(np.shape(out), dtype=np.result_type(out))
        return out
    data, weights = unwrap(a), unwrap(b)
    # The shift is a constant: the result does not depend on it.
    shift = np.max(np.where(weights != 0, data, -np.inf), axis=axis, keepdims=True, initial=-np.inf)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    total = np.sum(b * np.exp(a - shift), axis=axis, keepdims=keepdims)
    if not keepdims:
        shift = np.reshape(shift, np.shape(total))
    if return_sign:
        sign = np.sign(unwrap(total))
        return np.log(np.abs(total)) + shift, sign
    with np.errstate(invalid="ignore"):
        return np.log(total) + shift


def softmax(x, axis=None):
    """``scipy.special.softmax``: ``exp(x - max) / sum``, the max a constant."""
    shift = np.max(unwrap(x), axis=axis, keepdims=True)
    shifted = np.exp(x - shift)
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def log_softmax(x, axis=None):
    """``scipy.special.log_softmax``: ``x - max - log(sum(exp(x - max)))``."""
    shift = np.max(unwrap(x), axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    shifted = x - shift
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


__all__ = [
    "gammaln",
    "gamma",
    "digamma",
    "psi",
    "polygamma",
    "multigammaln",
    "beta",
    "betaln",
    "gammainc",
    "gammaincc",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "erfcinv",
    "ndtr",
    "log_ndtr",
    "ndtri",
    "expit",
    "logit",
    "log_expit",
    "xlogy",
    "xlog1py",
    "entr",
    "rel_entr",
    "kl_div",
    "i0",
    "i1",
    "i0e",
    "i1e",
    "ive",
    "jv",
    "yv",
    "logsumexp",
    "softmax",
    "log_softmax",
]
