"""What the tape is made of: grad mode, nodes, and where a node was recorded.

Nothing here knows about particular operations. A node
remembers the primitive that made it, the parent nodes of its positional
inputs, the input values and the output. Per-backward state (cotangents in
flight) is not stored here: it lives in the walk (see ``backward.py``).
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
import weakref
from typing import ClassVar

import numpy as np

_sequence = itertools.count()


class _GradMode(threading.local):
    # Class attributes are the defaults every new thread sees.
    enabled = True
    # How many tg.grad / tg.vjp traces are running in this thread: inside one,
    # a transform records its own backward so the outer one can differentiate it.
    transform_depth = 0
    # The input nodes of each running transform in this thread (innermost
    # last): float(t) of a Tensor reached from them would cut their graph.
    traced_inputs = ()

    def __init__(self):
        self.saved = []  # per thread: the modes that no_grad/enable_grad replaced


grad_mode = _GradMode()


def depends_on_traced_inputs(node):
    """Is ``node`` computed from the arguments of a running transform (this thread)?"""
    inputs = set().union(*grad_mode.traced_inputs)
    if not inputs:
        return False
    floor = min(n.sequence for n in inputs)  # nothing older can depend on them
    seen, stack = {node}, [node]
    while stack:
        current = stack.pop()
        if current in inputs:
            return True
        for parent in current.parents:
            if parent is not None and parent.sequence >= floor and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return False


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are recorded (per thread)."""
    return grad_mode.enabled


class _SetGradEnabled(contextlib.ContextDecorator):
    _value = True

    # The saved modes live in the thread's own state, so one instance (a
    # decorator) can be entered by several threads and recursively.
    def __enter__(self):
        grad_mode.saved.append(grad_mode.enabled)
        grad_mode.enabled = self._value
        return self

    def __exit__(self, *exc):
        grad_mode.enabled = grad_mode.saved.pop()
        return False


class no_grad(_SetGradEnabled):  # noqa: N801  (named like torch.no_grad)
    """Context manager and decorator: record nothing in this thread."""

    _value = False


class enable_grad(_SetGradEnabled):  # noqa: N801
    """Context manager and decorator: record again inside a ``no_grad`` block."""

    _value = True


class Node:
    """One recorded application of a primitive.

    ``ans`` is the output array, or a tuple of arrays for a primitive with
    several outputs (whose Tensors each point at an :class:`OutputNode`).
    """

    __slots__ = (
        "__weakref__",
        "ans",
        "hooks",
        "kwargs",
        "parents",
        "primitive",
        "residuals",
        "sequence",
        "values",
    )

    def __init__(self, primitive, parents, values, kwargs, ans, residuals=None):
        self.primitive = primitive
        self.parents = parents  # tuple: parent node or None, one per positional input
        self.values = values  # tuple of input arrays / constants; None once freed
        self.kwargs = kwargs
        self.ans = ans
        self.residuals = residuals
        self.sequence = next(_sequence)
        self.hooks = None  # functions of the cotangent (Tensor.register_hook)

    @property
    def needs_grad(self):
        """One bool per positional input: does a gradient have to flow there?"""
        return tuple(p is not None for p in self.parents)

    def __repr__(self):
        return f"<Node {self.primitive.name} #{self.sequence}>"


class LeafNode(Node):
    """A tensor the user asked gradients for (``requires_grad=True``)."""

    __slots__ = ("leaf",)

    def __init__(self, tensor):
        super().__init__(None, (), None, None, None)
        self.leaf = weakref.ref(tensor)  # the user drops the leaf: nobody reads .grad

    def __repr__(self):
        return f"<Node leaf #{self.sequence}>"


class OutputNode(Node):
    """Output ``index`` of a node with several outputs.

    Backward hands its cotangent to ``node`` in slot ``index``; the rule of a
    multi-output primitive sees one cotangent per output (None where that
    output did not reach the loss).
    """

    __slots__ = ("index", "node")

    def __init__(self, node, index, ans):
        super().__init__(None, (node,), None, None, ans)
        self.node = node
        self.index = index

    def __repr__(self):
        return f"<Node {self.node.primitive.name}[{self.index}] #{self.sequence}>"


