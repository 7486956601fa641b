"""Elementwise primitives, with broadcasting. One registration per op: forward,
rule, domain. Rules are written with operators and ``np.*`` so that they run on
Tensors too (higher order). The engine unbroadcasts what they return."""

import numpy as np

from ..domain import Domain
from ..primitive import primitive

BINARY = Domain(("real", "real"), shapes="broadcast")
UNARY = Domain(("real",), shapes="same")


def _elementwise(numpy_func, domain, **options):
    return primitive(numpy=numpy_func, domain=domain, elementwise=True, **options)


@_elementwise(np.add, BINARY)
def add(x, y):
    return np.add(x, y)


@add.defvjp
def _add_vjp(g, ans, x, y):
    return g, g


@_elementwise(np.subtract, BINARY)
def subtract(x, y):
    return np.subtract(x, y)


@subtract.defvjp
def _subtract_vjp(g, ans, x, y):
    return g, -g


@_elementwise(np.multiply, BINARY)
def multiply(x, y):
    return np.multiply(x, y)


@multiply.defvjp
def _multiply_vjp(g, ans, x, y):
    return g * y, g * x


@_elementwise((np.divide, np.true_divide), Domain(("real", "nonzero"), shapes="broadcast"))
def divide(x, y):
    return np.divide(x, y)


@divide.defvjp
def _divide_vjp(g, ans, x, y):
    gx = g / y
    return gx, -gx * ans


true_divide = divide


@_elementwise(np.negative, UNARY)
def negative(x):
    return np.negative(x)


@negative.defvjp
def _negative_vjp(g, ans, x):
    return (-g,)


@_elementwise(np.power, Domain(("positive", "real"), shapes="broadcast"))
def power(x, y):
    return np.power(x, y)


@power.defvjp
def _power_vjp(g, ans, x, y):
    # d/dx x**y = y * x**(y-1); written without ans/x so x = 0 with y >= 1 is finite.
    gx = g * y * x ** (y - 1)
    # d/dy x**y = log(x) * x**y; only where x > 0 (numpy gives nan for x < 0
    # with non-integer y anyway). The mask keeps log(0) = -inf out when y is a
    # constant that is not differentiated.
    gy = g * ans * np.log(np.where(x > 0, x, 1.0))
    return gx, gy


@_elementwise(np.exp, UNARY)
def exp(x):
    return np.exp(x)


@exp.defvjp
def _exp_vjp(g, ans, x):
    return (g * ans,)


@_elementwise(np.log, Domain(("positive",)))
def log(x):
    return np.log(x)


@log.defvjp
def _log_vjp(g, ans, x):
    return (g / x,)


@_elementwise(np.tanh, UNARY)
def tanh(x):
    return np.tanh(x)


@tanh.defvjp
def _tanh_vjp(g, ans, x):
    return (g * (1.0 - ans * ans),)


def _where_sample(rng, dtype):
    shape = tuple(int(n) for n in rng.integers(0, 4, size=rng.integers(0, 3)))
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape[-1:]).astype(dtype)
    return (rng.random(shape) > 0.5, x, y), {}


@primitive(numpy=np.where, nondiff=(0,), domain=Domain(sample=_where_sample), elementwise=True)
def where(condition, x, y):
    return np.where(condition, x, y)


@where.defvjp
def _where_vjp(g, ans, condition, x, y):
    zero = np.zeros((), dtype=np.result_type(g))
    return None, np.where(condition, g, zero), np.where(condition, zero, g)


@primitive(nondiff=(1,), domain=Domain(("real",), kwargs={}), elementwise=True)
def astype(x, dtype):
    """``x.astype(dtype)``: the gradient is cast back to x's dtype by the engine."""
    return x.astype(dtype)


@astype.defvjp
def _astype_vjp(g, ans, x, dtype):
    return g, None


__all__ = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "negative",
    "power",
    "exp",
    "log",
    "tanh",
    "astype",
    "where",
]
