"""Indexing: ``x[index]``, its transpose (a scatter), ``x[index] = v``, take.

``getitem`` and ``scatter_add`` are each other's transpose, so both are
differentiable to any order. Basic indices (ints, slices, None, Ellipsis)
select without repeats: the forward is a view and the rule a plain
assignment into zeros. Advanced integer indices may repeat an element, so the
rule accumulates with ``np.add.at``.
"""

import numpy as np

from ..core import tracing
from ..core.tape import no_grad
from ..core.tensor import Tensor
from ..domain import Domain
from ._common import implements, plain_call, primitive, unwrap
from .samples import index as samples


def call_in_rule(prim, *args, **kwargs):
    """Call ``prim`` from inside a rule.

    Under ``create_graph`` a rule sees Tensors and must record; at first order
    it sees ndarrays and must return ndarrays, but calling a primitive always
    returns a Tensor. So run the bare forward when no argument is a Tensor.
    """
    for arg in args:
        if isinstance(arg, Tensor):
            return prim(*args, **kwargs)
    return prim.fun(*args, **kwargs)


def normalize_index(index):
    """Tensors inside an index become their arrays; lists become arrays.

    Writeable arrays inside a tuple are copied: the rule reads the index at
    backward time, and a later change by the caller must not reach it (a bare
    array index is copied by the engine when the node is recorded).
    """
    kind = type(index)
    if kind is int or kind is slice:  # the hot path
        return index
    if kind is tuple:
        for part in index:
            kind = type(part)
            if not (kind is int or kind is slice or part is None or part is Ellipsis):
                return tuple(_normalize_part(part, copy=True) for part in index)
        return index
    return _normalize_part(index, copy=False)


def _normalize_part(part, copy):
    if isinstance(part, Tensor):
        return part._data  # never written in place
    if isinstance(part, (list, tuple)):
        # numpy reads a sequence inside an index as an integer (or boolean)
        # array; as an array, repeated entries are seen by the rules (a
        # tuple left as is would scatter its repeats without adding them).
        array = np.asarray(part)
        if array.size == 0 and array.dtype.kind == "f":
            array = array.astype(np.intp)  # x[[]] selects nothing, as numpy's
        return array
    if copy and type(part) is np.ndarray and part.flags.writeable:
        if tracing._threads_tracing:  # tg.compile: copied again at each replay
            return tracing.call(np.copy, part)
        return part.copy()
    return part


def _may_repeat(index):
    """True when an integer array in ``index`` may select one element twice."""
    parts = index if type(index) is tuple else (index,)
    for part in parts:
        if isinstance(part, np.ndarray) and part.dtype.kind in "iu" and part.size > 1:
            return True
    return False


# -- x[index] and its transpose -------------------------------------------------


@primitive(nondiff=(1,), domain=Domain(sample=samples.getitem))
def getitem(x, index):
    return x[index]


@getitem.defvjp
def _getitem_vjp(g, ans, x, index):
    if not isinstance(g, Tensor):  # first order: the hot path, no Tensor in sight
        return _scatter_add(np.asarray(g), index, np.shape(x)), None
    return scatter_add(g, index, np.shape(x)), None


getitem.deflinear()


def _scatter_add(values, index, shape):
    out = np.zeros(shape, dtype=values.dtype)
    if _may_repeat(index):
        np.add.at(out, index, values)
    else:
        out[index] = values
    return out


@primitive(nondiff=(1, 2), domain=Domain(sample=samples.scatter_add))
def scatter_add(values, index, shape):
    """Zeros of ``shape`` with ``values`` added at ``index`` (repeats accumulate)."""
    return _scatter_add(values, index, shape)


@scatter_add.defvjp
def _scatter_add_vjp(g, ans, values, index, shape):
    return g[index], None, None


scatter_add.deflinear()


# -- x[index] = value ----------------------------------------------------------


@primitive(
    nondiff=(1,),
    name="setitem",
    domain=Domain(sample=samples.setitem, reference=samples.setitem_reference),
)
def _setitem(x, index, value):
    out = x.copy()
    try:
        out[index] = value
    except ValueError as error:
        # numpy names the shapes it tried to broadcast, not the operation.
        raise ValueError(
            f"x[index] = value: {error} (x has shape {x.shape}, value has shape {np.shape(value)})"
        ) from None
    return out


