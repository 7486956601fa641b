"""Building arrays from values: ranges with differentiable ends, grids, filled arrays.

All composites, written the way numpy writes them (same operations in the
same order), so values equal numpy's bit for bit and the gradient flows to
``start``, ``stop``, ``base``, the fill value and the grid vectors. With no
Tensor among the inputs each gives numpy's plain array: a constant.
"""

import operator

import numpy as np

from ..core.tape import no_grad
from ..core.tensor import Tensor
from ._common import implements, metadata, unwrap
from .index import setitem
from .shape import broadcast_to, moveaxis, reshape


def _holds_tensor(*values):
    return any(isinstance(v, Tensor) for v in values)


def _inexact(*values):
    """numpy's result dtype of ``values``, made inexact (integers give float64)."""
    dtype = np.result_type(*(metadata(v) for v in values))
    return dtype if dtype.kind in "fc" else np.result_type(dtype, 1.0)


def _as_dtype(value, dtype):
    if isinstance(value, Tensor):
        return value if value.dtype == dtype else value.astype(dtype)
    return np.asarray(value, dtype=dtype)


# -- ranges -------------------------------------------------------------------------


@implements(np.linspace)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    """``np.linspace``, differentiable in ``start`` and ``stop`` (the last point is ``stop``)."""
    if not _holds_tensor(start, stop):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis, device=device)
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = (num - 1) if endpoint else num
    dt = _inexact(start, stop)
    start, stop = _as_dtype(start, dt), _as_dtype(stop, dt)
    delta = stop - start
    y = np.arange(0, num, dtype=dt).reshape((-1,) + (1,) * np.ndim(delta))
    if div > 0:
        step = delta / div
        if (unwrap(step) == 0).any():  # denormal steps, as numpy (gh-5437)
            y = (y / div) * delta
        else:
            y = y * step
    else:
        step = np.nan
        y = y * delta
    y = y + start
    if endpoint and num > 1:
        y = setitem(y, (-1, Ellipsis), stop)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    if dtype is not None:
        if np.issubdtype(dtype, np.integer):
            with no_grad():  # rounding down: a constant
                y = np.floor(y)
        y = y.astype(dtype)
    return (y, step) if retstep else y


@implements(np.logspace)
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``np.logspace``: ``base ** linspace(start, stop)``, differentiable in all three."""
    if not _holds_tensor(start, stop, base):
        return np.logspace(start, stop, num, endpoint, base, dtype, axis)
    if not isinstance(base, (float, int)) and np.ndim(base):
        # A non-scalar base broadcasts with the ends and gets the new axis.
        ndmax = np.broadcast(*(metadata(v) for v in (start, stop, base))).ndim
        start, stop, base = (_at_least(v, ndmax) for v in (start, stop, base))
        base = np.expand_dims(base, axis)
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    out = np.power(base, y)
    return out if dtype is None else out.astype(dtype)


def _at_least(value, ndim):
    if not isinstance(value, Tensor):
        value = np.asarray(value)
    missing = ndim - np.ndim(value)
    return reshape(value, (1,) * missing + np.shape(value)) if missing > 0 else value


@implements(np.geomspace)
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``np.geomspace``, differentiable in ``start`` and ``stop`` (real ends of one sign,
    or complex)."""
    if not _holds_tensor(start, stop):
        return np.geomspace(start, stop, num, endpoint, dtype, axis)
    if np.any(unwrap(start) == 0) or np.any(unwrap(stop) == 0):
        raise ValueError("Geometric sequence cannot include zero")
    dt = np.result_type(unwrap(start), unwrap(stop), float(num), np.zeros((), dtype))
    start, stop = _as_dtype(start, dt), _as_dtype(stop, dt)
    # As numpy: rotate start to positive, compute, rotate back. The result does not
    # depend on the rotation, so holding it constant gives the right derivative.
    out_sign = np.sign(unwrap(start))
    start = start / out_sign
    stop = stop / out_sign
    result = logspace(np.log10(start), np.log10(stop), num=num, endpoint=endpoint, base=10.0)
    # The ends are exactly start and stop (10 ** log10(x) need not be x).
    if num > 0:
        result = setitem(result, 0, start)
        if num > 1 and endpoint:
            result = setitem(result, -1, stop)
    result = result * out_sign
    if axis != 0:
        result = moveaxis(result, 0, axis)
    return result if dtype is None else result.astype(dtype)


# -- filled arrays and grids ----------------------------------------------------------


def full(shape, fill_value, dtype=None, order="C"):
    """``np.full`` whose fill value may be a Tensor: the gradient is the sum over the array.

    ``np.full(shape, t)`` cannot record (numpy does not dispatch on the fill
    value) and raises instead of dropping the gradient; call ``tg.full``.
    """
    if not isinstance(fill_value, Tensor):
        return np.full(shape, fill_value, dtype, order)
    dtype = fill_value.dtype if dtype is None else np.dtype(dtype)
    return broadcast_to(fill_value.astype(dtype), np.shape(np.empty(shape, dtype=bool)))


@implements(np.copyto)
def _copyto(dst, src, casting="same_kind", where=True):
    """``np.copyto(array, t)`` (reached by ``np.full(shape, t, dtype)``): a TypeError when
    ``t`` needs a gradient, which a plain array cannot keep; ``tg.full`` keeps it."""
    if isinstance(src, Tensor) and src._node is not None:
        raise TypeError(
            "np.copyto(array, t) (also reached by np.full(shape, t, dtype=...)) writes a "
            "Tensor that requires grad into a plain array, which would drop its gradient; "
            "use tg.full(shape, t) or tg.broadcast_to(t, shape)"
        )
    return np.copyto(dst, unwrap(src), casting=casting, where=unwrap(where))


@implements(np.meshgrid)
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """``np.meshgrid``: reshapes, then (unless ``sparse``) a broadcast of each vector."""
    if not _holds_tensor(*xi):
        return np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    ndim = len(xi)
    ones = (1,) * ndim
    output = [reshape(x, (*ones[:i], -1, *ones[i + 1 :])) for i, x in enumerate(xi)]
    if indexing == "xy" and ndim > 1:
        output[0] = reshape(output[0], (1, -1, *ones[2:]))
        output[1] = reshape(output[1], (-1, 1, *ones[2:]))
    if not sparse:
        shape = np.broadcast_shapes(*(np.shape(x) for x in output))
        output = [broadcast_to(x, shape) for x in output]
    return tuple(output)


@implements(np.vander)
def vander(x, N=None, increasing=False):
    """``np.vander``: a cumulative product of ``[1, x, x, ...]``, as numpy computes it."""
    if not isinstance(x, Tensor):
        return np.vander(x, N, increasing)
    if np.ndim(x) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = np.shape(x)[0]
    N = n if N is None else int(N)
    dtype = np.promote_types(np.result_type(x), int)
    x = x.astype(dtype) if isinstance(x, Tensor) else np.asarray(x, dtype=dtype)
    if N == 0:
        return np.zeros((n, 0), dtype=dtype)
    columns = np.concatenate(
        [np.ones((n, 1), dtype=dtype), broadcast_to(reshape(x, (n, 1)), (n, N - 1))], axis=1
    )
    powers = np.cumprod(columns, axis=1)
    return powers if increasing else np.flip(powers, axis=1)


__all__ = ["linspace", "logspace", "geomspace", "full", "meshgrid", "vander"]
