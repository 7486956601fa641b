"""numpy functions that carry no gradient: they accept Tensors and return plain arrays."""

import numpy as np

from ..primitive import nondifferentiable
from ..tensor import as_array

_NONDIFFERENTIABLE = (
    np.less,
    np.less_equal,
    np.greater,
    np.greater_equal,
    np.equal,
    np.not_equal,
    np.floor_divide,
    np.sign,
    np.floor,
    np.ceil,
    np.round,
    np.rint,
    np.trunc,
    np.argmax,
    np.argmin,
    np.argsort,
    np.isnan,
    np.isfinite,
    np.isinf,
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
    np.count_nonzero,
    np.result_type,
)
nondifferentiable(*_NONDIFFERENTIABLE)


def _comparison(ufunc):
    def compare(x, y):
        return ufunc(as_array(x), as_array(y))

    compare.__name__ = ufunc.__name__
    compare.__doc__ = f"``np.{ufunc.__name__}`` on plain arrays: no gradient."
    return compare


less = _comparison(np.less)
less_equal = _comparison(np.less_equal)
greater = _comparison(np.greater)
greater_equal = _comparison(np.greater_equal)
equal = _comparison(np.equal)
not_equal = _comparison(np.not_equal)
floor_divide = _comparison(np.floor_divide)

__all__ = [
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "equal",
    "not_equal",
    "floor_divide",
]