@_setitem.defvjp
def _setitem_vjp(g, ans, x, index, value):
    # The overwritten places of x no longer reach the output.
    gx = call_in_rule(_setitem, g, index, 0.0)
    gv = g[index]
    if _may_repeat(index):
        kept = _kept_writes(np.shape(x), index)
        if kept is not None:
            gv = np.where(kept, gv, 0.0)
    # numpy drops leading size-1 axes of the value (x[0] = v[None]); give them back.
    extra = np.ndim(value) - np.ndim(gv)
    if extra > 0:
        gv = np.reshape(gv, (1,) * extra + np.shape(gv))
    return gx, None, gv


_setitem.deflinear()


def _kept_writes(shape, index):
    """Mask over ``x[index]``: False where a later write to the same element won.

    numpy keeps the last of repeated writes; replaying the assignment with
    position numbers finds which positions survived. None when all did.
    """
    board = np.full(shape, -1, dtype=np.intp)
    selected = board[index].shape
    positions = np.arange(int(np.prod(selected)), dtype=np.intp).reshape(selected)
    board[index] = positions
    kept = board[index] == positions
    return None if kept.all() else kept


def setitem(x, index, value):
    """``x`` with ``x[index] = value``, as a new Tensor (``x`` is unchanged).

    Gradients: zero to ``x`` at the written places, and to ``value`` what
    reached the places it was written to (summed over broadcasting). With
    repeated advanced indices numpy keeps the last write, so only that write
    gets a gradient.
    """
    if isinstance(value, list):
        value = np.asarray(value)
    dtype = x.dtype if isinstance(x, (Tensor, np.ndarray)) else np.result_type(x)
    if dtype.kind not in "fc":
        # Writing into an integer array rounds the value: a constant.
        with no_grad():
            return _setitem(x, normalize_index(index), value)
    return _setitem(x, normalize_index(index), value)


# -- take, take_along_axis --------------------------------------------------------


def _index_array(indices):
    indices = normalize_index(indices)
    return np.asarray(indices)


