"""Sequences: differences, numerical gradients and integrals, correlation, interpolation.

One primitive, ``correlate``, whose rules are correlations again (so it is
differentiable to any order); ``convolve`` is a correlation with the kernel
reversed, as numpy computes it. The rest are composites written with
numpy's own steps (slices, ``subtract``, ``concatenate``), so values equal
numpy's and gradients flow to every floating-point input: the samples, the
spacings and coordinates, ``prepend``/``append``, the polynomial's
coefficients and the interpolation table.
"""

import numpy as np

from ..core.tensor import Tensor
from ..domain import Domain
from ._common import conjugated, implements, primitive, unwrap
from .index import take
from .linalg import _existing
from .samples import signal as samples
from .shape import _axis_tuple, atleast_1d, broadcast_to, concatenate, ravel, reshape


def _axis_slices(ndim, axis, *parts):
    """One index tuple per part: ``part`` along ``axis``, every element elsewhere."""
    lead = (slice(None),) * axis
    return [(*lead, part, *(slice(None),) * (ndim - axis - 1)) for part in parts]


def _as_operand(value):
    return value if isinstance(value, Tensor) else np.asarray(value)


# -- differences ------------------------------------------------------------------------


@implements(np.diff)
def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """``np.diff``: ``n`` rounds of ``a[1:] - a[:-1]`` along ``axis``."""
    if n == 0:
        return a
    if n < 0:
        raise ValueError("order must be non-negative but got " + repr(n))
    a = _as_operand(a)
    ndim = np.ndim(a)
    if ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = _axis_tuple(axis, ndim, "diff")[0]
    combined = []
    for extra in (prepend, None, append):
        if extra is None:
            combined.append(a)
        elif extra is not np._NoValue:
            extra = _as_operand(extra)
            if np.ndim(extra) == 0:
                shape = list(np.shape(a))
                shape[axis] = 1
                extra = broadcast_to(extra, tuple(shape))
            combined.append(extra)
    if len(combined) > 1:
        a = concatenate(combined, axis)
    later, earlier = _axis_slices(ndim, axis, slice(1, None), slice(None, -1))
    for _ in range(n):
        a = a[later] - a[earlier]
    return a


@implements(np.ediff1d)
def ediff1d(ary, to_end=None, to_begin=None):
    """``np.ediff1d``: differences of the flattened array, with ends attached."""
    ary = ravel(ary)
    dtype = np.result_type(ary)
    differences = ary[1:] - ary[:-1]
    if to_begin is None and to_end is None:
        return differences
    ends = []
    for extra in (to_begin, to_end):
        if extra is None:
            ends.append([])
            continue
        extra = _as_operand(extra)
        if not np.can_cast(np.result_type(extra), dtype, casting="same_kind"):
            raise TypeError(
                "dtype of `to_begin`/`to_end` must be compatible with input `ary` under the "
                f"`same_kind` rule, got {np.result_type(extra)} for {dtype}"
            )
        ends.append([ravel(extra).astype(dtype)])
    return concatenate([*ends[0], differences, *ends[1]])


@implements(np.gradient)
def gradient(f, *varargs, axis=None, edge_order=1):
    """``np.gradient``: central differences inside, one-sided at the edges; differentiable
    in ``f`` and in the spacings or coordinates."""
    f = _as_operand(f)
    ndim = np.ndim(f)
    axes = tuple(range(ndim)) if axis is None else _axis_tuple(axis, ndim, "gradient")
    n = len(varargs)
    if n == 0:
        spacings = [1.0] * len(axes)
    elif n == 1 and np.ndim(varargs[0]) == 0:
        spacings = [varargs[0]] * len(axes)
    elif n == len(axes):
        spacings = []
        for i, distances in enumerate(varargs):
            distances = _as_operand(distances)
            if np.ndim(distances) == 0:
                spacings.append(distances)
                continue
            if np.ndim(distances) != 1:
                raise ValueError("distances must be either scalars or 1d")
            if len(distances) != np.shape(f)[axes[i]]:
                raise ValueError(
                    "when 1d, distances must match the length of the corresponding dimension"
                )
            if np.result_type(distances).kind in "iu":
                distances = np.asarray(distances, dtype=np.float64)
            steps = diff(distances)
            values = unwrap(steps)
            # Constant steps reduce to the scalar case, as numpy's.
            spacings.append(steps[0] if (values == values[0]).all() else steps)
    else:
        raise TypeError("invalid number of arguments")
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    otype = np.result_type(f)
    if otype.kind not in "fc":
        f = f.astype(np.float64)
        otype = np.dtype(np.float64)
    outputs = [_gradient_along(f, ax, dx, edge_order, otype) for ax, dx in zip(axes, spacings)]
    return outputs[0] if len(axes) == 1 else tuple(outputs)


