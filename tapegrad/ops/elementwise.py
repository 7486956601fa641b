"""Elementwise primitives, with broadcasting. One registration per op: forward,
rule, domain. Where numpy has the op as a ufunc, the ufunc itself is the
forward (``ufunc_primitive``). Rules are written with operators and ``np.*``
so that they run on Tensors too (higher order). The engine unbroadcasts what
they return, and, because every op here is ``elementwise=True``, makes a zero
cotangent contribute exactly zero even where a partial is infinite (sqrt at 0
under a mask). Conventions at non-differentiable points: docs/conventions.md.

Complex inputs follow PyTorch's convention (docs/conventions.md): the VJP of a
holomorphic f is ``g * conj(f'(z))``. Rules conjugate with ``conjugated``
(``_common.py``), which returns a real array as it is where ``np.conjugate``
would copy it: real programs pay one call."""

import math

import numpy as np

from ..core.tape import no_grad
from ..core.tensor import Tensor
from ..domain import Domain
from ._common import conjugated, implements, primitive, ufunc_primitive, unwrap
from .samples import elementwise as samples

REAL = Domain(("real",))
POSITIVE = Domain(("positive",))
NONZERO = Domain(("nonzero",))
UNIT = Domain(("unit",))
ABOVE1 = Domain(("above1",))
KINKFREE = Domain(("kinkfree",))
BINARY = Domain(("real", "real"), shapes="broadcast")
DISTINCT_PAIR = Domain(("distinct", "distinct"), shapes="broadcast")
UNARY = REAL  # the starter name

# Python floats, not numpy float64 scalars: a float32 array times a Python
# float stays float32 (NEP 50), times np.float64 it would not.
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


# -- arithmetic ----------------------------------------------------------------


add = ufunc_primitive(np.add, BINARY, zero_preserving=True)


@add.defvjp
def _add_vjp(g, ans, x, y):
    return g, g


@add.defjvp
def _add_jvp(tangents, ans, x, y):
    tx, ty = tangents  # forward mode broadcasts a lone tangent to the output
    return tx if ty is None else ty if tx is None else tx + ty


# A primitive, not add(x, negative(y)): that is exact too, but two nodes cost
# 1.3x (constant y) to 1.8x (Tensor y) a subtraction, forward and backward.
subtract = ufunc_primitive(np.subtract, BINARY, zero_preserving=True)


@subtract.defvjp
def _subtract_vjp(g, ans, x, y):
    return g, -g


@subtract.defjvp
def _subtract_jvp(tangents, ans, x, y):
    tx, ty = tangents
    return tx if ty is None else -ty if tx is None else tx - ty


multiply = ufunc_primitive(np.multiply, BINARY)


@multiply.defvjp(needs_grad=True)
def _multiply_vjp(g, ans, x, y, needs_grad):
    # x * 0.9: the constant needs no gradient, skip its product.
    return (
        g * conjugated(y) if needs_grad[0] else None,
        g * conjugated(x) if needs_grad[1] else None,
    )


@multiply.defjvp
def _multiply_jvp(tangents, ans, x, y):
    tx, ty = tangents
    if ty is None:
        return tx * y
    if tx is None:
        return x * ty
    if tx is ty and x is y:  # x * x
        t = tx * x
        return t + t
    return tx * y + x * ty


divide = ufunc_primitive(np.divide, Domain(("real", "nonzero"), shapes="broadcast"))


@divide.defvjp
def _divide_vjp(g, ans, x, y):
    gx = g / conjugated(y)
    return gx, -gx * conjugated(ans)


true_divide = divide  # the same ufunc in numpy 2


negative = ufunc_primitive(np.negative, REAL, zero_preserving=True)


@negative.defvjp
def _negative_vjp(g, ans, x):
    return (-g,)


negative.deflinear()


positive = ufunc_primitive(np.positive, REAL, zero_preserving=True)


@positive.defvjp
def _positive_vjp(g, ans, x):
    return (g,)


positive.deflinear()


remainder = ufunc_primitive(np.remainder, Domain(sample=samples.remainder))


@remainder.defvjp(needs_grad=True)
def _remainder_vjp(g, ans, x, y, needs_grad):
    # remainder = x - floor(x / y) * y, with the floor piecewise constant.
    if not needs_grad[1]:
        return g, None
    return g, -g * np.floor_divide(x, y)


