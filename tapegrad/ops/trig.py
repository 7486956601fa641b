"""Trigonometric and hyperbolic primitives, elementwise with broadcasting.

Registered like the rest of elementwise.py (whose ``_elementwise`` helper and
domains they share); split out so that each family file reads as one table.
"""

import numpy as np

from ..domain import Domain
from .elementwise import ABOVE1, REAL, UNIT, _elementwise

# -- trigonometric ----------------------------------------------------------------


@_elementwise(np.sin, REAL)
def sin(x):
    return np.sin(x)


@sin.defvjp
def _sin_vjp(g, ans, x):
    return (g * np.cos(x),)


@_elementwise(np.cos, REAL)
def cos(x):
    return np.cos(x)


@cos.defvjp
def _cos_vjp(g, ans, x):
    return (-g * np.sin(x),)


@_elementwise(np.tan, UNIT)
def tan(x):
    return np.tan(x)


@tan.defvjp
def _tan_vjp(g, ans, x):
    return (g * (1.0 + ans * ans),)


@_elementwise(np.arcsin, UNIT)
def arcsin(x):
    return np.arcsin(x)


@arcsin.defvjp
def _arcsin_vjp(g, ans, x):
    return (g / np.sqrt(1.0 - x * x),)


@_elementwise(np.arccos, UNIT)
def arccos(x):
    return np.arccos(x)


@arccos.defvjp
def _arccos_vjp(g, ans, x):
    return (-g / np.sqrt(1.0 - x * x),)


@_elementwise(np.arctan, REAL)
def arctan(x):
    return np.arctan(x)


@arctan.defvjp
def _arctan_vjp(g, ans, x):
    return (g / (1.0 + x * x),)


@_elementwise(np.arctan2, Domain(("nonzero", "nonzero"), shapes="broadcast"))
def arctan2(y, x):
    return np.arctan2(y, x)


@arctan2.defvjp
def _arctan2_vjp(g, ans, y, x):
    scale = g / (x * x + y * y)
    return scale * x, -scale * y


@_elementwise(np.hypot, Domain(("nonzero", "nonzero"), shapes="broadcast"))
def hypot(x, y):
    return np.hypot(x, y)


@hypot.defvjp
def _hypot_vjp(g, ans, x, y):
    # At (0, 0) hypot is a cone; its gradient there is 0, like linalg.norm of
    # a zero vector (x / 1 = 0 instead of 0 / 0).
    scale = g / np.where(ans == 0, 1.0, ans)
    return scale * x, scale * y


# -- hyperbolic -------------------------------------------------------------------


@_elementwise(np.sinh, REAL)
def sinh(x):
    return np.sinh(x)


@sinh.defvjp
def _sinh_vjp(g, ans, x):
    return (g * np.cosh(x),)


@_elementwise(np.cosh, REAL)
def cosh(x):
    return np.cosh(x)


@cosh.defvjp
def _cosh_vjp(g, ans, x):
    return (g * np.sinh(x),)


@_elementwise(np.tanh, REAL)
def tanh(x):
    return np.tanh(x)


@tanh.defvjp
def _tanh_vjp(g, ans, x):
    return (g * (1.0 - ans * ans),)


@_elementwise(np.arcsinh, REAL)
def arcsinh(x):
    return np.arcsinh(x)


@arcsinh.defvjp
def _arcsinh_vjp(g, ans, x):
    return (g / np.sqrt(x * x + 1.0),)


@_elementwise(np.arccosh, ABOVE1)
def arccosh(x):
    return np.arccosh(x)


@arccosh.defvjp
def _arccosh_vjp(g, ans, x):
    return (g / np.sqrt(x * x - 1.0),)


@_elementwise(np.arctanh, UNIT)
def arctanh(x):
    return np.arctanh(x)


@arctanh.defvjp
def _arctanh_vjp(g, ans, x):
    return (g / (1.0 - x * x),)


__all__ = [
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "arctan2",
    "hypot",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
]
