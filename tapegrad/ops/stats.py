"""Statistics: weighted averages, order statistics, and the NaN-ignoring reductions.

All composites of reductions, ``where`` and ``sort``, following numpy's own
steps so that values agree with numpy's. Order statistics (median,
percentile, quantile and their nan* forms) are piecewise linear in the data:
the gradient goes to the one or two sorted elements the result interpolates
between, with the interpolation weights. The ``q`` of a quantile is a
constant. A NaN the nan* functions skip gets a zero gradient.
"""

import math

import numpy as np

from ..core.tensor import Tensor
from ._common import implements, unwrap
from .index import sort, take_along_axis
from .reduce import mean, normalize_axis, reduced_shape, std, var
from .reduce import sum as _sum
from .shape import moveaxis, reshape

_NO_VALUE = np._NoValue


def _options(**options):
    """The options that were given (numpy's "not given" is left out)."""
    return {k: v for k, v in options.items() if v is not _NO_VALUE}


# -- averages and ranges ------------------------------------------------------------


@implements(np.average)
def average(a, axis=None, weights=None, returned=False, *, keepdims=_NO_VALUE):
    """``np.average``, differentiable in ``a`` and in ``weights``."""
    ndim = np.ndim(a)
    if axis is not None:
        axis = normalize_axis(axis, ndim)
    keep = _options(keepdims=keepdims)
    if weights is None:
        avg = mean(a, axis, **keep)
        scale = np.result_type(avg).type(np.size(a) / max(np.size(avg), 1))
    else:
        if not isinstance(weights, Tensor):
            weights = np.asarray(weights)
        wshape = np.shape(weights)
        if np.shape(a) != wshape:
            if axis is None:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            if wshape != tuple(np.shape(a)[ax] for ax in axis):
                raise ValueError(
                    "Shape of weights must be consistent with shape of a along specified axis."
                )
            weights = np.transpose(weights, tuple(int(i) for i in np.argsort(axis)))
            weights = reshape(
                weights, tuple(n if ax in axis else 1 for ax, n in enumerate(np.shape(a)))
            )
        a_dtype = np.result_type(unwrap(a))
        if a_dtype.kind in "iub":
            dtype = np.result_type(a_dtype, np.result_type(unwrap(weights)), "f8")
        else:
            dtype = np.result_type(a_dtype, np.result_type(unwrap(weights)))
        scale = _sum(weights, axis, dtype, **keep)
        if (unwrap(scale) == 0.0).any():
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = _sum(np.multiply(a, weights).astype(dtype), axis, **keep) / scale
    if not returned:
        return avg
    if np.shape(scale) != np.shape(avg):
        scale = np.broadcast_to(scale, np.shape(avg)) + np.zeros((), dtype=np.result_type(scale))
    return avg, scale


@implements(np.ptp)
def ptp(a, axis=None, out=None, keepdims=False):
    """``np.ptp``: ``max - min``; ties share the gradient, as in max and min."""
    return np.max(a, axis=axis, keepdims=keepdims) - np.min(a, axis=axis, keepdims=keepdims)


# -- order statistics ------------------------------------------------------------------


def _along_last(a, axis):
    """``a`` with the reduced axes merged into one last axis, and the keepdims shape."""
    shape = np.shape(a)
    if axis is None:
        return reshape(a, (math.prod(shape),)), (1,) * len(shape)
    axes = normalize_axis(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in axes]
    moved = moveaxis(a, axes, tuple(range(len(kept), len(shape))))
    merged = reshape(moved, (*(shape[i] for i in kept), math.prod(shape[i] for i in axes)))
    return merged, reduced_shape(shape, axes)


def _keep(result, lead, keep_shape, keepdims):
    """A reduction's result given its kept axes back when ``keepdims``."""
    return reshape(result, lead + keep_shape) if keepdims else result


def _pick(s, index):
    """``s[..., index]`` with one index per row (``index`` of the rows' shape)."""
    return take_along_axis(s, np.expand_dims(index, -1), axis=-1)[..., 0]