mod = remainder  # the same ufunc in numpy 2


# -- powers and roots ------------------------------------------------------------


power = ufunc_primitive(np.power, Domain(("positive", "real"), shapes="broadcast"))


@power.defvjp(needs_grad=True)
def _power_vjp(g, ans, x, y, needs_grad):
    if not needs_grad[1] and np.ndim(y) == 0:
        if y == 0:
            # x ** 0 is constant; 0 * x ** -1 would be NaN at x = 0.
            return np.zeros_like(g), None
        # Written without ans / x so that x = 0 with y >= 1 stays finite.
        return g * conjugated(y * x ** (y - 1)), None
    gx = None
    if needs_grad[0]:  # 2.0 ** y needs no gradient for the 2.0
        gx = g * conjugated(y * x ** (y - 1))
        zero_to_zero = (x == 0) & (y == 0)
        if zero_to_zero.any():
            gx = np.where(zero_to_zero, 0.0, gx)
    # d/dy x**y = log(x) x**y. At x = 0 it is 0 for y > 0 and for y = 0 (as
    # PyTorch), NaN for y < 0 (0 * inf); log(1) keeps log(0) = -inf out. At
    # x < 0 the result is NaN: x**y leaves the reals for nearby non-integer y.
    gy = None
    if needs_grad[1]:
        gy = g * conjugated(ans * np.log(np.where(x == 0, 1.0, x)))
    return gx, gy


square = ufunc_primitive(np.square, REAL)


@square.defvjp
def _square_vjp(g, ans, x):
    return (g * conjugated(2.0 * x),)


sqrt = ufunc_primitive(np.sqrt, POSITIVE)


@sqrt.defvjp
def _sqrt_vjp(g, ans, x):
    # inf at 0 for a nonzero cotangent (as PyTorch); 0 under a mask (engine).
    return (g / conjugated(2.0 * ans),)


cbrt = ufunc_primitive(np.cbrt, KINKFREE)


@cbrt.defvjp
def _cbrt_vjp(g, ans, x):
    return (g / (3.0 * ans * ans),)


reciprocal = ufunc_primitive(np.reciprocal, NONZERO)


@reciprocal.defvjp
def _reciprocal_vjp(g, ans, x):
    return (-g * conjugated(ans * ans),)


# -- exponentials and logarithms ---------------------------------------------------


exp = ufunc_primitive(np.exp, REAL)


@exp.defvjp
def _exp_vjp(g, ans, x):
    return (g * conjugated(ans),)


# exp2, log2 and log10 are primitives, not exp / log times a constant: those
# round differently (exp(3 * ln 2) = 7.999999999999998, log(1000) / ln 10 =
# 2.9999999999999996), up to 22 ulps for exp2.
exp2 = ufunc_primitive(np.exp2, REAL)


@exp2.defvjp
def _exp2_vjp(g, ans, x):
    return (g * conjugated(ans) * _LN2,)


expm1 = ufunc_primitive(np.expm1, REAL)


@expm1.defvjp
def _expm1_vjp(g, ans, x):
    return (g * conjugated(ans + 1.0),)


log = ufunc_primitive(np.log, POSITIVE)


@log.defvjp
def _log_vjp(g, ans, x):
    return (g / conjugated(x),)


log2 = ufunc_primitive(np.log2, POSITIVE)


@log2.defvjp
def _log2_vjp(g, ans, x):
    return (g / (conjugated(x) * _LN2),)


log10 = ufunc_primitive(np.log10, POSITIVE)


@log10.defvjp
def _log10_vjp(g, ans, x):
    return (g / (conjugated(x) * _LN10),)


log1p = ufunc_primitive(np.log1p, POSITIVE)


@log1p.defvjp
def _log1p_vjp(g, ans, x):
    return (g / conjugated(x + 1.0),)


logaddexp = ufunc_primitive(np.logaddexp, BINARY)


@logaddexp.defvjp
def _logaddexp_vjp(g, ans, x, y):
    # Softmax weights of the pair; exp(x - ans) <= 1 never overflows.
    return g * np.exp(x - ans), g * np.exp(y - ans)


logaddexp2 = ufunc_primitive(np.logaddexp2, BINARY)


