"""Backward: the tape walked in reverse, with every cotangent chore in one place.

``run_backward`` collects the nodes reachable from the roots (no recursion),
visits them in decreasing sequence order (a node is recorded after its
parents, so this is the tape read backwards), calls each node's VJP rule
and fits what it returns to the input it belongs to: unbroadcast, dtype
cast, NaN masking of zero cotangents, validation (``fit_cotangent``; the
common case is inlined in the loop, next to it).

The cotangents in flight live in a dict owned by the walk, not on the
nodes, so independent graphs can run backward in several threads at once.
A backward is all or nothing: leaves' ``.grad`` are written, and the graph
freed, only after every rule has run. So a rule that raises leaves both as
they were, and the backward can be retried.
"""

from __future__ import annotations

import operator
import threading

import numpy as np

from . import tracing
from .tape import AnomalyNode, NodeClassSwitch, OutputNode, RetainGrad, add_note, grad_mode
from .tensor import Tensor, is_duck_array, new_tensor, to_array

ndarray = np.ndarray
generic = np.generic
asarray = np.asarray
# Only leaf accumulation is serialized: threads that share parameters add
# into the same .grad by read-modify-write. Rules run outside the lock, so a
# rule that runs another backward (in any thread) cannot deadlock.
_leaf_lock = threading.Lock()

FREED_MESSAGE = (
    "backward through a graph whose saved values were already freed: the "
    "{name} node (#{seq}) was used by an earlier backward(). Pass "
    "retain_graph=True to the first backward() to differentiate the same graph "
    "twice, or recompute the forward pass."
)


def run_backward(roots, cotangents, *, targets=None, retain_graph=False, create_graph=False):
    """Propagate ``cotangents`` from ``roots`` through the tape.

    With ``targets`` (a sequence of nodes) the walk visits only nodes between
    the roots and the targets, returns the cotangents that reach each target
    (None where none does) and touches no ``.grad``; a transform thus never
    consumes a graph it merely closes over. Otherwise leaves accumulate into
    ``.grad``. ``create_graph`` records the backward pass itself (rules see
    Tensors), which implies keeping the graph.
    """
    if tracing._threads_tracing and tracing.state.tracer is not None:
        # tg.compile: the same walk, written down as a program (tracing.py).
        return tracing.traced_backward(
            tracing.state.tracer, roots, cotangents, targets, create_graph
        )
    nodes, relevant, stops = _reachable(roots, targets)
    pending = {}
    for root, cotangent in zip(roots, cotangents):
        pending[root] = _add(pending.get(root), cotangent)
    saved_mode = grad_mode.enabled
    grad_mode.enabled = create_graph
    retained = []  # (tensor, cotangent) for retain_grad(), written after the walk
    try:
        # Rules may meet 0/0 or 0*inf where a zero cotangent makes the result
        # irrelevant (the walk zeroes those); warnings there would be noise.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            arrived = _walk(nodes, pending, relevant, stops, create_graph, retained)
    finally:
        grad_mode.enabled = saved_mode
    if not (retain_graph or create_graph):
        if stops is None:
            for node in nodes:  # (a leaf's are None already)
                node.values = node.ans = node.residuals = None
        else:  # targets are where the walk stopped: not its to free
            for node in nodes:
                if node.primitive is not None and node not in stops:
                    node.values = node.ans = node.residuals = None
    handed_out = {id(c) for c in cotangents}  # never hand the caller's array back
    if targets is not None:
        return [_own(arrived.get(t), handed_out) for t in targets]
    with _leaf_lock:
        for tensor, g in retained:
            tensor.grad = _own(g, handed_out) if tensor.grad is None else _add(tensor.grad, g)
        for node, g in arrived.items():
            tensor = node.leaf()
            if tensor is None:  # the user dropped the leaf: nobody can read its .grad
                continue
            if tensor.grad is None:
                tensor.grad = _own(g, handed_out)
            else:  # out of place: the user may hold the previous .grad array
                tensor.grad = _add(tensor.grad, g)
    return None


