"""Shape primitives: they move elements, so each rule moves the cotangent back.

The primitives are the few whose rule is another shape op (reshape,
transpose, broadcast, concatenate, stack, flip, roll, constant pad). The rest
are composites of those and of indexing: ``tile`` is a reshape-broadcast-
reshape, ``repeat`` and the reflecting pads are a ``take``, ``diagonal`` is an
advanced index, ``triu`` a ``where``; they need no rule of their own.
Options (axes, shapes, widths) are keyword parameters with defaults, so
``np.swapaxes(t, axis1=0, axis2=1)`` and ``np.swapaxes(t, 0, 1)`` both work.
"""

import numpy as np

from ..core.tensor import Tensor
from ..domain import Domain
from ._common import implements, metadata, primitive, unwrap
from .index import _setitem, getitem, take
from .reduce import rounds_to_integers
from .samples import shape as samples


def _axis_tuple(axis, ndim, name):
    """``axis`` (int or sequence) as a tuple of non-negative ints, checked."""
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim, name)
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {axis!r}")
    return tuple(out)


def _shape_after(numpy_func, shape, *args, **kwargs):
    """The shape ``numpy_func`` gives an array of ``shape``, without allocating one."""
    probe = np.broadcast_to(np.empty((), dtype=bool), shape)
    return numpy_func(probe, *args, **kwargs).shape


# -- reshape family -------------------------------------------------------------


@primitive(numpy=np.reshape, domain=Domain(sample=samples.reshape))
def reshape(x, shape=None, order="C", *, copy=None):
    if order == "C":  # numpy's default, and the only order Dask's reshape takes
        return np.reshape(x, shape)
    return np.reshape(x, shape, order=order)


@reshape.defvjp
def _reshape_vjp(g, ans, x, shape=None, order="C", copy=None):
    if order == "A":
        # 'A' read x in its memory order; g has its own layout, so name
        # the order the forward used.
        data = metadata(x)
        order = "F" if data.flags.f_contiguous and not data.flags.c_contiguous else "C"
    if order == "C":  # (Dask's reshape takes no order)
        return (np.reshape(g, np.shape(x)),)
    return (np.reshape(g, np.shape(x), order=order),)


reshape.deflinear()


@implements(np.ravel)
def ravel(a, order="C"):
    """Composite: a reshape to 1-D. Orders 'A' and 'K' follow the memory layout."""
    if order in ("A", "K"):
        data = np.asarray(metadata(a))
        if data.flags.f_contiguous and not data.flags.c_contiguous:
            order = "F"
        elif order == "A" or data.flags.c_contiguous or data.ndim < 2:
            order = "C"
        else:
            raise ValueError(
                "ravel(order='K') on a Tensor whose array is neither C- nor "
                f"F-contiguous (shape {data.shape}); use order='C' or 'F'"
            )
    return reshape(a, (-1,), order=order)


def flatten(a, order="C"):
    """Same as ``np.ravel`` (``Tensor.flatten``)."""
    return ravel(a, order)


@implements(np.expand_dims)
def expand_dims(a, axis):
    """Composite: a reshape with size-1 axes inserted."""
    return reshape(a, _shape_after(np.expand_dims, np.shape(a), axis))


@implements(np.squeeze)
def squeeze(a, axis=None):
    """Composite: a reshape with size-1 axes removed."""
    return reshape(a, _shape_after(np.squeeze, np.shape(a), axis))


def _atleast(arys, ndim):
    out = []
    for a in arys:
        shape = np.shape(a)
        if len(shape) >= ndim:
            out.append(a)
        elif ndim == 3 and len(shape) == 2:
            out.append(reshape(a, (*shape, 1)))
        elif ndim == 3 and len(shape) == 1:
            out.append(reshape(a, (1, *shape, 1)))
        else:
            out.append(reshape(a, (1,) * (ndim - len(shape)) + shape))
    return out[0] if len(out) == 1 else tuple(out)


@implements(np.atleast_1d)
def atleast_1d(*arys):
    return _atleast(arys, 1)


@implements(np.atleast_2d)
def atleast_2d(*arys):
    return _atleast(arys, 2)


@implements(np.atleast_3d)
def atleast_3d(*arys):
    return _atleast(arys, 3)


@primitive(numpy=np.broadcast_to, domain=Domain(sample=samples.broadcast_to))
def broadcast_to(x, shape=None, subok=False):
    return np.broadcast_to(x, shape)