@logaddexp2.defvjp
def _logaddexp2_vjp(g, ans, x, y):
    return g * np.exp2(x - ans), g * np.exp2(y - ans)


# -- kinks: absolute value, max/min, clip -------------------------------------------


absolute = ufunc_primitive(np.absolute, KINKFREE)


@absolute.defvjp
def _absolute_vjp(g, ans, x):
    # sign(0) = 0: the gradient of abs at 0 is 0 (as PyTorch).
    if x.dtype.kind == "c":
        # z / |z| (numpy's complex sign), written with differentiable ops: unlike the
        # real sign it is not piecewise constant. 0 at z = 0, as for reals.
        return (g * (x / np.where(ans == 0, 1.0, ans)),)
    return (g * np.sign(x),)


def _select(g, x_wins, ties):
    """Cotangents of a choice between x and y: the winner takes g; ties split it evenly."""
    if ties.any():
        gx = np.where(ties, 0.5 * g, g * x_wins)
    else:
        gx = g * x_wins
    return gx, g - gx


maximum = ufunc_primitive(np.maximum, DISTINCT_PAIR)


@maximum.defvjp
def _maximum_vjp(g, ans, x, y):
    return _select(g, x > y, x == y)


def _select_jvp(tangents, x_wins, ties):
    """A choice between x and y: the winner's tangent; the mean of both at a tie."""
    tx, ty = tangents
    weight = np.where(ties, 0.5, x_wins) if ties.any() else x_wins
    t = None if tx is None else tx * weight
    if ty is not None:
        t = ty * (1.0 - weight) if t is None else t + ty * (1.0 - weight)
    return t


@maximum.defjvp
def _maximum_jvp(tangents, ans, x, y):
    return _select_jvp(tangents, x > y, x == y)


minimum = ufunc_primitive(np.minimum, DISTINCT_PAIR)


@minimum.defvjp
def _minimum_vjp(g, ans, x, y):
    return _select(g, x < y, x == y)


@minimum.defjvp
def _minimum_jvp(tangents, ans, x, y):
    return _select_jvp(tangents, x < y, x == y)


# fmax and fmin are primitives, not a where() on a comparison (which gives the
# same values as fast): a where gives a tie's whole cotangent to one side.
fmax = ufunc_primitive(np.fmax, DISTINCT_PAIR)


@fmax.defvjp
def _fmax_vjp(g, ans, x, y):
    # fmax ignores a NaN operand: the other one is the result.
    return _select(g, (x > y) | np.isnan(y), x == y)


fmin = ufunc_primitive(np.fmin, DISTINCT_PAIR)


@fmin.defvjp
def _fmin_vjp(g, ans, x, y):
    return _select(g, (x < y) | np.isnan(y), x == y)


@primitive(
    name="clip",
    numpy=np.clip,
    domain=Domain(("distinct", "distinct", "distinct"), shapes="broadcast"),
    elementwise=True,
)
def _clip(a, a_min, a_max):
    return np.clip(a, a_min, a_max)


@_clip.defvjp(needs_grad=True)
def _clip_vjp(g, ans, a, a_min, a_max, needs_grad):
    # At a bound the gradient goes to `a` (inclusive, as PyTorch's clamp).
    # numpy computes minimum(maximum(a, a_min), a_max): when a_min > a_max the
    # result is a_max everywhere, and these masks agree.
    a_wins = True
    if a_min is not None:
        a_wins = a >= a_min
    if a_max is not None:
        a_wins = (a <= a_max) & a_wins
    ga = np.where(a_wins, g, 0.0)
    g_min = g_max = None
    if a_max is not None and needs_grad[2]:
        max_wins = a > a_max
        if a_min is not None:
            max_wins = max_wins | (a_min > a_max)
        g_max = np.where(max_wins, g, 0.0)
    if a_min is not None and needs_grad[1]:
        min_wins = a < a_min
        if a_max is not None:
            min_wins = min_wins & (a_min <= a_max)
        g_min = np.where(min_wins, g, 0.0)
    return ga, g_min, g_max


@implements(np.clip)
def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):  # noqa: A002
    """``np.clip``; the bounds may be Tensors too (they get a gradient where they win)."""
    if min is not None:
        a_min = min
    if max is not None:
        a_max = max
    if a_min is None and a_max is None:
        raise ValueError("clip: give a_min, a_max or both (both are None)")
    return _clip(a, a_min, a_max)