def _counts(s, skip_nan):
    """How many elements each row holds (NaNs sort last; ``skip_nan`` leaves them out)."""
    data = unwrap(s)
    if skip_nan:
        return np.sum(~np.isnan(data), axis=-1)
    return np.full(data.shape[:-1], data.shape[-1], dtype=np.intp)


def _where_nan(condition, value):
    if not np.any(condition):
        return value
    return np.where(condition, np.array(np.nan, dtype=np.result_type(value)), value)


def _middle(a, axis, keepdims, skip_nan):
    merged, keep_shape = _along_last(a, axis)
    s = sort(merged, axis=-1)
    counts = _counts(s, skip_nan)
    low = np.maximum((counts - 1) // 2, 0)
    high = np.maximum(counts // 2, 0)
    if np.shape(s)[-1] == 0:
        result = mean(s, axis=-1)  # NaN, with numpy's warning
    else:
        # numpy's median is the mean of the one or two middle elements.
        lo, hi = _pick(s, low), _pick(s, high)
        result = np.where(low == high, lo, (lo + hi) / 2.0)
        empty = counts == 0
        if not skip_nan:  # one NaN makes the median NaN; it sorts last
            empty = np.isnan(unwrap(s)[..., -1])
        result = _where_nan(empty, result)
    return _keep(result, (), keep_shape, keepdims)


@implements(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``np.median``: the gradient goes to the middle element (or half to each of two)."""
    return _middle(a, axis, keepdims, skip_nan=False)


@implements(np.nanmedian)
def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``np.nanmedian``: the median of the elements that are not NaN."""
    if np.size(a) == 0:  # numpy's answer for an empty array
        return nanmean(a, axis, keepdims=keepdims)
    return _middle(a, axis, keepdims, skip_nan=True)


def _lerp(a, b, t):
    """numpy's interpolation formula (exact at both ends), on Tensors."""
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1.0 - t), a + diff * t)


def _quantile(a, q, axis, method, keepdims, skip_nan, name):
    if isinstance(q, Tensor):
        if q._node is not None:
            raise TypeError(f"{name}: q is a Tensor that requires grad; q is a constant here")
        q = unwrap(q)
    weak_q = isinstance(q, (int, float))  # a Python number does not promote a float32 a
    q = np.asarray(q)
    if skip_nan and np.size(a) == 0:  # numpy's nan* answer for an empty array
        return nanmean(a, axis, keepdims=keepdims)
    if q.dtype.kind not in "fiu":
        raise TypeError(f"{name}: q must be real numbers, got dtype {q.dtype}")
    if not ((q >= 0) & (q <= 1)).all():
        raise ValueError("Quantiles must be in the range [0, 1]")
    merged, keep_shape = _along_last(a, axis)
    s = sort(merged, axis=-1)
    counts = _counts(s, skip_nan)
    if np.size(counts) == 0:  # no rows (a size-0 axis kept): numpy gives an empty result
        empty_rows = np.sum(s, axis=-1) * 0.0
        dtype = np.result_type(unwrap(s), 1.0) if weak_q else np.result_type(unwrap(s), q, 1.0)
        result = np.zeros(q.shape + (1,) * np.ndim(counts), dtype=dtype) + empty_rows
        return _keep(result, q.shape, keep_shape, keepdims)
    if np.shape(s)[-1] == 0:  # nothing to pick from, as numpy's error
        raise IndexError("index -1 is out of bounds for axis 0 with size 0")
    # The weights depend only on the row length, q and the method: read them
    # off numpy's own quantile of 0, 1, ..., n - 1 (virtual index v = lo + t).
    flat_q, flat_counts = q.reshape(-1), counts.reshape(-1)
    virtual = np.zeros((flat_q.size, flat_counts.size))
    for n in np.unique(flat_counts):
        if n > 0:
            at = np.quantile(np.arange(n, dtype=np.float64), flat_q, method=method)
            virtual[:, flat_counts == n] = at.reshape(-1, 1)
    virtual = virtual.reshape(flat_q.shape + counts.shape)
    low = np.floor(virtual).astype(np.intp)
    high = np.minimum(low + 1, np.maximum(counts - 1, 0))
    dtype = np.result_type(unwrap(s), 1.0) if weak_q else np.result_type(unwrap(s), q, 1.0)
    t = (virtual - low).astype(dtype)
    empty = counts == 0
    if not skip_nan and np.shape(s)[-1]:
        empty = np.isnan(unwrap(s)[..., -1])
    results = []
    for i in range(flat_q.size):
        lo = _pick(s, low[i])
        if (t[i] == 0).all():  # a discrete method, or an exact index: no interpolation
            results.append(_where_nan(empty, lo))
        else:
            results.append(_where_nan(empty, _lerp(lo, _pick(s, high[i]), t[i])))
    result = reshape(np.stack(results), q.shape + np.shape(counts))
    return _keep(result, q.shape, keep_shape, keepdims)


def _check_quantile_options(name, weights, interpolation, method):
    if weights is not None:
        raise TypeError(f"{name}(weights=...) on Tensors is not supported")
    if interpolation is not None:
        raise TypeError(f"{name}: `interpolation` was renamed `method` in numpy; pass method=")
    return method


@implements(np.quantile)
def quantile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    *,
    weights=None,
    interpolation=None,
):
    """``np.quantile`` (every ``method``), piecewise linear in ``a``; ``q`` is a constant."""
    _check_quantile_options("quantile", weights, interpolation, method)
    return _quantile(a, q, axis, method, keepdims, False, "quantile")


