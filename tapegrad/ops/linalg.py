"""Linear algebra primitives."""

import numpy as np

from ..domain import Domain
from ..primitive import primitive


@primitive(numpy=np.matmul, domain=Domain(("real", "real"), shapes="matmul"))
def matmul(a, b):
    return np.matmul(a, b)


@matmul.defvjp
def _matmul_vjp(g, ans, a, b):
    # numpy promotes 1-D operands to matrices and drops the added axis; undo
    # that on the cotangent, then the engine sums any broadcast batch axes.
    a_vector, b_vector = np.ndim(a) == 1, np.ndim(b) == 1
    if a_vector and b_vector:
        return g * b, g * a
    if a_vector:
        g = np.expand_dims(g, -2)
        a = np.expand_dims(a, 0)
    if b_vector:
        g = np.expand_dims(g, -1)
        b = np.expand_dims(b, -1)
    ga = np.matmul(g, np.swapaxes(b, -1, -2))
    gb = np.matmul(np.swapaxes(a, -1, -2), g)
    if a_vector:
        ga = np.squeeze(ga, -2)
    if b_vector:
        gb = np.squeeze(gb, -1)
    return ga, gb


__all__ = ["matmul"]