# -- selection ----------------------------------------------------------------------


@primitive(
    name="where",
    nondiff=(0,),
    domain=Domain(sample=samples.where, reference=np.where),
    elementwise=True,
    zero_preserving=True,
)
def _where(condition, x, y):
    return np.where(condition, x, y)


@_where.defvjp
def _where_vjp(g, ans, condition, x, y):
    # The unselected branch gets an exact 0 cotangent; the engine then keeps a
    # NaN or inf partial there (log(0), sqrt'(0)) from reaching the gradient.
    zero = np.zeros((), dtype=np.result_type(g))
    return None, np.where(condition, g, zero), np.where(condition, zero, g)


@_where.defjvp
def _where_jvp(tangents, ans, condition, x, y):
    _, tx, ty = tangents
    zero = np.zeros((), dtype=ans.dtype)
    return np.where(condition, zero if tx is None else tx, zero if ty is None else ty)


_NOT_GIVEN = object()


@implements(np.where)
def where(condition, x=_NOT_GIVEN, y=_NOT_GIVEN):
    """``np.where(condition, x, y)``; ``where(condition)`` is ``nonzero`` (plain arrays)."""
    if x is not _NOT_GIVEN and y is not _NOT_GIVEN:
        return _where(condition, x, y)
    if x is _NOT_GIVEN and y is _NOT_GIVEN:
        return np.nonzero(unwrap(condition))
    raise ValueError("where: either both or neither of x and y should be given")


@primitive(
    nondiff=(1,),
    name="astype",
    domain=Domain(("real", "any"), kwargs={"dtype": (np.dtype(np.float64), np.dtype(np.float32))}),
    elementwise=True,
)
def _astype(x, dtype):
    """A cast between float or complex dtypes: the engine casts the gradient back to x's."""
    return x.astype(dtype)


@_astype.defvjp
def _astype_vjp(g, ans, x, dtype):
    return g, None


_astype.deflinear()


def astype(x, dtype):
    """``x.astype(dtype)``. A cast to an integer or bool dtype is a constant.

    Rounding to integers is piecewise constant: its derivative is 0, not the
    identity, and an integer tensor cannot carry a gradient anyway.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f" or dtype.kind == "c":
        return _astype(x, dtype)
    with no_grad():
        return _astype(x, dtype)


# -- neural-network staples (no numpy equivalent) ------------------------------------


@primitive(domain=REAL, elementwise=True, real_only=True)
def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), without overflow at any x."""
    # exp(-|x|) <= 1, and the x < 0 branch keeps full relative precision.
    e = np.exp(-np.abs(x))
    r = 1.0 / (1.0 + e)
    return np.where(x >= 0, r, e * r)


@sigmoid.defvjp
def _sigmoid_vjp(g, ans, x):
    return (g * ans * (1.0 - ans),)


@primitive(domain=REAL, elementwise=True)
def softplus(x):
    """log(1 + exp(x)), without overflow at any x."""
    return np.logaddexp(0.0, x)


@softplus.defvjp
def _softplus_vjp(g, ans, x):
    return (g * sigmoid(x),)


abs = absolute  # noqa: A001  (numpy's name)


# -- complex parts: PyTorch's convention, z.grad = dL/dRe(z) + 1j dL/dIm(z) -----------


@primitive(name="conjugate", domain=REAL, elementwise=True, zero_preserving=True)
def _conjugate(x):
    return np.conjugate(x)


@_conjugate.defvjp
def _conjugate_vjp(g, ans, x):
    return (conjugated(g),)


@implements(np.conjugate)
def conjugate(x, out=None):
    """``np.conjugate`` (``np.conj``, ``Tensor.conj``); a real Tensor is returned as it is
    (tensors are immutable, so nothing can tell it from a copy)."""
    if isinstance(x, Tensor) and x.dtype.kind != "c":
        return x
    return _conjugate(x)


@primitive(name="real", numpy=np.real, domain=REAL, elementwise=True, zero_preserving=True)
def _real(val):
    out = np.real(val)
    # A real array is its own real part: a copy, so no Tensor shares the caller's array.
    return out.copy() if out is val else out