@implements(np.percentile)
def percentile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    *,
    weights=None,
    interpolation=None,
):
    """``np.percentile``: ``quantile`` at ``q / 100``."""
    _check_quantile_options("percentile", weights, interpolation, method)
    q = np.true_divide(np.asarray(unwrap(q)), 100)
    return _quantile(a, q, axis, method, keepdims, False, "percentile")


@implements(np.nanquantile)
def nanquantile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    *,
    weights=None,
    interpolation=None,
):
    """``np.nanquantile``: ``quantile`` of the elements that are not NaN."""
    _check_quantile_options("nanquantile", weights, interpolation, method)
    return _quantile(a, q, axis, method, keepdims, True, "nanquantile")


@implements(np.nanpercentile)
def nanpercentile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    *,
    weights=None,
    interpolation=None,
):
    """``np.nanpercentile``: ``nanquantile`` at ``q / 100``."""
    _check_quantile_options("nanpercentile", weights, interpolation, method)
    q = np.true_divide(np.asarray(unwrap(q)), 100)
    return _quantile(a, q, axis, method, keepdims, True, "nanpercentile")


# -- reductions that skip NaN -----------------------------------------------------------


def _nan_mask(a):
    return np.isnan(unwrap(a))


def _replace_nan(a, value):
    """``a`` with NaNs replaced by ``value`` (a constant, so they get no gradient)."""
    mask = _nan_mask(a)
    if not mask.any():
        return a, None
    return np.where(mask, np.array(value, dtype=np.result_type(a)), a), mask


@implements(np.nansum)
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
    """``np.nansum``: ``sum`` with NaNs counted as 0."""
    a, _ = _replace_nan(a, 0)
    return _sum(a, axis, dtype, keepdims=keepdims, initial=initial, where=where)


@implements(np.nanprod)
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
    """``np.nanprod``: ``prod`` with NaNs counted as 1."""
    a, _ = _replace_nan(a, 1)
    if initial is not _NO_VALUE or where is not True:
        raise TypeError("nanprod(initial=, where=) on Tensors is not supported")
    return np.prod(a, axis=axis, dtype=dtype, keepdims=keepdims)


@implements(np.nancumsum)
def nancumsum(a, axis=None, dtype=None, out=None):
    """``np.nancumsum``: ``cumsum`` with NaNs counted as 0."""
    return np.cumsum(_replace_nan(a, 0)[0], axis=axis, dtype=dtype)


@implements(np.nancumprod)
def nancumprod(a, axis=None, dtype=None, out=None):
    """``np.nancumprod``: ``cumprod`` with NaNs counted as 1."""
    return np.cumprod(_replace_nan(a, 1)[0], axis=axis, dtype=dtype)