def _gradient_along(f, axis, dx, edge_order, otype):
    ndim = np.ndim(f)
    if np.shape(f)[axis] < edge_order + 1:
        raise ValueError(
            "Shape of array too small to calculate a numerical gradient, "
            "at least (edge_order + 1) elements are required."
        )

    def at(part):
        return f[_axis_slices(ndim, axis, part)[0]]

    uniform = np.ndim(dx) == 0
    if uniform:
        interior = (at(slice(2, None)) - at(slice(None, -2))) / (2.0 * dx)
    else:
        dx1, dx2 = dx[0:-1], dx[1:]
        shape = [1] * ndim
        shape[axis] = -1
        a = reshape(-(dx2) / (dx1 * (dx1 + dx2)), shape)
        b = reshape((dx2 - dx1) / (dx1 * dx2), shape)
        c = reshape(dx1 / (dx2 * (dx1 + dx2)), shape)
        interior = a * at(slice(None, -2)) + b * at(slice(1, -1)) + c * at(slice(2, None))
    if edge_order == 1:
        first = (at(slice(1, 2)) - at(slice(0, 1))) / (dx if uniform else dx[0])
        last = (at(slice(-1, None)) - at(slice(-2, -1))) / (dx if uniform else dx[-1])
    else:
        if uniform:
            a, b, c = -1.5 / dx, 2.0 / dx, -0.5 / dx
        else:
            dx1, dx2 = dx[0], dx[1]
            a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
            b = (dx1 + dx2) / (dx1 * dx2)
            c = -dx1 / (dx2 * (dx1 + dx2))
        first = a * at(slice(0, 1)) + b * at(slice(1, 2)) + c * at(slice(2, 3))
        if uniform:
            a, b, c = 0.5 / dx, -2.0 / dx, 1.5 / dx
        else:
            dx1, dx2 = dx[-2], dx[-1]
            a = (dx2) / (dx1 * (dx1 + dx2))
            b = -(dx2 + dx1) / (dx1 * dx2)
            c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
        last = a * at(slice(-3, -2)) + b * at(slice(-2, -1)) + c * at(slice(-1, None))
    # numpy writes each piece into an array of f's dtype: the same cast.
    pieces = [p.astype(otype) if np.result_type(p) != otype else p for p in (first, interior, last)]
    return concatenate(pieces, axis)


# -- correlation and convolution ----------------------------------------------------------


def _mode_offset(n, m, mode):
    """Where numpy's ``mode`` output starts inside the full correlation of lengths n, m."""
    if mode == "full":
        return 0
    if mode == "valid":
        return min(n, m) - 1
    if mode == "same":
        return (m - 1) // 2 if m <= n else n // 2
    raise ValueError(f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})")


_MODES = {0: "valid", 1: "same", 2: "full"}


@primitive(numpy=np.correlate, domain=Domain(sample=samples.correlate))
def correlate(a, v, mode="valid"):
    return np.correlate(a, v, _MODES.get(mode, mode))


@correlate.defvjp
def _correlate_vjp(g, ans, a, v, mode="valid"):
    # out = full[offset:offset + len(out)], full[k] = sum_n a[n + k - (M - 1)] v[n].
    n, m = np.shape(a)[0], np.shape(v)[0]
    offset = _mode_offset(n, m, _MODES.get(mode, mode))
    full = np.pad(g, (offset, n + m - 1 - offset - np.shape(g)[0]))
    # Complex: numpy conjugates v, so out is holomorphic in a and anti-holomorphic in v;
    # the conjugates below undo numpy's where the convention wants v (or g) as it is.
    ga = np.correlate(full, conjugated(np.flip(v)), "valid")
    gv = conjugated(np.flip(np.correlate(full, a, "valid")))
    return ga, gv


@correlate.defjvp
def _correlate_jvp(tangents, ans, a, v, mode="valid"):
    # Linear in each operand (numpy's conjugate of v is real-linear too).
    ta, tv = tangents
    t = None if ta is None else np.correlate(ta, v, _MODES.get(mode, mode))
    if tv is not None:
        t_v = np.correlate(a, tv, _MODES.get(mode, mode))
        t = t_v if t is None else t + t_v
    return t


