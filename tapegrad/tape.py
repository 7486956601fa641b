"""The tape: recorded nodes, grad mode, and the reverse walk.

Nothing here knows about particular operations. A node remembers which
primitive made it, the parent nodes of its positional inputs, the input
values and the output. Backward visits reachable nodes in decreasing
sequence order (the tape read backwards) with an explicit stack, so graph
depth is bounded by memory, never by Python's recursion limit.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import sys
import threading
import weakref

import numpy as np

_sequence = itertools.count()


class _GradMode(threading.local):
    # Class attributes are the defaults every new thread sees.
    enabled = True
    # How many tg.grad / tg.vjp traces are running: inside one, a transform
    # must record its own backward so that the outer one can differentiate it.
    transform_depth = 0


grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are recorded (per thread)."""
    return grad_mode.enabled


class _SetGradEnabled(contextlib.ContextDecorator):
    _value = True

    def __enter__(self):
        # A stack, so one instance may be re-entered (nested or recursive use).
        self.__dict__.setdefault("_saved", []).append(grad_mode.enabled)
        grad_mode.enabled = self._value
        return self

    def __exit__(self, *exc):
        grad_mode.enabled = self._saved.pop()
        return False


class no_grad(_SetGradEnabled):  # noqa: N801  (named like torch.no_grad)
    """Context manager and decorator: record nothing in this thread."""

    _value = False


class enable_grad(_SetGradEnabled):  # noqa: N801
    """Context manager and decorator: record again inside a ``no_grad`` block."""

    _value = True


class Node:
    """One recorded application of a primitive (or a leaf, when primitive is None)."""

    __slots__ = (
        "__weakref__",
        "ans",
        "cotangent",
        "kwargs",
        "leaf",
        "parents",
        "primitive",
        "residuals",
        "sequence",
        "values",
    )

    def __init__(self, primitive, parents, values, kwargs, ans, residuals=None):
        self.primitive = primitive
        self.parents = parents  # tuple: parent Node or None, one per positional input
        self.values = values  # tuple of ndarrays / constants; None once freed
        self.kwargs = kwargs
        self.ans = ans
        self.residuals = residuals
        self.sequence = next(_sequence)
        self.cotangent = None
        self.leaf = None

    def __repr__(self):
        kind = "leaf" if self.primitive is None else self.primitive.name
        return f"<Node {kind} #{self.sequence}>"