@broadcast_to.defvjp
def _broadcast_to_vjp(g, ans, x, shape=None, subok=False):
    # The engine sums the cotangent back to x's shape.
    return (g,)


broadcast_to.deflinear()


# -- axis permutations -------------------------------------------------------------


@primitive(numpy=(np.transpose, np.permute_dims), domain=Domain(sample=samples.transpose))
def transpose(x, axes=None):
    return np.transpose(x, axes)


@transpose.defvjp
def _transpose_vjp(g, ans, x, axes=None):
    if axes is None:
        return (np.transpose(g),)
    inverse = tuple(int(i) for i in np.argsort(_axis_tuple(axes, np.ndim(x), "transpose")))
    return (np.transpose(g, inverse),)


transpose.deflinear()


@primitive(numpy=np.swapaxes, domain=Domain(sample=samples.swapaxes))
def swapaxes(x, axis1=0, axis2=1):
    return np.swapaxes(x, axis1, axis2)


@swapaxes.defvjp
def _swapaxes_vjp(g, ans, x, axis1=0, axis2=1):
    return (np.swapaxes(g, axis1, axis2),)


swapaxes.deflinear()


@implements(np.matrix_transpose)
def matrix_transpose(x):
    """Composite: swap the last two axes."""
    if np.ndim(x) < 2:
        raise ValueError(f"matrix_transpose: input must be at least 2-D, got shape {np.shape(x)}")
    return swapaxes(x, -1, -2)


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    """Composite: a transpose."""
    ndim = np.ndim(a)
    source = _axis_tuple(source, ndim, "moveaxis")
    destination = _axis_tuple(destination, ndim, "moveaxis")
    if len(source) != len(destination):
        raise ValueError(
            "moveaxis: `source` and `destination` arguments must have the same number of elements"
        )
    order = [n for n in range(ndim) if n not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return transpose(a, tuple(order))


@implements(np.rollaxis)
def rollaxis(a, axis, start=0):
    """Composite: a transpose (numpy's older spelling of ``moveaxis``)."""
    n = np.ndim(a)
    axis = _axis_tuple(axis, n, "rollaxis")[0]
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise np.exceptions.AxisError(
            f"'start' arg requires {-n} <= start < {n + 1}, but {start} was passed in"
        )
    if axis < start:  # it has been removed
        start -= 1
    if axis == start:
        return a
    axes = list(range(n))
    axes.remove(axis)
    axes.insert(start, axis)
    return transpose(a, tuple(axes))


@implements(np.rot90)
def rot90(m, k=1, axes=(0, 1)):
    """Composite: flips and a transpose, as numpy's."""
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    ndim = np.ndim(m)
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == ndim:
        raise ValueError("Axes must be different.")
    if not all(-ndim <= ax < ndim for ax in axes):
        raise ValueError(f"Axes={axes} out of range for array of ndim={ndim}.")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    order = list(range(ndim))
    order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
    if k == 1:
        return transpose(flip(m, axes[1]), tuple(order))
    return flip(transpose(m, tuple(order)), axes[1])


@implements(np.broadcast_arrays)
def broadcast_arrays(*args, subok=False):
    """Composite: each argument broadcast to the common shape."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    return tuple(a if np.shape(a) == shape else broadcast_to(a, shape) for a in args)


# -- joining and splitting --------------------------------------------------------


@primitive(
    name="concatenate",
    domain=Domain(sample=samples.concatenate, reference=samples.concatenate_reference),
)
def _concatenate(*arrays, axis=0, dtype=None, casting="same_kind"):
    return np.concatenate(arrays, axis=axis, dtype=dtype, casting=casting)


@_concatenate.defvjp
def _concatenate_vjp(g, ans, *arrays, axis=0, dtype=None, casting="same_kind"):
    if rounds_to_integers(dtype):  # casting="unsafe" to integers: piecewise constant
        return (None,) * len(arrays)
    axis = int(axis) % np.ndim(ans)
    lead = (slice(None),) * axis
    cts = []
    start = 0
    for a in arrays:
        stop = start + np.shape(a)[axis]
        cts.append(g[(*lead, slice(start, stop))])
        start = stop
    return tuple(cts)


_concatenate.deflinear()


@implements(np.concatenate)
def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """``np.concatenate`` of Tensors and arrays (any mix)."""
    arrays = tuple(arrays)
    if axis is None:
        arrays = tuple(ravel(a) for a in arrays)
        axis = 0
    return _concatenate(*arrays, axis=axis, dtype=dtype, casting=casting)


@primitive(name="stack", domain=Domain(sample=samples.stack, reference=samples.stack_reference))
def _stack(*arrays, axis=0, dtype=None, casting="same_kind"):
    try:
        return np.stack(arrays, axis=axis, dtype=dtype, casting=casting)
    except ValueError:
        shapes = [np.shape(a) for a in arrays]
        if len(set(shapes)) > 1:  # numpy's message names no shape
            raise ValueError(
                f"stack: all input arrays must have the same shape, got shapes {shapes}"
            ) from None
        raise


@_stack.defvjp
def _stack_vjp(g, ans, *arrays, axis=0, dtype=None, casting="same_kind"):
    if rounds_to_integers(dtype):
        return (None,) * len(arrays)
    lead = (slice(None),) * (int(axis) % np.ndim(ans))
    return tuple(g[(*lead, i)] for i in range(len(arrays)))


_stack.deflinear()


@implements(np.stack)
def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """``np.stack`` of Tensors and arrays (any mix)."""
    return _stack(*arrays, axis=axis, dtype=dtype, casting=casting)


@implements(np.hstack)
def hstack(tup, *, dtype=None, casting="same_kind"):
    arrays = [atleast_1d(a) for a in tup]
    axis = 0 if arrays and np.ndim(arrays[0]) == 1 else 1
    return _concatenate(*arrays, axis=axis, dtype=dtype, casting=casting)


@implements(np.vstack)
def vstack(tup, *, dtype=None, casting="same_kind"):
    arrays = [atleast_2d(a) for a in tup]
    return _concatenate(*arrays, axis=0, dtype=dtype, casting=casting)


@implements(np.column_stack)
def column_stack(tup):
    arrays = [reshape(a, (-1, 1)) if np.ndim(a) < 2 else a for a in tup]
    return _concatenate(*arrays, axis=1)


@implements(np.dstack)
def dstack(tup):
    """Composite: ``atleast_3d`` of each, concatenated along the third axis."""
    arrays = [atleast_3d(a) for a in tup]
    return _concatenate(*arrays, axis=2)


@implements(np.append)
def append(arr, values, axis=None):
    """Composite: a ``concatenate`` (of the flattened operands when ``axis`` is None)."""
    if axis is None:
        if np.ndim(arr) != 1:
            arr = ravel(arr)
        values = ravel(values)
        axis = np.ndim(arr) - 1
    return _concatenate(arr, values, axis=axis)


@implements(np.block)
def block(arrays):
    """``np.block``: inner lists join along the last axis, the next out along the one
    before, and so on; the gradient goes back to each block."""
    depth, ndim = _block_depth(arrays)
    if depth == 0:
        return arrays
    ndim = max(ndim, depth)
    # Bottom-up without recursion: each frame is a list being joined and its built parts.
    frames = [(arrays, 0, [])]
    while True:
        node, level, built = frames[-1]
        if len(built) < len(node):
            child = node[len(built)]
            if level + 1 == depth:
                built.append(_atleast_nd(child, ndim))
            else:
                frames.append((child, level + 1, []))
            continue
        frames.pop()
        joined = _concatenate(*built, axis=level - depth)
        if not frames:
            return joined
        frames[-1][2].append(joined)


def _block_depth(arrays):
    """(list nesting depth, largest ndim of a leaf), with numpy's checks."""
    depth, ndim = None, 0
    stack = [(arrays, ())]
    while stack:
        node, index = stack.pop()
        if type(node) is tuple:
            raise TypeError(
                f"arrays{''.join(f'[{i}]' for i in index)} is a tuple. Only lists can be "
                "used to arrange blocks, and np.block does not allow implicit conversion "
                "from tuple to ndarray."
            )
        if type(node) is list:
            if not node:
                raise ValueError(
                    f"List at arrays{''.join(f'[{i}]' for i in index)} cannot be empty"
                )
            stack.extend((child, (*index, i)) for i, child in enumerate(node))
            continue
        if depth is None:
            depth = len(index)
        elif depth != len(index):
            raise ValueError(
                "List depths are mismatched. First element was at depth "
                f"{depth}, but there is an element at depth {len(index)} "
                f"(arrays{''.join(f'[{i}]' for i in index)})"
            )
        ndim = max(ndim, np.ndim(node))
    return depth or 0, ndim


def _atleast_nd(a, ndim):
    if not isinstance(a, Tensor):
        a = np.asarray(a)
    shape = np.shape(a)
    return reshape(a, (1,) * (ndim - len(shape)) + shape) if len(shape) < ndim else a


@implements(np.array_split)
def array_split(ary, indices_or_sections, axis=0):
    """Pieces are basic slices of ``ary``; a list of Tensors, as numpy gives arrays."""
    ndim = np.ndim(ary)
    axis = _axis_tuple(axis, ndim, "array_split")[0]
    n = np.shape(ary)[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = [0, *np.cumsum(sizes).tolist()]
    else:
        bounds = [0, *(int(i) for i in indices_or_sections), n]
    lead = (slice(None),) * axis
    return [getitem(ary, (*lead, slice(bounds[i], bounds[i + 1]))) for i in range(len(bounds) - 1)]


@implements(np.split)
def split(ary, indices_or_sections, axis=0):
    """Like ``array_split``, but an integer must divide the axis evenly."""
    if isinstance(indices_or_sections, (int, np.integer)):
        n = np.shape(ary)[_axis_tuple(axis, np.ndim(ary), "split")[0]]
        if indices_or_sections <= 0 or n % int(indices_or_sections):
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


@implements(np.hsplit)
def hsplit(ary, indices_or_sections):
    if np.ndim(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, axis=1 if np.ndim(ary) > 1 else 0)


@implements(np.vsplit)
def vsplit(ary, indices_or_sections):
    if np.ndim(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, axis=0)


@implements(np.dsplit)
def dsplit(ary, indices_or_sections):
    if np.ndim(ary) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, axis=2)


# -- reordering ---------------------------------------------------------------------


# The "reduce" shapes draw axis None, one axis or several, as np.flip takes.
@primitive(numpy=np.flip, domain=Domain(("real",), shapes="reduce"))
def flip(m, axis=None):
    return np.flip(m, axis)


@flip.defvjp
def _flip_vjp(g, ans, m, axis=None):
    return (np.flip(g, axis),)


flip.deflinear()


@implements(np.fliplr)
def fliplr(m):
    if np.ndim(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


@implements(np.flipud)
def flipud(m):
    if np.ndim(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


@primitive(numpy=np.roll, domain=Domain(sample=samples.roll))
def roll(a, shift=0, axis=None):
    return np.roll(a, shift, axis)


@roll.defvjp
def _roll_vjp(g, ans, a, shift=0, axis=None):
    back = -np.asarray(shift)
    return (np.roll(g, back.tolist(), axis),)


roll.deflinear()


@implements(np.tile)
def tile(A, reps):
    """Composite: reshape to (1, n0, 1, n1, ...), broadcast, merge each pair of axes."""
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    shape = np.shape(A)
    ndim = max(len(reps), len(shape))
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - len(shape)) + shape
    paired = tuple(n for pair in zip((1,) * ndim, shape) for n in pair)
    spread = tuple(n for pair in zip(reps, shape) for n in pair)
    x = broadcast_to(reshape(A, paired), spread)
    return reshape(x, tuple(r * n for r, n in zip(reps, shape)))


@implements(np.repeat)
def repeat(a, repeats, axis=None):
    """Composite: a ``take`` of repeated positions, so the gradient sums the copies."""
    if axis is None:
        a = ravel(a)
        axis = 0
    axis = _axis_tuple(axis, np.ndim(a), "repeat")[0]
    repeats = np.asarray(unwrap(repeats))
    positions = np.repeat(np.arange(np.shape(a)[axis]), repeats)
    return take(a, positions, axis=axis)


# -- padding ----------------------------------------------------------------------------


@primitive(name="pad", domain=Domain(sample=samples.pad, reference=samples.pad_reference))
def _pad_constant(array, pad_width=(), constant_values=0):
    return np.pad(array, pad_width, mode="constant", constant_values=constant_values)


@_pad_constant.defvjp
def _pad_constant_vjp(g, ans, array, pad_width=(), constant_values=0):
    inside = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, np.shape(array)))
    return (g[inside],)