@_real.defvjp
def _real_vjp(g, ans, val):
    # Re(z) moves with Re(z) only: the cotangent is g itself (the engine makes it complex).
    return (g,)


@implements(np.real)
def real(val):
    """``np.real``; the real part of a real Tensor is the Tensor itself."""
    if isinstance(val, Tensor) and val.dtype.kind != "c":
        return val
    return _real(val)


@primitive(numpy=np.imag, domain=REAL, elementwise=True, zero_preserving=True)
def imag(val):
    """``np.imag``; of a real Tensor: zeros (whose gradient, the real part of 1j g, is 0)."""
    return np.imag(val)


@imag.defvjp
def _imag_vjp(g, ans, val):
    # Im(z) moves with Im(z) only: its gradient points in the imaginary direction.
    return (g * 1j,)


@primitive(name="angle", numpy=np.angle, domain=KINKFREE, elementwise=True)
def angle(z, deg=False):
    """``np.angle``: arctan2(Im z, Re z); piecewise constant (0 or pi) on real inputs."""
    return np.angle(z, deg)


@angle.defvjp
def _angle_vjp(g, ans, z, deg=False):
    # d angle = (x dy - y dx) / |z|^2, so the gradient is 1j * z / |z|^2 = 1j / conj(z);
    # 0 at z = 0 (as abs there). On a real input the engine keeps the real part: 0.
    scale = _DEGREES_PER_RADIAN if deg else 1.0
    safe = np.where(z == 0, 1.0, z)
    return (np.where(z == 0, 0.0, g * (1j * scale) / conjugated(safe)),)


_DEGREES_PER_RADIAN = 180.0 / math.pi


@implements(np.fabs)
def fabs(x, out=None):
    """``np.fabs``: ``absolute`` (the same values and convention at 0)."""
    return absolute(x)


conj = conjugate

__all__ = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "negative",
    "positive",
    "remainder",
    "mod",
    "power",
    "square",
    "sqrt",
    "cbrt",
    "reciprocal",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "logaddexp",
    "logaddexp2",
    "absolute",
    "abs",
    "fabs",
    "conjugate",
    "conj",
    "real",
    "imag",
    "angle",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "clip",
    "where",
    "astype",
    "sigmoid",
    "softplus",
]


# -- signs, steps and non-finite values (added with issue 12) -------------------------


# x2 only lends its sign: piecewise constant, so it gets no gradient.
copysign = ufunc_primitive(
    np.copysign, Domain(("kinkfree", "kinkfree"), shapes="broadcast"), nondiff=(1,)
)


@copysign.defvjp
def _copysign_vjp(g, ans, x1, x2):
    flipped = np.signbit(x1) != np.signbit(x2)
    return np.where(flipped, -g, g), None


# heaviside(x1, x2) is 0 or 1 away from x1 = 0 (no gradient in x1) and x2 at x1 = 0.
heaviside = ufunc_primitive(
    np.heaviside, Domain(("withzeros", "real"), shapes="broadcast"), nondiff=(0,)
)


@heaviside.defvjp
def _heaviside_vjp(g, ans, x1, x2):
    return None, np.where(x1 == 0, g, np.zeros((), dtype=np.result_type(g)))


@implements(np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """``np.nan_to_num``: finite elements keep their gradient, replaced ones get none
    (or go to ``nan``/``posinf``/``neginf`` when those are Tensors)."""
    dtype = np.result_type(x)
    if dtype.kind == "c":
        # numpy cleans the real and imaginary parts separately, with the same values.
        re, im = (nan_to_num(part, copy, nan, posinf, neginf) for part in (real(x), imag(x)))
        return re + im * 1j
    if dtype.kind != "f":
        return x
    data = unwrap(x)
    info = np.finfo(dtype)
    out = x
    for mask, value in (
        (np.isnan(data), nan),
        (np.isposinf(data), info.max if posinf is None else posinf),
        (np.isneginf(data), info.min if neginf is None else neginf),
    ):
        if mask.any():
            value = value.astype(dtype) if isinstance(value, Tensor) else np.asarray(value, dtype)
            out = np.where(mask, value, out)
    return out


__all__ += ["copysign", "heaviside", "nan_to_num"]