class RetainGrad:
    """The hook ``Tensor.retain_grad`` adds: the walk stores the cotangent in ``.grad``."""

    __slots__ = ("tensor",)

    def __init__(self, tensor):
        self.tensor = weakref.ref(tensor)


def origin_of_caller():
    """``file:line in function`` of the first frame outside tapegrad."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("tapegrad"):
        frame = frame.f_back
    if frame is None:
        return "unknown"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


class TracedNode(Node):
    """A Node that remembers where in user code it was recorded (debugging)."""

    __slots__ = ("origin",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.origin = origin_of_caller()


def _holds_nan(value):
    if isinstance(value, tuple):
        return any(_holds_nan(v) for v in value)
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind == "f" or kind == "c":
        return bool(np.isnan(value).any())
    return isinstance(value, float) and value != value


def _shapes(values):
    return ", ".join(
        f"{v.dtype}{list(v.shape)}" if hasattr(v, "dtype") else type(v).__name__ for v in values
    )


class AnomalyNode(TracedNode):
    """A traced Node that refuses to be the first to make a NaN (``detect_anomaly``)."""

    __slots__ = ()

    def __init__(self, primitive, parents, values, kwargs, ans, residuals=None):
        super().__init__(primitive, parents, values, kwargs, ans, residuals)
        if _holds_nan(ans) and not any(_holds_nan(v) for v in values):
            raise FloatingPointError(
                f"detect_anomaly: primitive {primitive.name!r} returned NaN from inputs "
                f"without NaN (inputs: {_shapes(values)}), called at {self.origin}"
            )


class NodeClassSwitch(contextlib.ContextDecorator):
    """While any thread is inside one of these, the recorder builds ``node_class``.

    The recorder looks its ``Node`` up in its module globals at each op, so
    the switch costs nothing when off. Counts (not saved values) make
    overlapping uses in several threads end with the plain Node again; the
    most thorough class asked for wins (anomaly checks also trace origins).
    """

    _lock = threading.Lock()
    active: ClassVar[dict] = {}  # node class -> how many switches to it are open

    def __init__(self, node_class=TracedNode):
        self.node_class = node_class

    @classmethod
    def count(cls, node_class):
        return cls.active.get(node_class, 0)

    def _install(self):
        from . import recorder  # the recorder imports this module

        for node_class in (AnomalyNode, TracedNode):
            if NodeClassSwitch.active.get(node_class, 0) > 0:
                recorder.Node = node_class
                return
        recorder.Node = Node

    def __enter__(self):
        with NodeClassSwitch._lock:
            active = NodeClassSwitch.active
            active[self.node_class] = active.get(self.node_class, 0) + 1
            self._install()
        return self

    def __exit__(self, *exc):
        with NodeClassSwitch._lock:
            NodeClassSwitch.active[self.node_class] -= 1
            self._install()
        return False


class trace_origins(NodeClassSwitch):  # noqa: N801
    """Record where each node is made, so backward errors can point there.

    ``with tg.trace_origins(): loss = model(x); loss.backward()``. It costs a
    stack walk per recorded op, so it is off by default; it applies to every
    thread while active.
    """

    def __init__(self):
        super().__init__(TracedNode)


class detect_anomaly(NodeClassSwitch):  # noqa: N801
    """Raise ``FloatingPointError`` at the first NaN a primitive or a rule makes.

    Forward: the first primitive whose output holds a NaN while its inputs
    hold none, named with its input shapes and the line of user code that
    called it. Backward: the first VJP rule that returns a NaN cotangent from
    a NaN-free one (a zero cotangent masked by the engine is not an anomaly),
    named with the line that made its node. Context manager and decorator,
    like ``torch.autograd.detect_anomaly``; off by default, free when off,
    a check per op when on. It applies to every thread while active.
    """

    def __init__(self):
        super().__init__(AnomalyNode)


def add_note(error, note):
    if hasattr(error, "add_note"):
        error.add_note(note)
    else:  # Python 3.10: the attribute PEP 678 defines, without the display
        error.__notes__ = [*getattr(error, "__notes__", ()), note]