@implements(np.convolve)
def convolve(a, v, mode="full"):
    """``np.convolve``: ``correlate`` with the shorter operand reversed, as numpy computes it."""
    a, v = atleast_1d(_as_operand(a)), atleast_1d(_as_operand(v))
    if np.shape(v)[0] > np.shape(a)[0]:
        a, v = v, a
    if np.shape(a)[0] == 0:
        raise ValueError("a cannot be empty")
    if np.shape(v)[0] == 0:
        raise ValueError("v cannot be empty")
    # numpy's convolve does not conjugate v; correlate does, so undo that for complex v.
    return correlate(a, np.conjugate(np.flip(v)), mode=_MODES.get(mode, mode))


# -- integration and interpolation ------------------------------------------------------


@implements(*_existing(np, "trapezoid"))
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """``np.trapezoid``: differentiable in ``y``, ``x`` and ``dx``."""
    y = _as_operand(y)
    ndim = np.ndim(y)
    if x is None:
        d = dx
    else:
        x = _as_operand(x)
        if np.ndim(x) == 1:
            d = diff(x)
            shape = [1] * ndim
            shape[axis] = np.shape(d)[0]
            d = reshape(d, shape)
        else:
            d = diff(x, axis=axis)
    axis = _axis_tuple(axis, ndim, "trapezoid")[0]
    later, earlier = _axis_slices(ndim, axis, slice(1, None), slice(None, -1))
    return np.sum(d * (y[later] + y[earlier]) / 2.0, axis=axis)


@implements(np.interp)
def interp(x, xp, fp, left=None, right=None, period=None):
    """``np.interp``: piecewise linear, differentiable in ``fp``, ``x``, ``xp`` and
    ``left``/``right``; at a knot the value, and the gradient, is the knot's. A complex
    ``fp`` is interpolated part by part, as numpy does."""
    if np.result_type(unwrap(fp)).kind == "c":
        re, im = (
            interp(
                x,
                xp,
                part(fp),
                None if left is None else part(left),
                None if right is None else part(right),
                period,
            )
            for part in (np.real, np.imag)
        )
        return re + im * 1j
    x, xp, fp = (_as_operand(v).astype(np.float64) for v in (x, xp, fp))
    if np.ndim(xp) != 1 or np.ndim(fp) != 1:
        raise ValueError("Data points must be 1-D sequences")
    if np.shape(xp)[0] != np.shape(fp)[0]:
        raise ValueError("fp and xp are not of the same length")
    if np.shape(xp)[0] == 0:
        raise ValueError("array of sample points is empty")
    if period is not None:
        if period == 0:
            raise ValueError("period must be a non-zero value")
        period = abs(unwrap(period))
        left = right = None
        x = x % period
        xp = xp % period
        order = np.argsort(unwrap(xp))
        xp, fp = take(xp, order), take(fp, order)
        xp = concatenate((xp[-1:] - period, xp, xp[0:1] + period))
        fp = concatenate((fp[-1:], fp, fp[0:1]))
    left = fp[0] if left is None else left
    right = fp[-1] if right is None else right
    x_data, xp_data = unwrap(x), unwrap(xp)
    count = xp_data.shape[0]
    below, above = x_data < xp_data[0], x_data > xp_data[-1]
    if count == 1:
        inside = broadcast_to(fp[0], np.shape(x_data))
    else:
        # numpy's binary search: xp[j] <= x < xp[j + 1]; x == xp[-1] is the last knot.
        j = np.searchsorted(xp_data, x_data, side="right") - 1
        left_knot = np.clip(j, 0, count - 2)
        x0, x1 = take(xp, left_knot), take(xp, left_knot + 1)
        f0, f1 = take(fp, left_knot), take(fp, left_knot + 1)
        slope = (f1 - f0) / (x1 - x0)
        inside = slope * (x - x0) + f0
        if np.isnan(unwrap(inside)).any():  # numpy's fallbacks, from the right knot
            inside = np.where(np.isnan(unwrap(inside)), slope * (x - x1) + f1, inside)
            inside = np.where(np.isnan(unwrap(inside)) & (unwrap(f0) == unwrap(f1)), f0, inside)
        knot = (j == count - 1) | (xp_data[np.clip(j, 0, count - 1)] == x_data)
        inside = np.where(knot, take(fp, np.clip(j, 0, count - 1)), inside)
    return np.where(below, left, np.where(above, right, inside))


@implements(np.polyval)
def polyval(p, x):
    """``np.polyval`` by Horner's rule, as numpy: differentiable in ``p`` and ``x``."""
    if isinstance(p, np.poly1d):
        p = p.coeffs
    p, x = _as_operand(p), _as_operand(x)
    y = np.zeros_like(unwrap(x))
    for i in range(np.shape(p)[0]):
        y = y * x + p[i]
    return y


__all__ = [
    "diff",
    "ediff1d",
    "gradient",
    "correlate",
    "convolve",
    "trapezoid",
    "interp",
    "polyval",
]
