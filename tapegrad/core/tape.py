"""What the tape is made of: grad mode, nodes, and where a node was recorded.

Nothing here knows about particular operations, or about arrays. A node
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

_sequence = itertools.count()


class _GradMode(threading.local):
    # Class attributes are the defaults every new thread sees.
    enabled = True
    # How many tg.grad / tg.vjp traces are running in this thread: inside one,
    # a transform records its own backward so the outer one can differentiate it.
    transform_depth = 0
    # The tape position where the innermost running transform started: a node
    # at or after it depends on that transform's arguments (or on nothing
    # recorded before), so float(t) on it would cut the transform's graph.
    trace_start = -1

    def __init__(self):
        self.saved = []  # per thread: the modes that no_grad/enable_grad replaced


grad_mode = _GradMode()


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


class NodeClassSwitch(contextlib.ContextDecorator):
    """While any thread is inside one of these, the recorder builds ``node_class``.

    The recorder looks its ``Node`` up in its module globals at each op, so
    the switch costs nothing when off. A count (not a saved value) makes
    overlapping uses in several threads end with the plain Node again.
    """

    _lock = threading.Lock()
    _active = 0

    def __init__(self, node_class=TracedNode):
        self.node_class = node_class

    def _install(self, node_class):
        from . import recorder  # the recorder imports this module

        recorder.Node = node_class

    def __enter__(self):
        with NodeClassSwitch._lock:
            NodeClassSwitch._active += 1
            self._install(self.node_class)
        return self

    def __exit__(self, *exc):
        with NodeClassSwitch._lock:
            NodeClassSwitch._active -= 1
            if NodeClassSwitch._active == 0:
                self._install(Node)
        return False


class trace_origins(NodeClassSwitch):  # noqa: N801
    """Record where each node is made, so backward errors can point there.

    ``with tg.trace_origins(): loss = model(x); loss.backward()``. It costs a
    stack walk per recorded op, so it is off by default; it applies to every
    thread while active.
    """

    def __init__(self):
        super().__init__(TracedNode)


def add_note(error, note):
    if hasattr(error, "add_note"):
        error.add_note(note)
    else:  # Python 3.10: the attribute PEP 678 defines, without the display
        error.__notes__ = [*getattr(error, "__notes__", ()), note]