def _walk(nodes, pending, relevant, stops, create_graph, retained):
    arrived = {}  # leaf (or target) node -> the total cotangent that reached it
    vdot = np.vdot
    anomalies = NodeClassSwitch.count(AnomalyNode) > 0  # detect_anomaly()
    # One flag for the per-cotangent checks the plain backward() never needs.
    careful = relevant is not None or anomalies
    node = None
    try:
        for node in nodes:
            g = pending.pop(node, None)
            if g is None:
                continue
            if node.hooks is not None:
                g = _run_hooks(node, g, retained)
            prim = node.primitive
            if stops is not None and node in stops:
                arrived[node] = g  # a target: its cotangent is the result
                continue
            if prim is None:
                if type(node) is OutputNode:
                    _route_to_output_slot(node, g, pending)
                else:
                    arrived[node] = g
                continue
            values = node.values
            if values is None:
                raise RuntimeError(FREED_MESSAGE.format(name=prim.name, seq=node.sequence))
            if create_graph:
                cts = _call_rule_on_tensors(node, g)
            elif node.kwargs or prim.residuals:
                cts = call_rule(node, g, node.ans, values, node.residuals)
            elif prim.vjp_needs_grad:  # x * 0.9, x @ w: skip what a constant would get
                parents = node.parents
                if len(parents) == 2:  # needs_grad(parents), inlined for the operators
                    needs = (parents[0] is not None, parents[1] is not None)
                else:
                    needs = needs_grad(parents)
                cts = prim.vjp(g, node.ans, *values, needs_grad=needs)
            else:  # the common case, without call_rule's extra frame
                cts = prim.vjp(g, node.ans, *values)
            if type(cts) is not tuple or len(cts) != len(values):
                _bad_rule_result(prim, cts, len(values))
            probes_nan = prim.probes_nan
            for parent, value, ct in zip(node.parents, values, cts):
                if parent is None or ct is None:
                    continue
                if careful and relevant is not None and parent not in relevant:
                    continue
                if type(ct) is not ndarray and type(ct) is not Tensor:
                    # 0-d ufunc results are numpy scalars (a Dask array stays one)
                    ct = asarray(ct) if isinstance(ct, generic) else to_array(ct)
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
                            ct = fit_cotangent(prim, ct, g, value)
                else:
                    ct = fit_cotangent(prim, ct, g, value)
                if careful and anomalies:
                    _check_anomaly(node, g, ct)
                previous = pending.get(parent)
                if previous is None:
                    pending[parent] = ct
                else:  # _add, inlined: a shared weight gets one per use
                    total = previous + ct
                    if type(total) is not ndarray and type(total) is not Tensor:
                        total = asarray(total) if isinstance(total, generic) else to_array(total)
                    pending[parent] = total
    except BaseException as error:
        # Say which rule was running: the traceback alone shows only numpy.
        prim = node.primitive if node is not None else None
        if prim is not None:
            note = f"(raised during backward, in the VJP rule of {prim.name!r}"
            origin = getattr(node, "origin", None)
            hint = "; run under tg.trace_origins() to see where that node was made"
            add_note(error, note + (f", node made at {origin})" if origin else hint + ")"))
        raise
    return arrived


def _run_hooks(node, g, retained):
    # Tensor.register_hook / retain_grad: each hook sees the total cotangent
    # of its tensor and may replace it.
    keep = None
    for hook in node.hooks:
        if type(hook) is RetainGrad:
            keep = hook.tensor()  # stored after every hook ran, as in PyTorch
            continue
        result = hook(g)
        if result is not None:
            shape = np.shape(result)
            if shape != np.shape(g):
                raise ValueError(
                    f"a hook registered on a tensor of shape {np.shape(g)} returned a "
                    f"gradient of shape {shape}; hooks must keep the shape"
                )
            g = result if type(result) is Tensor else to_array(result)
    if keep is not None:
        retained.append((keep, g))
    return g


