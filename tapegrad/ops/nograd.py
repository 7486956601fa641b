"""numpy functions that carry no gradient: they accept Tensors and return plain arrays.

They are piecewise constant (sign, floor, comparisons), return indices
(argmax, nonzero) or describe the array (shape, isnan). Their result is a
constant, so returning an ndarray, not a Tensor, loses nothing.
"""

import numpy as np

from ..core.primitive import nondifferentiable
from ._common import plain_call

_NONDIFFERENTIABLE = (
    np.less,
    np.less_equal,
    np.greater,
    np.greater_equal,
    np.equal,
    np.not_equal,
    np.floor_divide,
    np.sign,
    np.signbit,
    np.floor,
    np.ceil,
    np.round,
    np.around,
    np.rint,
    np.trunc,
    np.fix,
    np.argmax,
    np.argmin,
    np.argsort,
    np.argpartition,
    np.argwhere,
    np.flatnonzero,
    np.searchsorted,
    np.digitize,
    np.isnan,
    np.isfinite,
    np.isinf,
    np.isposinf,
    np.isneginf,
    np.nonzero,
    np.shape,
    np.ndim,
    np.size,
    np.zeros_like,
    np.ones_like,
    np.empty_like,
    np.full_like,
    np.logical_and,
    np.logical_or,
    np.logical_not,
    np.logical_xor,
    np.all,
    np.any,
    np.allclose,
    np.isclose,
    np.array_equal,
    np.array_equiv,
    np.count_nonzero,
    np.result_type,
    np.iscomplexobj,
    np.isrealobj,
    np.shares_memory,
    np.may_share_memory,
)
nondifferentiable(*_NONDIFFERENTIABLE)

# np.shape, np.ndim and np.size work on Tensors but are not re-exported: a
# top-level `shape` would hide the `tapegrad.ops.shape` module.


def _constant(numpy_func, name=None):
    """``numpy_func`` on the plain arrays of its arguments: a constant, no gradient."""
    name = name or numpy_func.__name__

    def constant(*args, **kwargs):
        return plain_call(numpy_func, *args, **kwargs)

    constant.__name__ = constant.__qualname__ = name
    constant.__doc__ = f"``np.{name}`` on plain arrays: the result carries no gradient."
    return constant


less = _constant(np.less)
less_equal = _constant(np.less_equal)
greater = _constant(np.greater)
greater_equal = _constant(np.greater_equal)
equal = _constant(np.equal)
not_equal = _constant(np.not_equal)
floor_divide = _constant(np.floor_divide)
sign = _constant(np.sign)
floor = _constant(np.floor)
ceil = _constant(np.ceil)
round = _constant(np.round)  # noqa: A001  (numpy's name)
rint = _constant(np.rint)
trunc = _constant(np.trunc)
argmax = _constant(np.argmax)
argmin = _constant(np.argmin)
argsort = _constant(np.argsort)
isnan = _constant(np.isnan)
isfinite = _constant(np.isfinite)
isinf = _constant(np.isinf)
nonzero = _constant(np.nonzero)
zeros_like = _constant(np.zeros_like)
ones_like = _constant(np.ones_like)
full_like = _constant(np.full_like)

__all__ = [
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "equal",
    "not_equal",
    "floor_divide",
    "sign",
    "floor",
    "ceil",
    "round",
    "rint",
    "trunc",
    "argmax",
    "argmin",
    "argsort",
    "isnan",
    "isfinite",
    "isinf",
    "nonzero",
    "zeros_like",
    "ones_like",
    "full_like",
]