class TracedNode(Node):
    """A Node that remembers where in user code it was recorded (debugging)."""

    __slots__ = ("origin",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__", "").startswith("tapegrad"):
            frame = frame.f_back
        self.origin = (
            f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
            if frame is not None
            else "unknown"
        )


class trace_origins(contextlib.ContextDecorator):  # noqa: N801
    """Record where each node is made, so backward errors can point there.

    ``with tg.trace_origins(): loss = model(x); loss.backward()``. It costs a
    stack walk per recorded op, so it is off by default; it applies to every
    thread while active.
    """

    # The recording code looks Node up in tapegrad.primitive's globals at
    # each op, so swapping that one name switches tracing on and off.
    def __enter__(self):
        recorder = sys.modules[f"{__package__}.primitive"]
        self.__dict__.setdefault("_saved", []).append(recorder.Node)
        recorder.Node = TracedNode
        return self

    def __exit__(self, *exc):
        sys.modules[f"{__package__}.primitive"].Node = self._saved.pop()
        return False


def leaf_node(tensor) -> Node:
    node = Node(None, (), None, None, None)
    node.leaf = weakref.ref(tensor)
    return node


def _reachable(roots):
    """Nodes reachable from ``roots``, latest first (iterative DFS, then sort).

    Decreasing sequence is a valid reverse topological order: a node is
    always recorded after its parents.
    """
    seen = set(roots)
    stack = list(roots)
    while stack:
        for parent in stack.pop().parents:
            if parent is not None and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return sorted(seen, key=_by_sequence, reverse=True)


_by_sequence = operator.attrgetter("sequence")


FREED_MESSAGE = (
    "backward through a graph whose saved values were already freed: the "
    "{name} node (#{seq}) was used by an earlier backward(). Pass "
    "retain_graph=True to the first backward() to differentiate the same graph "
    "twice, or recompute the forward pass."
)


def run_backward(roots, cotangents, *, targets=None, retain_graph=False, create_graph=False):
    """Propagate ``cotangents`` from ``roots`` through the tape.

    With ``targets`` (a sequence of nodes) the cotangents that reach them are
    returned, in order, and no leaf ``.grad`` is touched; otherwise leaves
    accumulate into ``.grad``. ``create_graph`` records the backward pass
    itself (rules see Tensors), which implies keeping the graph.
    """
    # One backward at a time: threads that share parameters share their leaf
    # nodes, whose cotangent slots and .grad accumulate by read-modify-write.
    # Reentrant, because a rule may itself run a (nested) backward.
    with _backward_lock:
        return _run_backward(roots, cotangents, targets, retain_graph, create_graph)


_backward_lock = threading.RLock()


def _run_backward(roots, cotangents, targets, retain_graph, create_graph):
    from .tensor import Tensor  # tape.py stays import-light: Tensor imports us

    retain_graph = retain_graph or create_graph
    nodes = _reachable(roots)
    target_set = None if targets is None else set(targets)
    collected = {}
    # ids of arrays that leaves (or the caller) hold: never hand one out twice.
    handed_out = {id(c) for c in cotangents}
    for root, cotangent in zip(roots, cotangents):
        root.cotangent = _accumulate(root.cotangent, cotangent)

    saved_mode = grad_mode.enabled
    grad_mode.enabled = create_graph
    # Rules may meet 0/0 or 0*inf where a zero cotangent makes the result
    # irrelevant (the engine zeroes those); warnings there would be noise.
    floating_point = np.seterr(divide="ignore", invalid="ignore", over="ignore")
    ndarray, vdot = np.ndarray, np.vdot
    node = None
    try:
        for node in nodes:
            g = node.cotangent
            if g is None:
                continue
            node.cotangent = None
            if target_set is not None and node in target_set:
                collected[node] = _accumulate(collected.get(node), g)
                continue
            prim = node.primitive
            if prim is None:
                if target_set is None:
                    _accumulate_leaf(node, g, handed_out)
                continue
            values = node.values
            if values is None:
                raise RuntimeError(FREED_MESSAGE.format(name=prim.name, seq=node.sequence))
            if create_graph:
                cts = _call_rule_on_tensors(node, g, Tensor)
            elif node.kwargs or prim.residuals or prim.rule_takes_needs:
                cts = prim.call_vjp(g, node.ans, values, node.kwargs, node.residuals, node.parents)
            else:  # the common case, without call_vjp's extra frame
                cts = prim.vjp(g, node.ans, *values)
                if type(cts) is not tuple or len(cts) != len(values):
                    prim.call_vjp(g, node.ans, values, node.kwargs, None)  # raises
            if not retain_graph:
                node.values = node.ans = node.residuals = None
            probes_nan = prim.probes_nan
            for parent, value, ct in zip(node.parents, values, cts):
                if parent is None or ct is None:
                    continue
                if type(ct) is not ndarray and type(ct) is not Tensor:
                    ct = np.asarray(ct)  # 0-d ufunc results are numpy scalars
                if type(ct) is ndarray and ct.shape == value.shape and ct.dtype == value.dtype:
                    # The common case, inlined: nothing to unbroadcast or cast.
                    if probes_nan:
                        # _has_nan, inlined: this runs once per elementwise node.
                        ndim = ct.ndim
                        if ndim == 0:
                            nan_probe = ct.item()  # a Python float: the cheapest probe
                        else:
                            nan_probe = ct.dot(ct) if ndim == 1 else vdot(ct, ct)
                        if nan_probe != nan_probe:
                            ct = prim.fit_cotangent(ct, g, value)
                else:
                    ct = prim.fit_cotangent(ct, g, value)
                pending = parent.cotangent
                parent.cotangent = ct if pending is None else pending + ct
    except BaseException as error:
        # Say which rule was running: the traceback alone shows only numpy.
        prim = node.primitive if node is not None else None
        if prim is not None:
            note = f"(raised during backward, in the VJP rule of {prim.name!r}"
            origin = getattr(node, "origin", None)
            hint = "; run under tg.trace_origins() to see where that node was made"
            _add_note(error, note + (f", node made at {origin})" if origin else hint + ")"))
        for node in nodes:  # leave no stale cotangents for the next backward
            node.cotangent = None
        raise
    finally:
        np.seterr(**floating_point)
        grad_mode.enabled = saved_mode
    if targets is not None:
        return [collected.get(t) for t in targets]
    return None


def _call_rule_on_tensors(node, g, Tensor):
    wrap = Tensor._from_node
    values = tuple(wrap(v, p) if p is not None else v for v, p in zip(node.values, node.parents))
    ans = wrap(node.ans, node)
    if type(g) is not Tensor:
        g = wrap(np.asarray(g), None)
    # Rules rebuild their residuals from Tensor inputs, so the rebuilt values
    # are on the tape and the rule is differentiable again.
    return node.primitive.call_vjp(g, ans, values, node.kwargs, None, node.parents)


def _add_note(error, note):
    if hasattr(error, "add_note"):
        error.add_note(note)
    else:  # Python 3.10: the attribute PEP 678 defines, without the display
        error.__notes__ = [*getattr(error, "__notes__", ()), note]


def _has_nan(array):
    # The sum of squares is NaN exactly when some element is NaN; one BLAS
    # pass, much cheaper than isnan(array).any() on small arrays.
    if array.ndim == 0:
        value = array.item()
        return value != value
    square_sum = array.dot(array) if array.ndim == 1 else np.vdot(array, array)
    return square_sum != square_sum


def _accumulate(total, more):
    return more if total is None else total + more


def _accumulate_leaf(node, g, handed_out):
    tensor = node.leaf()
    if tensor is None:  # the user dropped the leaf: nobody can read its .grad
        return
    if tensor.grad is not None:
        # Out of place: the user may hold the previous .grad array.
        tensor.grad = tensor.grad + g
        return
    if type(g) is np.ndarray and (
        id(g) in handed_out or not g.flags.writeable or not g.flags.owndata
    ):
        # .grad must be the leaf's own array: a rule may pass the same
        # cotangent to two leaves (x + y), or a read-only broadcast view, or
        # the caller's own cotangent array. `x.grad *= 0.5` must touch x only.
        g = g.copy()
    handed_out.add(id(g))
    tensor.grad = g
