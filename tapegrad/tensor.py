"""The Tensor, complete: its state (``core/tensor.py``) plus, bound here in
plain sight, its operators, ndarray-style methods and numpy protocols.

"What does ``x * y`` do" is answered in this file: ``Tensor.__mul__`` is
``multiply.binary`` (``core/recorder.py``), whose rule is in
``ops/elementwise.py``.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .core.dispatch import dispatch_function, dispatch_ufunc
from .core.tape import LeafNode, grad_mode
from .core.tensor import Tensor, as_array, new_tensor

__all__ = ["Tensor", "as_array", "new_tensor", "tensor"]


def tensor(data, requires_grad=False, dtype=None):
    """Same as ``Tensor(data, requires_grad, dtype)``; a (nested) list or tuple
    holding Tensors is stacked, keeping their gradients (``tg.stack``)."""
    if isinstance(data, (list, tuple)) and _holds_tensors(data):
        stacked = _stack_nested(data)
        if dtype is not None:
            stacked = ops.astype(stacked, np.dtype(dtype))
        if requires_grad and stacked._node is None:
            stacked.requires_grad = True
        return stacked
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _holds_tensors(data):
    return any(
        isinstance(v, Tensor) or (isinstance(v, (list, tuple)) and _holds_tensors(v)) for v in data
    )


def _stack_nested(data):
    parts = [_stack_nested(v) if isinstance(v, (list, tuple)) else v for v in data]
    return ops.stack([p if isinstance(p, Tensor) else as_array(p) for p in parts])


# -- numpy's protocols: np.exp(t), np.sum(t, 0), np.concatenate([t, a]) ----------


def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):  # noqa: N807
    return dispatch_ufunc(ufunc, method, inputs, kwargs)


def __array_function__(self, func, types, args, kwargs):  # noqa: N807
    return dispatch_function(func, args, kwargs)


Tensor.__array_ufunc__ = __array_ufunc__
Tensor.__array_function__ = __array_function__


# -- operators ----------------------------------------------------------------
# The primitives' fast paths are plain functions, so each can be the method
# itself: no Python frame between ``x * y`` and the recorder.

Tensor.__add__ = ops.add.binary
Tensor.__sub__ = ops.subtract.binary
Tensor.__mul__ = ops.multiply.binary
Tensor.__truediv__ = ops.divide.binary
Tensor.__pow__ = ops.power.binary
Tensor.__matmul__ = ops.matmul.binary
Tensor.__floordiv__ = ops.floor_divide
Tensor.__mod__ = ops.remainder.binary
Tensor.__neg__ = ops.negative.unary
Tensor.__abs__ = ops.absolute.unary
Tensor.__lt__ = ops.less
Tensor.__le__ = ops.less_equal
Tensor.__gt__ = ops.greater
Tensor.__ge__ = ops.greater_equal
Tensor.__eq__ = ops.equal
Tensor.__ne__ = ops.not_equal


def _pos(self):
    return self


Tensor.__pos__ = _pos


def _reflected(call):
    def method(self, other):
        return call(other, self)

    return method


def _in_place(name, call):
    def method(self, other):
        _check_rebind(self, f"in-place {name}")
        return _rebind(self, call(self, other), f"in-place {name}")

    return method


for _name, _call in [
    ("add", ops.add.binary),
    ("sub", ops.subtract.binary),
    ("mul", ops.multiply.binary),
    ("truediv", ops.divide.binary),
    ("pow", ops.power.binary),
    ("matmul", ops.matmul.binary),
    ("floordiv", ops.floor_divide),
    ("mod", ops.remainder.binary),
]:
    setattr(Tensor, f"__r{_name}__", _reflected(_call))
    setattr(Tensor, f"__i{_name}__", _in_place(_name, _call))


# -- indexing; in-place forms rebind, never write into an array the tape saved --


def __getitem__(self, index):  # noqa: N807
    return _mark_view(ops.getitem(self, ops.index.normalize_index(index)))


def _mark_view(result):
    # numpy gives a view here (basic indexing, most reshapes): a write into it
    # would reach the original in numpy, so here it must raise (_check_rebind).
    if result._data.base is not None:
        result._view = True
    return result


def __setitem__(self, index, value):  # noqa: N807
    if getattr(self, "_view", False):
        # (In-place operators stay allowed: `y[1:] += v` ends in y's setitem.)
        raise ValueError(
            "item assignment into a tensor taken from another by indexing or "
            "reshaping: numpy would write through the view into the original, but "
            "tensors are immutable and the original would silently stay unchanged. "
            "Write into the original instead (m[0, 1] = 50, not m[0][1] = 50)"
        )
    _check_rebind(self, "item assignment")
    _rebind(self, ops.setitem(self, index, value), "item assignment")


Tensor.__getitem__ = __getitem__
Tensor.__setitem__ = __setitem__


def _check_rebind(self, what):
    if type(self._node) is LeafNode and grad_mode.enabled:
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
        # numpy's in-place rule: the target keeps its dtype (and the cast is
        # recorded, so the node's output matches the new values).
        result = ops.astype(result, self._data.dtype)
    if result._node is not None:
        self._node = result._node
    self._data = result._data
    return self


# -- ndarray-style methods: the tapegrad function of the same name, directly ------


def _method(function, name):
    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"Same as ``np.{name}(self, ...)``; recorded on the tape."
    return method


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
    setattr(Tensor, _name, _method(getattr(ops, _name, getattr(np, _name)), _name))


def reshape(self, *shape, **kwargs):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return _mark_view(np.reshape(self, shape, **kwargs))


def transpose(self, *axes):
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    return _mark_view(np.transpose(self, axes or None))


def copy(self):
    """A new Tensor with the same values, on the tape (like ``torch.clone``)."""
    return np.copy(self)


def flatten(self):
    return np.ravel(self)


def astype(self, dtype, copy=True):
    return ops.astype(self, np.dtype(dtype))


Tensor.T = property(lambda self: _mark_view(np.transpose(self)), doc="Same as ``np.transpose``.")
Tensor.mT = property(
    lambda self: _mark_view(np.swapaxes(self, -1, -2)), doc="The last two axes swapped."
)
Tensor.real = property(lambda self: ops.real(self), doc="Same as ``np.real``; recorded.")
Tensor.imag = property(lambda self: ops.imag(self), doc="Same as ``np.imag``; recorded.")
Tensor.reshape = reshape
Tensor.transpose = transpose
Tensor.flatten = flatten
Tensor.copy = copy
Tensor.astype = astype