@_pad_constant.defjvp
def _pad_constant_jvp(tangents, ans, array, pad_width=(), constant_values=0):
    # Linear but for the constant border, which has no tangent.
    return np.pad(tangents[0], pad_width, mode="constant", constant_values=0)


# Modes that only copy existing elements: the padded array is a take along each axis.
_INDEX_MODES = ("edge", "reflect", "symmetric", "wrap")


@implements(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    """``np.pad`` on Tensors: modes 'constant', 'edge', 'reflect', 'symmetric', 'wrap'."""
    ndim = np.ndim(array)
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu" and widths.size:
        raise TypeError(f"pad: `pad_width` must be of integral type, got {widths.dtype}")
    if (widths < 0).any():
        raise ValueError("index can't contain negative values")
    widths = tuple((int(b), int(a)) for b, a in np.broadcast_to(widths.astype(np.intp), (ndim, 2)))
    if ndim == 0:  # nothing to pad: numpy returns a copy
        return np.copy(array)
    if mode == "constant":
        value = kwargs.pop("constant_values", 0)
        if kwargs:
            raise TypeError(f"pad: unsupported keyword arguments for mode 'constant': {kwargs}")
        if isinstance(value, Tensor):
            if value.requires_grad:
                raise TypeError(
                    "np.pad: constant_values is a Tensor that requires grad; tapegrad "
                    "pads with constants only (concatenate the pieces to get its gradient)"
                )
            value = unwrap(value)
        return _pad_constant(array, pad_width=widths, constant_values=value)
    if mode not in _INDEX_MODES or kwargs.get("reflect_type", "even") != "even":
        raise TypeError(
            f"np.pad(mode={mode!r}, {kwargs}) on a Tensor has no tapegrad rule; supported "
            f"modes: 'constant', {', '.join(repr(m) for m in _INDEX_MODES)} (reflect_type "
            "'even')"
        )
    out = array
    for axis, (before, after) in enumerate(widths):
        if before or after:
            positions = np.pad(np.arange(np.shape(array)[axis]), (before, after), mode=mode)
            out = take(out, positions, axis=axis)
    return out


# -- diagonals and triangles ----------------------------------------------------------


def _diagonal_positions(n1, n2, offset):
    if offset >= 0:
        k = max(0, min(n1, n2 - offset))
        return np.arange(k), np.arange(k) + offset
    k = max(0, min(n1 + offset, n2))
    return np.arange(k) - offset, np.arange(k)


@implements(np.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1):
    """Composite: the two axes moved last, then one advanced index (diagonal last)."""
    ndim = np.ndim(a)
    if ndim < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    axis1, axis2 = _axis_tuple((axis1, axis2), ndim, "diagonal")
    shape = np.shape(a)
    rows, cols = _diagonal_positions(shape[axis1], shape[axis2], int(offset))
    moved = moveaxis(a, (axis1, axis2), (-2, -1))
    return getitem(moved, (Ellipsis, rows, cols))


@implements(np.diag)
def diag(v, k=0):
    """A 2-D input gives its diagonal; a 1-D input a matrix with it on the diagonal."""
    ndim = np.ndim(v)
    if ndim == 2:
        return diagonal(v, k)
    if ndim != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = np.shape(v)[0] + abs(int(k))
    rows, cols = _diagonal_positions(n, n, int(k))
    dtype = np.result_type(v)
    return _setitem(np.zeros((n, n), dtype=dtype), (rows, cols), v)


def _triangle(m, k, lower):
    shape = np.shape(m)
    if len(shape) == 0:
        raise ValueError("triu/tril: input must be at least 1-D")
    rows, cols = shape[-2:] if len(shape) >= 2 else (shape[-1], shape[-1])
    keep = (
        np.tri(rows, cols, k=k, dtype=bool) if lower else ~np.tri(rows, cols, k=k - 1, dtype=bool)
    )
    return np.where(keep, m, np.zeros((), dtype=np.result_type(m)))


@implements(np.triu)
def triu(m, k=0):
    """Composite: a ``where`` against the upper-triangle mask."""
    return _triangle(m, int(k), lower=False)


@implements(np.tril)
def tril(m, k=0):
    """Composite: a ``where`` against the lower-triangle mask."""
    return _triangle(m, int(k), lower=True)


__all__ = [
    "reshape",
    "ravel",
    "flatten",
    "expand_dims",
    "squeeze",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "broadcast_to",
    "transpose",
    "swapaxes",
    "matrix_transpose",
    "moveaxis",
    "rollaxis",
    "rot90",
    "broadcast_arrays",
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "column_stack",
    "dstack",
    "append",
    "block",
    "split",
    "array_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "tile",
    "repeat",
    "pad",
    "diagonal",
    "diag",
    "triu",
    "tril",
]
