"""Tensor: an immutable ndarray plus its place on the tape.

A Tensor's array is never written in place. Operations make new arrays;
``x[i] = v``, ``x += 1`` and ``x.data = a`` rebind the Tensor to a new array
(and node). So a value saved for backward cannot change under it, and no
version counter is needed. The array is marked read-only when it escapes to
the user (``.data``, ``np.asarray``, ``.numpy()``), so writing to it raises at
once instead of corrupting a later gradient. Locking lazily keeps the flag
flip (about as costly as a small ufunc) off the per-op path.
"""

from __future__ import annotations

import numpy as np

from .tape import grad_mode, leaf_node, run_backward


def _lock(array):
    if array.flags.writeable:
        array.flags.writeable = False
    return array


def _restore(data, requires_grad, grad):
    tensor = Tensor(data, requires_grad=requires_grad)
    tensor.grad = None if grad is None else np.array(grad)
    return tensor


def _may_change(array):
    """Could someone write to this memory later (it, or the array it views)?"""
    return array.flags.writeable or array.base is not None


def _new_tensor(data, node):
    # The per-op constructor: no validation, data is already a fresh ndarray.
    t = object.__new__(Tensor)
    t._data = data
    t._node = node
    t.grad = None
    return t


def as_array(x, dtype=None):
    """ndarray of ``x`` (Tensor, array, scalar or nested list). Python scalars -> float64."""
    if isinstance(x, Tensor):
        return x._data if dtype is None else x._data.astype(dtype, copy=False)
    if isinstance(x, np.ndarray):
        return x if dtype is None else x.astype(dtype, copy=False)
    if isinstance(x, (bool, np.bool_)):
        return np.asarray(x, dtype=dtype)
    if isinstance(x, (int, float, list, tuple)):
        array = np.asarray(x, dtype=dtype)
        if dtype is None and array.dtype.kind in "iub":
            array = array.astype(np.float64)
        return array
    return np.asarray(x, dtype=dtype)


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``Tensor(data, requires_grad=False, dtype=None)``. ndarrays keep their
    dtype (copied if writeable, so later changes to yours cannot reach the
    tape); Python scalars and lists become float64. Only floating point
    tensors can require grad.
    """

    __slots__ = ("__weakref__", "_data", "_node", "grad")
    # Make ndarray binary operators defer to ours (ndarray + Tensor -> Tensor).
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None):
        array = as_array(data, dtype)
        if type(data) is np.ndarray and array is data and _may_change(data):
            array = data.copy()
        elif isinstance(data, Tensor) and dtype is None:
            array = data._data
        if type(array) is not np.ndarray:
            array = np.asarray(array)
        self._data = array
        self._node = None
        self.grad = None
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _from_node(cls, data, node):
        return _new_tensor(data, node)

    # -- attributes -----------------------------------------------------------

    @property
    def data(self):
        """The values, as a read-only ndarray. Assign a new array to replace them."""
        return _lock(self._data)

    @data.setter
    def data(self, value):
        array = as_array(value)
        if array.shape != self._data.shape:
            raise ValueError(
                f"Tensor.data: new value has shape {array.shape}, the tensor has "
                f"shape {self._data.shape}"
            )
        if array is value and type(array) is np.ndarray and array.flags.writeable:
            array = array.copy()
        self._data = array.astype(self._data.dtype, copy=False)

    @property
    def requires_grad(self):
        return self._node is not None

    @requires_grad.setter
    def requires_grad(self, flag):
        if not flag:
            if self._node is not None and self._node.primitive is not None:
                raise RuntimeError(
                    "requires_grad can only be switched off on a leaf tensor; "
                    "use .detach() for a copy off the tape"
                )
            self._node = None
            return
        if self._node is not None:
            return
        if self._data.dtype.kind != "f":
            raise TypeError(
                f"only floating point tensors can require grad; this tensor has "
                f"dtype {self._data.dtype}. Convert it first, e.g. "
                "tg.tensor(x, dtype=np.float64, requires_grad=True)"
            )
        self._node = leaf_node(self)

    @property
    def is_leaf(self):
        return self._node is None or self._node.primitive is None

    @property
    def shape(self):
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def size(self):
        return self._data.size

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def T(self):  # noqa: N802
        return np.transpose(self)

    @property
    def mT(self):  # noqa: N802
        return np.swapaxes(self, -1, -2)

    def __len__(self):
        return len(self._data)

    def item(self):
        return self._data.item()

    def numpy(self):
        """The values as a read-only ndarray (no copy)."""
        return _lock(self._data)

    def tolist(self):
        return self._data.tolist()

    def detach(self):
        """The same values, off the tape (shares the read-only array)."""
        return _new_tensor(self._data, None)

    def __reduce__(self):
        # pickle, copy.copy and copy.deepcopy give a new leaf with the same
        # values, requires_grad and grad: never a handle on this tensor's
        # graph (a copied leaf node would send gradients to the original).
        grad = self.grad if not isinstance(self.grad, Tensor) else self.grad._data
        return (_restore, (np.array(self._data), self._node is not None, grad))

    def __array__(self, dtype=None, copy=None):
        if copy:
            return self._data.astype(dtype or self._data.dtype, copy=True)
        array = _lock(self._data)
        return array if dtype is None else array.astype(dtype, copy=False)

    def __float__(self):
        return float(self._data)

    def __int__(self):
        return int(self._data)

    def __bool__(self):
        return bool(self._data)

    def __index__(self):
        return self._data.__index__()

    def __hash__(self):
        return id(self)

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extra = ""
        if self._data.dtype != np.float64:
            extra += f", dtype={self._data.dtype}"
        if self._node is not None:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    __str__ = __repr__

    # -- backward ----------------------------------------------------------

    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf reached.

        ``grad`` is the cotangent (required unless self has one element).
        Gradients add up across calls, as in PyTorch: reset with
        ``x.grad = None`` (or ``optimizer.zero_grad()``) between steps.
        ``create_graph=True`` records the backward pass, so ``x.grad`` is a
        Tensor that can be differentiated again.
        """
        if self._node is None:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True (or it ran under tg.no_grad())"
            )
        if grad is None:
            if self._data.size != 1:
                raise ValueError(
                    f"backward() needs a `grad` argument for a non-scalar output of "
                    f"shape {self._data.shape}; pass the cotangent (e.g. "
                    "np.ones_like(out)), or reduce the output to a scalar first"
                )
            cotangent = np.ones_like(self._data)
        else:
            cotangent = grad if isinstance(grad, Tensor) else as_array(grad)
            if cotangent.shape != self._data.shape:
                raise ValueError(
                    f"backward(): grad has shape {cotangent.shape}, the output has "
                    f"shape {self._data.shape}"
                )
            if cotangent.dtype.kind != "f":
                raise TypeError(f"backward(): grad must be floating point, got {cotangent.dtype}")
            if not isinstance(cotangent, Tensor):
                cotangent = cotangent.astype(self._data.dtype, copy=False)
        run_backward(
            [self._node], [cotangent], retain_graph=retain_graph, create_graph=create_graph
        )

    # -- in-place forms rebind; they never write into the saved array ---------

    def _check_rebind(self, what):
        node = self._node
        if node is not None and node.primitive is None and grad_mode.enabled:
            raise RuntimeError(
                f"{what} on a leaf tensor that requires grad would be recorded as "
                "part of the graph; do it inside `with tg.no_grad():` (as an "
                "optimizer step does) or on a copy"
            )

    def _rebind(self, result, what):
        if result._data.shape != self._data.shape:
            raise ValueError(
                f"{what}: result of shape {result._data.shape} cannot be stored in a "
                f"tensor of shape {self._data.shape}"
            )
        if result._data.dtype != self._data.dtype:
            # numpy's in-place rule: the target keeps its dtype (and the cast
            # is recorded, so the node's output matches the new values).
            result = _ops.astype(result, self._data.dtype)
        if result._node is not None:
            self._node = result._node
        self._data = result._data
        return self

    def __setitem__(self, index, value):
        self._check_rebind("item assignment")
        result = _ops.setitem(self, index, value)
        self._rebind(result, "item assignment")

    # -- numpy protocols ----------------------------------------------------

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .numpy_dispatch import dispatch_ufunc

        return dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from .numpy_dispatch import dispatch_function

        return dispatch_function(func, args, kwargs)


