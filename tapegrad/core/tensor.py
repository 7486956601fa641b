"""Tensor: an immutable ndarray plus its place on the tape.

A Tensor's array is never written in place. Operations make new arrays;
``x[i] = v``, ``x += 1`` and ``x.data = a`` rebind the Tensor to a new array
(and node). So a value saved for backward cannot change under it, and no
version counter is needed. The array is marked read-only when it escapes to
the user (``.data``, ``np.asarray``, ``.numpy()``), so writing to it raises at
once instead of corrupting a later gradient. Locking lazily keeps the flag
flip (about as costly as a small ufunc) off the per-op path.

This file holds the Tensor's state; its operators, ndarray-style methods and
numpy protocols are bound in ``tapegrad/tensor.py``, next to the ops they call.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import tracing
from .tape import LeafNode, RetainGrad, depends_on_traced_inputs, grad_mode


def _lock(array):
    # The whole chain: a view's base is another Tensor's array (x[1:].data.base).
    view = array
    while type(view) is np.ndarray and view.flags.writeable:
        view.flags.writeable = False
        view = view.base
    return array


def _conversion_refused(tensor):
    return _scipy_twin() + (
        f"np.asarray / np.array of a Tensor that requires grad (shape {tensor.shape}, "
        f"dtype {tensor.dtype}) would silently drop its gradient: the value would leave "
        "the tape. Say what you mean: "
        "t.detach() or t.numpy() or t.data for the values without gradient, "
        "`with tg.no_grad():` around code that needs no gradient, tg.stack([t1, t2]) "
        "instead of np.array([t1, t2]), or a tapegrad function (tg.*, or "
        "@tg.primitive for your own) where the gradient should flow"
    )


def _scipy_twin():
    """``call tapegrad.scipy.x instead ...`` when a scipy function is refusing a Tensor."""
    if "scipy" not in sys.modules:
        return ""
    try:
        from ..scipy._replacements import replacement
    except ImportError:  # scipy is an optional extra
        return ""
    twin = replacement(sys._getframe(3))  # the frame outside __array__
    return f"call {twin} instead: it records the gradient. " if twin else ""


def _restore(data, requires_grad, grad):
    tensor = Tensor(data, requires_grad=requires_grad)
    tensor.grad = None if grad is None else np.array(grad)
    return tensor


def _private_array(data, dtype=None):
    """An ndarray of ``data`` that nobody else can write."""
    array = as_array(data, dtype)
    if is_duck_array(array):
        # Dask arrays are lazy graphs; copy() is a new handle on the same graph,
        # so a later x[i] = v on the caller's handle cannot reach it.
        return array.copy()
    if type(array) is not np.ndarray:
        array = np.asarray(array)  # an ndarray subclass (matrix, memmap)
    if array is data or array.base is not None:
        # The caller keeps a way to write this memory (the array, a view, a
        # buffer, or the owner of a read-only array): copy it, keeping numpy's
        # memory order (reshape and ravel with order="K" read it).
        array = array.copy(order="K")
    return array


def new_tensor(data, node):
    # The per-op constructor: no validation, data is already a fresh ndarray.
    t = object.__new__(Tensor)
    t._data = data
    t._node = node
    t.grad = None
    return t


def is_duck_array(x):
    """An array of another NEP-18 library (a Dask array): kept as it is, never
    converted to numpy (which would compute it)."""
    return (
        hasattr(type(x), "__array_function__")
        and not isinstance(x, (np.ndarray, np.generic, Tensor))
        and hasattr(x, "dtype")
        and hasattr(x, "shape")
    )


def to_array(x):
    """``x`` as an engine array: ndarrays and duck arrays as they are, the rest
    (numpy scalars, Python numbers) as ndarrays."""
    if type(x) is np.ndarray:
        return x
    if isinstance(x, np.generic) or not is_duck_array(x):
        return np.asarray(x)
    return x


def as_array(x, dtype=None):
    """ndarray of ``x`` (Tensor, array, scalar or nested list). Python scalars -> float64.

    A duck array (Dask) stays one, cast lazily if ``dtype`` is given."""
    if isinstance(x, Tensor):
        return x._data if dtype is None else x._data.astype(dtype, copy=False)
    if isinstance(x, np.ndarray):
        return x if dtype is None else x.astype(dtype, copy=False)
    if is_duck_array(x):
        return x if dtype is None else x.astype(dtype)
    if isinstance(x, (bool, np.bool_)):
        return np.asarray(x, dtype=dtype)
    if isinstance(x, (int, float, list, tuple)):
        array = np.asarray(x, dtype=dtype)
        if dtype is None and array.dtype.kind in "iubO":  # 2**70 is an object array
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

    # _view is set only on the results of indexing and reshaping that numpy
    # would give as views (read with getattr, so other ops never pay for it).
    __slots__ = ("__weakref__", "_data", "_node", "_view", "grad")
    # Make ndarray binary operators defer to ours (ndarray + Tensor -> Tensor).
    __array_priority__ = 1000

    def __init__(self, data: ArrayLike, requires_grad: bool = False, dtype: DTypeLike = None):
        if isinstance(data, Tensor):  # its array is never written: share it
            array = data._data if dtype is None else data._data.astype(dtype)
        else:
            if isinstance(data, np.ma.MaskedArray):
                raise TypeError(
                    "Tensor of a numpy masked array: tapegrad would drop the mask and "
                    "compute on the hidden values. Pass a.filled(value) or "
                    "a.compressed(), or weight by ~a.mask explicitly"
                )
            array = _private_array(data, dtype)
        if tracing._threads_tracing and tracing.state.tracer is not None:
            # tg.compile: the copy is made again at each replay, from the current values.
            tracing.state.tracer.log(_private_array, (data, dtype), {}, array)
        self._data = array
        self._node = None
        self.grad = None
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _from_node(cls, data, node):
        return new_tensor(data, node)

    # -- attributes -----------------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The values, as a read-only ndarray. Assign a new array to replace them."""
        if tracing._threads_tracing:
            tracing.refuse_escape(self, ".data")
        return _lock(self._data)

    @data.setter
    def data(self, value):
        if self._node is not None and type(self._node) is not LeafNode:
            raise RuntimeError(
                "Tensor.data = ... on a tensor made by an operation: its recorded "
                "node would then differentiate values that were never computed. "
                "Assign to a leaf, or start a new one: t = tg.tensor(new_values)"
            )
        array = _private_array(value)
        if array.shape != self._data.shape:
            raise ValueError(
                f"Tensor.data: new value has shape {array.shape}, the tensor has "
                f"shape {self._data.shape}"
            )
        self._data = array.astype(self._data.dtype, copy=False)

    @property
    def requires_grad(self) -> bool:
        """Whether backward computes a gradient for this tensor (it is on a tape)."""
        return self._node is not None

    @requires_grad.setter
    def requires_grad(self, flag):
        if not flag:
            if self._node is not None and type(self._node) is not LeafNode:
                raise RuntimeError(
                    "requires_grad can only be switched off on a leaf tensor; "
                    "use .detach() for a copy off the tape"
                )
            self._node = None
            return
        if self._node is not None:
            return
        if self._data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating point and complex tensors can require grad; this tensor has "
                f"dtype {self._data.dtype}. Convert it first, e.g. "
                "tg.tensor(x, dtype=np.float64, requires_grad=True)"
            )
        self._node = LeafNode(self)

    @property
    def is_leaf(self) -> bool:
        """True for tensors not made by a recorded operation (their .grad is kept)."""
        return self._node is None or type(self._node) is LeafNode

    @property
    def shape(self) -> tuple[int, ...]:
        """Same as ``ndarray.shape``."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """Same as ``ndarray.ndim``."""
        return self._data.ndim

    @property
    def size(self) -> int:
        """Same as ``ndarray.size``."""
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        """Same as ``ndarray.dtype``."""
        return self._data.dtype

    def __len__(self):
        return len(self._data)

    def item(self) -> float | int | bool:
        """The single value as a Python number (raises inside a transform if it
        depends on the differentiated arguments)."""
        self._check_stays_on_tape(".item()")
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The values as a read-only ndarray (no copy)."""
        if tracing._threads_tracing:
            tracing.refuse_escape(self, ".numpy()")
        return _lock(self._data)

    def tolist(self) -> list | float | int | bool:
        """Same as ``ndarray.tolist``."""
        self._check_stays_on_tape(".tolist()")
        return self._data.tolist()

    def _check_stays_on_tape(self, what):
        # Inside tg.grad and friends, a Python number made from a value that
        # depends on the arguments cuts the graph: the gradient would miss it.
        # (Outside transforms this is allowed: logging a loss is normal.)
        if tracing._threads_tracing:
            tracing.refuse_escape(self, what)
        node = self._node
        if grad_mode.traced_inputs and node is not None and depends_on_traced_inputs(node):
            raise TypeError(
                f"{what} of a Tensor that depends on the arguments being differentiated "
                f"(shape {self.shape}, dtype {self.dtype}): the value would leave the "
                "tape and the gradient would silently miss it. Stay with tapegrad "
                "operations (tg.where instead of `if`, tg.maximum instead of max()), "
                "or use t.detach() / tg.stop_gradient(t) where no gradient should flow"
            )

    def detach(self) -> Tensor:
        """The same values, off the tape (shares the read-only array)."""
        return new_tensor(self._data, None)

    def __reduce__(self):
        # pickle, copy.copy and copy.deepcopy give a new leaf with the same
        # values, requires_grad and grad: never a handle on this tensor's
        # graph (a copied leaf node would send gradients to the original).
        grad = self.grad if not isinstance(self.grad, Tensor) else self.grad._data
        return (_restore, (np.array(self._data), self._node is not None, grad))

    def __array__(self, dtype=None, copy=None):
        if self._node is not None and grad_mode.enabled:
            raise TypeError(_conversion_refused(self))
        if tracing._threads_tracing:
            tracing.refuse_escape(self, "np.asarray()")
        if copy:
            return self._data.astype(dtype or self._data.dtype, copy=True)
        array = _lock(self._data)
        return array if dtype is None else array.astype(dtype, copy=False)

    def __float__(self):
        self._check_stays_on_tape("float()")
        return float(self._data)

    def __int__(self):
        self._check_stays_on_tape("int()")
        return int(self._data)

    def __bool__(self):
        self._check_stays_on_tape("bool()")
        return bool(self._data)

    def __index__(self):
        self._check_stays_on_tape("use as an index")
        return self._data.__index__()

    def __hash__(self):
        return id(self)

    def __repr__(self):
        if is_duck_array(self._data):  # never compute a lazy array to show it
            flag = ", requires_grad=True" if self._node is not None else ""
            return f"tensor({self._data!r}{flag})"
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extra = ""
        if self._data.dtype != np.float64:
            extra += f", dtype={self._data.dtype}"
        if self._node is not None:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    __str__ = __repr__

    # -- seeing the tape ------------------------------------------------------

    @property
    def node(self):
        """The node that made this tensor (``.primitive``, ``.parents``, ``.sequence``;
        ``.origin`` under ``tg.trace_origins()``), a leaf node, or None off the tape."""
        return self._node

    def register_hook(self, hook: Callable[[Any], Any]) -> HookHandle:
        """Call ``hook(grad)`` with the gradient w.r.t. this tensor during backward.

        The hook may return a replacement (same shape) or None. Returns a handle
        whose ``.remove()`` unregisters it, as in PyTorch.
        """
        node = self._needs_node("register_hook")
        if node.hooks is None:
            node.hooks = []
        node.hooks.append(hook)
        return HookHandle(node.hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always do)."""
        node = self._needs_node("retain_grad")
        if type(node) is LeafNode or self.retains_grad:
            return
        if node.hooks is None:
            node.hooks = []
        node.hooks.append(RetainGrad(self))

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor."""
        hooks = self._node.hooks if self._node is not None else None
        return bool(hooks) and any(type(h) is RetainGrad and h.tensor() is self for h in hooks)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self (PyTorch's spelling)."""
        self.requires_grad = requires_grad
        return self

    def _needs_node(self, what):
        if self._node is None:
            raise RuntimeError(
                f"{what}() on a tensor that does not require grad: no gradient will "
                "reach it (create it with requires_grad=True, or compute it from one)"
            )
        return self._node

    # -- backward ----------------------------------------------------------

    def backward(
        self,
        grad: ArrayLike | Tensor | None = None,
        retain_graph: bool = False,
        create_graph: bool = False,
        *,
        gradient: ArrayLike | Tensor | None = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf reached.

        ``grad`` is the cotangent (required unless self has one element);
        ``gradient=`` is the same, under PyTorch's name.
        Gradients add up across calls, as in PyTorch: reset with
        ``x.grad = None`` (or ``optimizer.zero_grad()``) between steps.
        ``create_graph=True`` records the backward pass, so ``x.grad`` is a
        Tensor that can be differentiated again.
        """
        if gradient is not None:
            if grad is not None:
                raise TypeError("backward(): give the cotangent once, as grad or gradient")
            grad = gradient
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
            if self._data.dtype.kind == "c":
                raise TypeError(
                    f"backward() of a complex output (dtype {self._data.dtype}): a gradient "
                    "needs a real scalar loss. Reduce to one, e.g. tg.sum(tg.abs(z) ** 2) or "
                    "tg.real(z), or pass the cotangent as backward(gradient=...)"
                )
            cotangent = np.ones_like(self._data)
        else:
            cotangent = grad if isinstance(grad, Tensor) else as_array(grad)
            if cotangent.shape != self._data.shape:
                raise ValueError(
                    f"backward(): grad has shape {cotangent.shape}, the output has "
                    f"shape {self._data.shape}"
                )
            if cotangent.dtype.kind not in "fc" or (
                cotangent.dtype.kind == "c" and self._data.dtype.kind == "f"
            ):
                raise TypeError(
                    f"backward(): grad must be floating point (complex for a complex output), "
                    f"got {cotangent.dtype} for an output of dtype {self._data.dtype}"
                )
            if not isinstance(cotangent, Tensor):
                cotangent = cotangent.astype(self._data.dtype, copy=False)
        from .backward import run_backward  # backward.py imports this module

        run_backward(
            [self._node], [cotangent], retain_graph=retain_graph, create_graph=create_graph
        )


class HookHandle:
    """Returned by ``Tensor.register_hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("hook", "hooks")

    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)
