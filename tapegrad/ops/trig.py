"""Trigonometric and hyperbolic primitives, elementwise with broadcasting.

Registered like the ufuncs of elementwise.py (whose domains they share): the
ufunc is the forward. Split out so that each family file reads as one table.
Complex inputs: the rules conjugate the derivative, as in elementwise.py.
"""

import math

import numpy as np

from ..domain import Domain
from ._common import conjugated, primitive, ufunc_primitive
from .elementwise import ABOVE1, REAL, UNIT

# -- trigonometric ----------------------------------------------------------------


sin = ufunc_primitive(np.sin, REAL)


@sin.defvjp
def _sin_vjp(g, ans, x):
    return (g * conjugated(np.cos(x)),)


cos = ufunc_primitive(np.cos, REAL)


@cos.defvjp
def _cos_vjp(g, ans, x):
    return (-g * conjugated(np.sin(x)),)


tan = ufunc_primitive(np.tan, UNIT)


@tan.defvjp
def _tan_vjp(g, ans, x):
    return (g * conjugated(1.0 + ans * ans),)


arcsin = ufunc_primitive(np.arcsin, UNIT)


@arcsin.defvjp
def _arcsin_vjp(g, ans, x):
    return (g / conjugated(np.sqrt(1.0 - x * x)),)


arccos = ufunc_primitive(np.arccos, UNIT)


@arccos.defvjp
def _arccos_vjp(g, ans, x):
    return (-g / conjugated(np.sqrt(1.0 - x * x)),)


arctan = ufunc_primitive(np.arctan, REAL)


@arctan.defvjp
def _arctan_vjp(g, ans, x):
    return (g / conjugated(1.0 + x * x),)


arctan2 = ufunc_primitive(np.arctan2, Domain(("nonzero", "nonzero"), shapes="broadcast"))


@arctan2.defvjp
def _arctan2_vjp(g, ans, y, x):
    scale = g / (x * x + y * y)
    return scale * x, -scale * y


hypot = ufunc_primitive(np.hypot, Domain(("nonzero", "nonzero"), shapes="broadcast"))


@hypot.defvjp
def _hypot_vjp(g, ans, x, y):
    # At (0, 0) hypot is a cone; its gradient there is 0, like linalg.norm of
    # a zero vector (x / 1 = 0 instead of 0 / 0).
    scale = g / np.where(ans == 0, 1.0, ans)
    return scale * x, scale * y


# -- angles and sinc ----------------------------------------------------------------

# Python floats: a float32 cotangent times them stays float32 (NEP 50).
_DEGREES_PER_RADIAN = 180.0 / math.pi
_RADIANS_PER_DEGREE = math.pi / 180.0


rad2deg = ufunc_primitive(np.rad2deg, REAL, numpy=(np.rad2deg, np.degrees))


@rad2deg.defvjp
def _rad2deg_vjp(g, ans, x):
    return (g * _DEGREES_PER_RADIAN,)


deg2rad = ufunc_primitive(np.deg2rad, REAL, numpy=(np.deg2rad, np.radians))


@deg2rad.defvjp
def _deg2rad_vjp(g, ans, x):
    return (g * _RADIANS_PER_DEGREE,)


degrees = rad2deg
radians = deg2rad


@primitive(numpy=np.sinc, domain=REAL, elementwise=True)
def sinc(x):
    """sin(pi x) / (pi x), 1 at 0 (numpy's normalized sinc)."""
    return np.sinc(x)


@sinc.defvjp
def _sinc_vjp(g, ans, x):
    # (cos(pi x) - sinc(x)) / x loses its digits to cancellation near 0, where
    # the series -pi^2 x / 3 + pi^4 x^3 / 30 is exact to rounding (|x| < 1e-3).
    small = np.abs(x) < 1e-3
    safe = np.where(small, 1.0, x)
    series = x * (-(math.pi**2) / 3.0) + x * x * x * (math.pi**4 / 30.0)
    return (g * conjugated(np.where(small, series, (np.cos(math.pi * x) - ans) / safe)),)


# -- hyperbolic -------------------------------------------------------------------


sinh = ufunc_primitive(np.sinh, REAL)


@sinh.defvjp
def _sinh_vjp(g, ans, x):
    return (g * conjugated(np.cosh(x)),)


cosh = ufunc_primitive(np.cosh, REAL)


@cosh.defvjp
def _cosh_vjp(g, ans, x):
    return (g * conjugated(np.sinh(x)),)


tanh = ufunc_primitive(np.tanh, REAL)


@tanh.defvjp
def _tanh_vjp(g, ans, x):
    return (g * conjugated(1.0 - ans * ans),)


@tanh.defjvp
def _tanh_jvp(tangents, ans, x):
    return tangents[0] * (1.0 - ans * ans)


arcsinh = ufunc_primitive(np.arcsinh, REAL)


@arcsinh.defvjp
def _arcsinh_vjp(g, ans, x):
    return (g / conjugated(np.sqrt(x * x + 1.0)),)


arccosh = ufunc_primitive(np.arccosh, ABOVE1)


@arccosh.defvjp
def _arccosh_vjp(g, ans, x):
    # sqrt(x - 1) sqrt(x + 1), not sqrt(x * x - 1): the same for real x > 1, and the
    # one that matches numpy's principal branch for complex x (off the real axis
    # sqrt(x * x - 1) has the other sign in the left half-plane).
    if x.dtype.kind == "c":
        return (g / conjugated(np.sqrt(x - 1.0) * np.sqrt(x + 1.0)),)
    return (g / np.sqrt(x * x - 1.0),)


arctanh = ufunc_primitive(np.arctanh, UNIT)


@arctanh.defvjp
def _arctanh_vjp(g, ans, x):
    return (g / conjugated(1.0 - x * x),)


__all__ = [
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "arctan2",
    "hypot",
    "rad2deg",
    "deg2rad",
    "degrees",
    "radians",
    "sinc",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
]