def _getitem(self, index):
    return _ops.getitem(self, _ops.index.normalize_index(index))


Tensor.__getitem__ = _getitem


def _method(name):
    def method(self, *args, **kwargs):
        return getattr(np, name)(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"Same as ``np.{name}(self, ...)``; recorded on the tape."
    return method


# ndarray methods that take the same arguments as the numpy function.
for _name in [
    "sum",
    "mean",
    "prod",
    "max",
    "min",
    "var",
    "std",
    "cumsum",
    "cumprod",
    "clip",
    "round",
    "dot",
    "trace",
    "diagonal",
    "swapaxes",
    "squeeze",
    "repeat",
    "take",
    "argmax",
    "argmin",
    "argsort",
    "nonzero",
    "all",
    "any",
    "ravel",
    "conj",
    "conjugate",
]:
    setattr(Tensor, _name, _method(_name))


def _reshape(self, *shape, **kwargs):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return np.reshape(self, shape, **kwargs)


def _transpose(self, *axes):
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    return np.transpose(self, axes or None)


def _copy(self):
    """A new Tensor with the same values, on the tape (like ``torch.clone``)."""
    return np.copy(self)


def _flatten(self):
    return np.ravel(self)


def _astype(self, dtype, copy=True):
    return _ops.astype(self, np.dtype(dtype))


Tensor.reshape = _reshape
Tensor.transpose = _transpose
Tensor.flatten = _flatten
Tensor.copy = _copy
Tensor.astype = _astype


def tensor(data, requires_grad=False, dtype=None):
    """Same as ``Tensor(data, requires_grad, dtype)``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


from . import ops as _ops  # noqa: E402  (the ops import Tensor from here)

# Operators call the primitives' fast paths directly: ``x * y`` is on the
# per-op hot path, so no extra Python frame between it and the primitive.
_OPERATORS = {
    "add": "add",
    "sub": "subtract",
    "mul": "multiply",
    "truediv": "divide",
    "pow": "power",
    "matmul": "matmul",
    "floordiv": "floor_divide",
    "mod": "remainder",
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
    "eq": "equal",
    "ne": "not_equal",
}


def _unsupported(name):
    def method(self, *args):
        raise TypeError(f"tapegrad has no {name} for Tensors yet")

    return method


def _forward(call):
    # A plain function, so that attribute lookup binds ``self``.
    def method(self, other):
        return call(self, other)

    return method


def _reflected(call):
    def method(self, other):
        return call(other, self)

    return method


def _inplace(name, call):
    def method(self, other):
        self._check_rebind(f"in-place {name}")
        return self._rebind(call(self, other), f"in-place {name}")

    return method


def _bind_operators():
    for dunder, name in _OPERATORS.items():
        op = getattr(_ops, name, None)
        if op is None:
            call = _unsupported(name)
        else:
            call = getattr(op, "binary", op)
        # binary is a plain function, so it can be the method itself.
        setattr(Tensor, f"__{dunder}__", call if hasattr(op, "binary") else _forward(call))
        if dunder not in ("lt", "le", "gt", "ge", "eq", "ne"):
            setattr(Tensor, f"__r{dunder}__", _reflected(call))
            setattr(Tensor, f"__i{dunder}__", _inplace(name, call))
    for dunder, name in (("neg", "negative"), ("abs", "absolute")):
        op = getattr(_ops, name, None)
        setattr(Tensor, f"__{dunder}__", _unsupported(name) if op is None else op.unary)


def _pos(self):
    return self


Tensor.__pos__ = _pos
# tapegrad.ops calls _bind_operators() once all op families are loaded.