@implements(np.nanmean)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """``np.nanmean``: the sum of the elements that are not NaN over their count."""
    arr, mask = _replace_nan(a, 0)
    if mask is None:
        return mean(a, axis, dtype, keepdims=keepdims, where=where)
    count = np.sum(~mask, axis=axis, dtype=np.intp, keepdims=keepdims, where=unwrap(where))
    total = _sum(arr, axis, dtype, keepdims=keepdims, where=where)
    return total / count.astype(np.result_type(total))


def _extremum_skipping_nan(a, axis, keepdims, numpy_func, fill):
    arr, mask = _replace_nan(a, fill)
    result = numpy_func(arr, axis=axis, keepdims=keepdims)
    if mask is None:
        return result
    # An all-NaN slice is NaN, as numpy's (which warns).
    return _where_nan(np.all(mask, axis=axis, keepdims=keepdims), result)


@implements(np.nanmax)
def nanmax(a, axis=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
    """``np.nanmax``: ``max`` of the elements that are not NaN (ties share the gradient)."""
    if initial is not _NO_VALUE or where is not True:
        raise TypeError("nanmax(initial=, where=) on Tensors is not supported")
    return _extremum_skipping_nan(a, axis, keepdims, np.max, -np.inf)


@implements(np.nanmin)
def nanmin(a, axis=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
    """``np.nanmin``: ``min`` of the elements that are not NaN (ties share the gradient)."""
    if initial is not _NO_VALUE or where is not True:
        raise TypeError("nanmin(initial=, where=) on Tensors is not supported")
    return _extremum_skipping_nan(a, axis, keepdims, np.min, np.inf)


def _nanvar(a, axis, dtype, ddof, keepdims, where, mean_, correction, root):
    if correction is not _NO_VALUE:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        ddof = correction
    if mean_ is not _NO_VALUE or where is not True:
        raise TypeError("nanvar/nanstd(mean=, where=) on Tensors are not supported")
    arr, mask = _replace_nan(a, 0)
    if mask is None:
        return (std if root else var)(a, axis, dtype, ddof=ddof, keepdims=keepdims)
    # numpy's steps: mean of the kept elements, squared deviations (0 at NaNs), sum / dof.
    count = np.sum(~mask, axis=axis, dtype=np.intp, keepdims=True)
    avg = _sum(arr, axis, dtype, keepdims=True) / count.astype(np.result_type(arr))
    deviation = np.where(mask, np.zeros((), dtype=np.result_type(arr)), arr - avg)
    total = _sum(deviation * deviation, axis, dtype, keepdims=keepdims)
    if not keepdims:
        count = np.sum(~mask, axis=axis, dtype=np.intp)
    dof = count - ddof
    result = total / dof.astype(np.result_type(total))
    result = _where_nan(dof <= 0, result)
    return np.sqrt(result) if root else result


@implements(np.nanvar)
def nanvar(
    a,
    axis=None,
    dtype=None,
    out=None,
    ddof=0,
    keepdims=False,
    *,
    where=True,
    mean=_NO_VALUE,
    correction=_NO_VALUE,
):
    """``np.nanvar``: the variance of the elements that are not NaN."""
    return _nanvar(a, axis, dtype, ddof, keepdims, where, mean, correction, root=False)


@implements(np.nanstd)
def nanstd(
    a,
    axis=None,
    dtype=None,
    out=None,
    ddof=0,
    keepdims=False,
    *,
    where=True,
    mean=_NO_VALUE,
    correction=_NO_VALUE,
):
    """``np.nanstd``: the square root of ``nanvar``."""
    return _nanvar(a, axis, dtype, ddof, keepdims, where, mean, correction, root=True)


__all__ = [
    "average",
    "ptp",
    "median",
    "nanmedian",
    "quantile",
    "percentile",
    "nanquantile",
    "nanpercentile",
    "nansum",
    "nanprod",
    "nancumsum",
    "nancumprod",
    "nanmean",
    "nanmax",
    "nanmin",
    "nanvar",
    "nanstd",
]