def _check_anomaly(node, g, ct):
    data = ct._data if type(ct) is Tensor else ct
    if not has_nan(data):
        return
    incoming = [c._data if type(c) is Tensor else c for c in (g if type(g) is tuple else (g,))]
    if any(c is not None and has_nan(to_array(c)) for c in incoming):
        return  # NaN in, NaN out: the anomaly is further up
    origin = getattr(node, "origin", "unknown (recorded outside detect_anomaly)")
    raise FloatingPointError(
        f"detect_anomaly: the VJP rule of {node.primitive.name!r} returned a NaN cotangent "
        f"from a NaN-free one (input shapes: {[np.shape(v) for v in node.values]}); "
        f"its node was made at {origin}"
    )


def _route_to_output_slot(output, g, pending):
    # Output i of a multi-output node: its rule gets a tuple, one cotangent
    # per output (rebuilt per arrival: these nodes are rare, the loop is not).
    node, i = output.node, output.index
    slots = pending.get(node) or (None,) * len(node.ans)
    pending[node] = (*slots[:i], _add(slots[i], g), *slots[i + 1 :])


def call_rule(node, g, ans, values, residuals):
    """The rule of ``node``'s primitive, with its options, needs_grad and residuals."""
    prim = node.primitive
    kwargs = node.kwargs
    if prim.vjp_needs_grad or prim.residuals:
        kwargs = dict(kwargs)
        if prim.vjp_needs_grad:
            kwargs["needs_grad"] = needs_grad(node.parents)
        if prim.residuals:
            kwargs["residuals"] = residuals
    return prim.vjp(g, ans, *values, **kwargs)


def needs_grad(parents):
    """One bool per input: does a gradient have to flow there?"""
    return tuple([p is not None for p in parents])


def _call_rule_on_tensors(node, g):
    # create_graph: the rule runs on Tensors and is recorded, so the gradient
    # it returns can be differentiated again.
    values = tuple(
        new_tensor(v, p) if p is not None else v for v, p in zip(node.values, node.parents)
    )
    ans = node.ans
    if type(ans) is tuple:
        # Fresh output nodes route a second-order cotangent to the same slots.
        ans = tuple(
            new_tensor(a, OutputNode(node, i, a) if a.dtype.kind in "fc" else None)
            for i, a in enumerate(ans)
        )
        g = tuple(None if c is None else _as_tensor(c) for c in g)
    else:
        ans = new_tensor(ans, node)
        g = _as_tensor(g)
    # Rules rebuild their residuals from Tensor inputs, so the rebuilt values
    # are on the tape and the rule is differentiable again.
    return call_rule(node, g, ans, values, None)


def _as_tensor(g):
    return g if type(g) is Tensor else new_tensor(to_array(g), None)


def fit_cotangent(prim, ct, g, value):
    """Make ``ct`` match ``value`` in shape and dtype, or raise naming the rule."""
    if type(ct) is Tensor and ct._node is None:
        # A constant Tensor (a primitive called inside a first-order rule):
        # its array is the cotangent.
        ct = ct._data
    if type(ct) is Tensor:
        data = ct._data
    else:
        if type(ct) is not ndarray:
            ct = to_array(ct)  # 0-d ufunc results are numpy scalars
        data = ct
    kind = data.dtype.kind
    if kind != "f" and kind != "c":
        raise TypeError(
            f"the VJP rule of {prim.name!r} returned a cotangent of dtype {data.dtype} "
            f"for an input of dtype {np.result_type(value)}; cotangents must be floating "
            "point or complex"
        )
    # (A lazy Dask array always takes the lazy where: probing would compute it.)
    if prim.probes_nan and data.shape == np.shape(g) and (is_duck_array(data) or has_nan(data)):
        # A zero cotangent means "this element does not reach the loss": its
        # contribution is exactly zero even where the local partial is
        # infinite or NaN (sqrt at 0 under a mask, log 0 in an unused branch).
        g_data = g._data if type(g) is Tensor else g
        ct = np.where(g_data == 0, 0.0, ct).astype(data.dtype, copy=False)
    shape = np.shape(value)
    if data.shape != shape:
        ct = _unbroadcast(ct, data.shape, shape, prim.name)
    dtype = value.dtype if hasattr(value, "dtype") else np.result_type(value)
    if dtype.kind != "f" and dtype.kind != "c":
        dtype = np.dtype(np.float64)
    if kind == "c" and dtype.kind == "f":
        # The convention (docs/conventions.md): z.grad = dL/dRe(z) + 1j dL/dIm(z),
        # so a real input, which has no imaginary direction, gets the real part.
        ct = np.real(ct)
        if type(ct) is not ndarray and type(ct) is not Tensor:
            ct = to_array(ct)
    if ct.dtype != dtype:
        ct = ct.astype(dtype)
    return ct