@implements(np.take)
def take(a, indices, axis=None, out=None, mode="raise"):
    """``np.take`` on Tensors: an indexing composite, so repeats accumulate."""
    indices = _index_array(indices)
    if axis is None:
        a = np.ravel(a)
        axis = 0
    ndim = np.ndim(a)
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim, "take")
    axis %= ndim
    n = np.shape(a)[axis]
    if mode == "wrap":
        indices = np.mod(indices, n)
    elif mode == "clip":
        indices = np.clip(indices, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return getitem(a, (slice(None),) * axis + (indices,))


def _along_axis(shape, indices, axis, name):
    """The advanced index that pairs ``indices`` with every position of the other axes."""
    ndim = len(shape)
    if indices.ndim != ndim:
        raise ValueError(
            f"{name}: indices (shape {indices.shape}) and arr (shape {shape}) "
            "must have the same number of dimensions"
        )
    if indices.dtype.kind not in "iu":
        raise IndexError(f"{name}: indices must be integers, got {indices.dtype}")
    axis = int(axis) % ndim
    parts = []
    for dim, n in enumerate(shape):
        if dim == axis:
            parts.append(indices)
        else:
            grid = [1] * ndim
            grid[dim] = n
            parts.append(np.arange(n).reshape(grid))
    return tuple(parts)


@implements(np.take_along_axis)
def take_along_axis(arr, indices, axis=-1):
    """``np.take_along_axis`` on Tensors, as one advanced index."""
    indices = _index_array(indices)
    if axis is None:
        arr = np.ravel(arr)
        axis = 0
    return getitem(arr, _along_axis(np.shape(arr), indices, axis, "take_along_axis"))


def put_along_axis(arr, indices, values, axis):
    """``arr`` with ``values`` written at ``indices`` along ``axis``, as a new Tensor.

    The functional form of ``np.put_along_axis`` (which writes in place, and
    so refuses Tensors), like JAX's ``put_along_axis(..., inplace=False)``.
    Gradients as for ``x[index] = v``: the written places of ``arr`` get none,
    ``values`` gets what reached the places it was written to (the last
    write, where an index repeats).
    """
    indices = _index_array(indices)
    if axis is None:
        shape = np.shape(arr)
        index = _along_axis((int(np.prod(shape)),), indices, 0, "put_along_axis")
        flat = setitem(np.ravel(arr), index, values)
        return np.reshape(flat, shape)
    return setitem(arr, _along_axis(np.shape(arr), indices, axis, "put_along_axis"), values)


@implements(np.sort)
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``np.sort``: ``take_along_axis`` of ``argsort``, so each sorted element's
    cotangent goes back to where it came from (between tied elements, to the
    one argsort puts there, as PyTorch's sort).
    """
    if order is not None:
        raise TypeError("sort: `order` (fields of structured arrays) is not supported on Tensors")
    if axis is None:
        a = np.ravel(a)
        axis = 0
    positions = plain_call(np.argsort, a, axis=axis, kind=kind, stable=stable)
    return take_along_axis(a, positions, axis=axis)


@implements(np.partition)
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """``np.partition``: ``take_along_axis`` of ``argpartition`` (numpy's own arrangement),
    so each element's cotangent goes back to where it came from."""
    if order is not None:
        raise TypeError("partition: `order` (fields of structured arrays) is not supported")
    if axis is None:
        a = np.ravel(a)
        axis = 0
    positions = plain_call(np.argpartition, a, kth, axis=axis, kind=kind)
    return take_along_axis(a, positions, axis=axis)


# -- choosing among arrays ----------------------------------------------------------------


@implements(np.select)
def select(condlist, choicelist, default=0):
    """``np.select``: nested ``where``s, the first true condition winning (as numpy's)."""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    conditions = [np.asarray(unwrap(c)) for c in condlist]
    for i, condition in enumerate(conditions):
        if condition.dtype != np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    choices = [_choice(c) for c in (*choicelist, default)]
    dtype = np.result_type(*(unwrap(c) for c in choices))
    shape = np.broadcast_shapes(*(np.shape(c) for c in (*conditions, *choices)))
    result = np.broadcast_to(np.asarray(unwrap(choices[-1]), dtype=dtype), shape)
    if isinstance(choices[-1], Tensor):
        result = np.broadcast_to(choices[-1].astype(dtype), shape)
    for condition, choice in zip(conditions[::-1], choices[-2::-1]):
        result = np.where(condition, choice, result)
    return result.astype(dtype) if np.result_type(result) != dtype else result


def _choice(value):
    # Python numbers stay weak for numpy's promotion (NEP 50), as in np.select.
    if type(value) in (int, float, complex) or isinstance(value, Tensor):
        return value
    return np.asarray(value)


@implements(np.piecewise)
def piecewise(x, condlist, funclist, *args, **kw):
    """``np.piecewise``: each piece is ``x[cond]`` through its function, written into
    zeros as ``y[cond] = ...`` (a recorded assignment), so gradients reach ``x``
    through the pieces and any Tensors the functions close over."""
    n_funcs = len(funclist)
    if np.isscalar(condlist) or (
        not isinstance(condlist[0], (list, np.ndarray, Tensor)) and np.ndim(x) != 0
    ):
        condlist = [condlist]
    condlist = np.asarray([unwrap(c) for c in condlist], dtype=bool)
    n = len(condlist)
    if n == n_funcs - 1:  # the "otherwise" condition
        otherwise = ~np.any(condlist, axis=0, keepdims=True)
        condlist = np.concatenate([condlist, otherwise], axis=0)
        n += 1
    elif n != n_funcs:
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are expected")
    y = np.zeros_like(unwrap(x))
    for condition, func in zip(condlist, funclist):
        if not callable(func):
            y = setitem(y, condition, func)
        else:
            values = x[condition]
            if np.size(values) > 0:
                y = setitem(y, condition, func(values, *args, **kw))
    return y


__all__ = [
    "getitem",
    "scatter_add",
    "setitem",
    "take",
    "take_along_axis",
    "put_along_axis",
    "sort",
    "partition",
    "select",
    "piecewise",
]