def _unbroadcast(ct, ct_shape, shape, name):
    """Sum a cotangent of a broadcast shape back to the input's ``shape``."""
    lead = len(ct_shape) - len(shape)
    if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, ct_shape[lead:], strict=True)):
        raise ValueError(
            f"the VJP rule of {name!r} returned a cotangent of shape {ct_shape} "
            f"for an input of shape {shape}; it must be that shape or broadcast to it"
        )
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and ct_shape[lead + i] != 1
    )
    if axes:
        ct = np.sum(ct, axis=axes)
        if type(ct) is not Tensor and type(ct) is not ndarray:
            ct = to_array(ct)  # a full reduction gives a numpy scalar
    if np.shape(ct) != shape:
        ct = np.reshape(ct, shape)
    return ct


def has_nan(array):
    # The sum of squares is NaN exactly when some element is NaN; one BLAS
    # pass, much cheaper than isnan(array).any() on small arrays.
    if array.ndim == 0:
        value = array.item()
        return value != value
    square_sum = array.dot(array) if array.ndim == 1 else np.vdot(array, array)
    return square_sum != square_sum


def _bad_rule_result(prim, cts, n_inputs):
    got = type(cts).__name__ if type(cts) is not tuple else f"{len(cts)} cotangents"
    raise TypeError(
        f"the VJP rule of {prim.name!r} must return a tuple of {n_inputs} "
        f"cotangents (one per positional input, None for no gradient); got {got}"
    )


def _add(total, more):
    if total is None:
        return more
    total = total + more
    if type(total) is not ndarray and type(total) is not Tensor:
        # 0-d + 0-d gives a numpy scalar (a Dask array stays one)
        total = asarray(total) if isinstance(total, generic) else to_array(total)
    return total


def _own(g, handed_out):
    """``g`` as an array of its own: writeable, not a view, not handed out before."""
    if type(g) is not ndarray:
        if g is None or type(g) is Tensor or is_duck_array(g):
            return g  # (a Dask array is immutable: nothing to own)
        g = np.array(g)
    elif id(g) in handed_out or not g.flags.writeable or not g.flags.owndata:
        # A rule may pass the same cotangent to two inputs (x + y), or a
        # read-only broadcast view, or the caller's own array: `x.grad *= 0.5`
        # must touch x's gradient only.
        g = g.copy()
    handed_out.add(id(g))
    return g


def _reachable(roots, targets):
    """Nodes to visit, latest first, and (with targets) the set that leads to one.

    Decreasing sequence is a valid reverse topological order: a node is
    always recorded after its parents.
    """
    stops = None if targets is None else set(targets)
    seen = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        if stops is not None and node in stops:
            continue
        for parent in node.parents:
            if parent is not None and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    nodes = sorted(seen, key=_by_sequence, reverse=True)
    if stops is None:
        return nodes, None, None
    relevant = set(stops)
    for node in reversed(nodes):  # parents before children
        if node not in relevant and any(p in relevant for p in node.parents):
            relevant.add(node)
    return [n for n in nodes if n in relevant], relevant, stops


_by_sequence = operator.attrgetter("sequence")
