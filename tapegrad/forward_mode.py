"""Forward mode: jvp and linearize, by pushing tangents along the tape.

``f`` runs once on the tape (``transforms.trace``). The nodes between its
inputs and its outputs are then visited in increasing sequence order (a node
is recorded after its parents, so this is a topological order), and each
node's output tangent is computed from its parents' tangents:

1. the primitive's own rule, ``@p.defjvp``: ``rule(tangents, ans, *inputs,
   **options)``, one tangent per input (None: zero), plus ``residuals=``
   for a primitive that saves them (None when nested, as for the VJP). A
   rule may return a tangent that broadcasts to the output; it is trusted
   as written (no NaN masking: write it finite where a tangent is zero);
2. a primitive declared ``linear`` (reshape, indexing, mean, the FFTs, ...)
   is its own JVP: its forward applied to the tangents, zeros for the None
   ones;
3. an ``elementwise`` primitive has a diagonal Jacobian, so its VJP rule
   applied to a tangent in place of the cotangent is the JVP (one call per
   input that has a tangent, summed; conjugated around the call for complex
   tangents, since a VJP multiplies by the conjugate partial). A zero
   tangent contributes exactly zero there, even where the partial is
   infinite, as a zero cotangent does in reverse mode;
4. anything else gets the transpose of its VJP: the rule is recorded as a
   function of a placeholder cotangent ``u`` and that recording is pulled
   back along the tangents (``J t`` is the VJP of ``u -> J^T u``). Always
   correct, since every rule is differentiable; it costs a recorded rule
   and a small backward per node, so the common primitives have rules.

Nesting: when an outer transform is running, or a tangent requires grad, the
rules run on Tensors (inputs and outputs linked to their nodes, as
``_call_rule_on_tensors`` does in reverse mode) and are recorded, so the
tangents can be differentiated again: jvp of grad, grad of jvp, jvp of jvp.
"""

from __future__ import annotations

import operator

import numpy as np

from .core import tracing
from .core.tape import OutputNode, enable_grad
from .core.tensor import Tensor, new_tensor, to_array
from .transforms import needs_tape, output_leaves, plain, pull_back, split_aux, trace
from .tree import tree_unflatten

__all__ = ["jvp", "jvp_route", "linearize", "push_forward"]

ndarray = np.ndarray
_by_sequence = operator.attrgetter("sequence")


# -- the walk -------------------------------------------------------------------------


def push_forward(roots, inputs, tangents, on_tape):
    """The tangents of ``roots`` (Tensors) given one tangent per ``inputs`` Tensor.

    A root that does not depend on the inputs gets None. ``on_tape``: the
    rules run on Tensors and are recorded (nested transforms); tangents are
    then Tensors, else ndarrays.
    """
    known = {}  # node -> its tangent (a tuple of them for a multi-output node)
    for x, t in zip(inputs, tangents):
        if t is not None and x._node is not None:
            known[x._node] = _as_tangent(t, on_tape)
    if not known:
        return [None] * len(roots)
    root_nodes = [r._node for r in roots if type(r) is Tensor and r._node is not None]
    # As in backward: 0/0 and 0*inf where a zero tangent makes them irrelevant
    # (the elementwise route zeroes those); warnings there would be noise.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        _walk(known, root_nodes, on_tape)
    get = known.get
    return [get(r._node) if type(r) is Tensor and r._node is not None else None for r in roots]


def _walk(known, root_nodes, on_tape):
    """Fill ``known`` with the tangent of every node between its entries and the roots."""
    get = known.get
    tracer = tracing.current()
    if tracer is not None and on_tape:
        raise tracing.CompileError(
            "tg.compile: forward mode inside another transform (or with a tangent that "
            "requires grad) records its rules, which cannot be compiled yet; compile the "
            "first-order function, or run this one eagerly"
        )
    fast = not on_tape and tracer is None
    for node in _between(known, root_nodes):
        prim = node.primitive
        if prim is None:
            if type(node) is OutputNode:
                slots = get(node.node)
                if slots is not None and slots[node.index] is not None:
                    known[node] = slots[node.index]
            continue
        parents = node.parents
        n_parents = len(parents)
        if n_parents == 1:
            t = get(parents[0])
            if t is None:
                continue
            node_tangents = (t,)
        elif n_parents == 2:  # (unrolled: the binary operators)
            t, t2 = get(parents[0]), get(parents[1])
            if t is None and t2 is None:
                continue
            node_tangents = (t, t2)
        else:
            node_tangents = tuple([get(p) for p in parents])
            if all(t is None for t in node_tangents):
                continue
        values = node.values
        if values is None:
            raise RuntimeError(
                f"jvp through the {prim.name} node (#{node.sequence}), whose saved values "
                "were freed by an earlier backward(); pass retain_graph=True to that "
                "backward, or recompute the forward pass"
            )
        rule = prim.jvp
        ans = node.ans
        if fast and rule is not None and not node.kwargs and type(ans) is ndarray:
            # The common case, inlined: a rule on arrays, no options.
            try:
                if prim.residuals:
                    t = rule(node_tangents, ans, *values, residuals=node.residuals)
                else:
                    t = rule(node_tangents, ans, *values)
            except Exception as error:
                error.add_note(f"(raised in forward mode, in the JVP rule of {prim.name!r})")
                raise
            if not (
                type(t) is ndarray
                and t.shape == ans.shape
                and (t.dtype is ans.dtype or t.dtype == ans.dtype)
            ):
                t = _fit(prim, t, ans, False)  # a lone tangent to broadcast, a cast
            if t is not None:
                known[node] = t
            continue
        try:
            if tracer is not None:
                # tg.compile: one instruction per node, replayed on the new values.
                multi = type(ans) is tuple
                t = tracer.call(
                    _replay_jvp,
                    prim,
                    node.kwargs,
                    node.residuals,
                    node_tangents,
                    ans,
                    *values,
                    _structure="each" if multi else None,
                )
                tracer.instructions[-1].name = f"jvp of {prim.name}"
            else:
                t = node_jvp(node, node_tangents, on_tape)
        except Exception as error:
            error.add_note(f"(raised in forward mode, in the JVP of {prim.name!r})")
            raise
        if t is not None:
            known[node] = t


def _between(starts, root_nodes):
    """Nodes on a path from ``starts`` to the roots, in increasing sequence.

    Nodes older than every start cannot depend on them, so the search does
    not climb into the rest of the tape (an outer transform's graph).
    """
    floor = min(n.sequence for n in starts)
    seen = set(root_nodes)
    stack = list(root_nodes)
    pop, push, add = stack.pop, stack.append, seen.add
    while stack:
        node = pop()
        if node in starts:
            continue
        for parent in node.parents:
            if parent is not None and parent not in seen and parent.sequence >= floor:
                add(parent)
                push(parent)
    seen.difference_update(starts)
    return sorted(seen, key=_by_sequence)


def _as_tangent(t, on_tape):
    if on_tape:
        return t if type(t) is Tensor else new_tensor(to_array(t), None)
    if type(t) is Tensor:
        return t._data
    return to_array(t)


# -- one node -------------------------------------------------------------------------


class _Replayed:
    """What ``node_jvp`` reads of a node, rebuilt from a compiled program's values."""

    __slots__ = ("ans", "kwargs", "primitive", "residuals", "values")

    def __init__(self, prim, kwargs, residuals, ans, values):
        self.primitive = prim
        self.kwargs = kwargs
        self.residuals = residuals
        self.ans = ans
        self.values = values


def _replay_jvp(prim, kwargs, residuals, tangents, ans, *values):
    return node_jvp(_Replayed(prim, kwargs, residuals, ans, values), tangents, False)


def jvp_route(prim):
    """How forward mode differentiates ``prim``, in the order it tries them.

    ``"rule"`` (``@p.defjvp``), ``"linear"`` (its forward on the tangents),
    ``"elementwise"`` (its VJP rule on the tangent) or ``"transposed VJP"``.
    """
    if prim.jvp is not None:
        return "rule"
    if prim.linear:
        return "linear"
    if prim.elementwise:
        return "elementwise"  # (a multi-output elementwise primitive: transposed VJP)
    return "transposed VJP"


def node_jvp(node, tangents, on_tape):
    """The output tangent of ``node`` from its inputs' ``tangents`` (None: zero)."""
    prim = node.primitive
    multi = type(node.ans) is tuple
    if on_tape:
        values, ans = _on_tape(node)
    else:
        values, ans = node.values, node.ans
    if prim.jvp is not None:
        kwargs = node.kwargs
        if prim.residuals:  # as for the VJP rule: None on the tape (rebuild them)
            kwargs = {**kwargs, "residuals": None if on_tape else node.residuals}
        with enable_grad() if on_tape else _NO_CONTEXT:
            t = prim.jvp(tangents, ans, *values, **kwargs)
    elif prim.linear:
        t = _linear_jvp(node, tangents, values, on_tape)
    elif prim.elementwise and not multi:
        with enable_grad() if on_tape else _NO_CONTEXT:
            t = _elementwise_jvp(node, tangents, ans, values, on_tape)
    else:
        t = _transposed_vjp(node, tangents, ans, values, on_tape)
    if multi:
        if type(t) is not tuple or len(t) != len(node.ans):
            raise TypeError(
                f"the JVP rule of {prim.name!r} must return a tuple of {len(node.ans)} "
                f"tangents (one per output, None for zero); got {type(t).__name__}"
            )
        return tuple(_fit(prim, ti, a, on_tape) for ti, a in zip(t, node.ans))
    return _fit(prim, t, node.ans, on_tape)


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_CONTEXT = _Nothing()


def _on_tape(node):
    # As reverse mode's _call_rule_on_tensors: inputs and output linked to
    # their nodes, so the recorded rule differentiates through them too.
    values = tuple(
        new_tensor(v, p) if p is not None else v for v, p in zip(node.values, node.parents)
    )
    ans = node.ans
    if type(ans) is tuple:
        ans = tuple(
            new_tensor(a, OutputNode(node, i, a) if a.dtype.kind == "f" else None)
            for i, a in enumerate(ans)
        )
    else:
        ans = new_tensor(ans, node)
    return values, ans


def _fit(prim, t, like, on_tape):
    """``t`` as a tangent of ``like``: its shape and dtype, a Tensor iff on the tape."""
    if t is None:
        return None
    if type(t) is Tensor:
        if not on_tape or t._node is None:
            t = t._data
    elif type(t) is not ndarray:
        t = to_array(t)
    shape = like.shape
    if t.shape != shape:
        try:
            t = np.broadcast_to(t, shape)
        except ValueError:
            raise ValueError(
                f"the JVP of {prim.name!r} returned a tangent of shape {t.shape} for an "
                f"output of shape {shape}; it must be that shape or broadcast to it"
            ) from None
    if t.dtype != like.dtype:
        if t.dtype.kind == "c" and like.dtype.kind == "f":
            # A real output moves along the real part (as reverse mode keeps
            # the real part of a real input's cotangent).
            t = np.real(t)
        if t.dtype.kind not in "fiubc":
            raise TypeError(
                f"the JVP of {prim.name!r} returned a tangent of dtype {t.dtype} for an "
                f"output of dtype {like.dtype}; tangents must be numbers"
            )
        t = t.astype(like.dtype)
    if on_tape and type(t) is not Tensor:
        t = new_tensor(t, None)
    return t


def _linear_jvp(node, tangents, values, on_tape):
    """A linear primitive applied to its tangents (zeros where an input has none)."""
    prim = node.primitive
    args = list(values)
    for i, t in enumerate(tangents):
        if t is not None:
            args[i] = t
        elif i not in prim.nondiff and _is_operand(values[i]):
            # A constant operand (x + c) or an input without a tangent: its
            # contribution is zero, since the primitive is linear in all of them.
            args[i] = np.zeros_like(_data(values[i]))
    if on_tape:
        with enable_grad():
            return prim(*args, **node.kwargs)
    return prim.fun(*args, **node.kwargs)


def _is_operand(value):
    if type(value) is Tensor:
        return True
    return isinstance(value, (ndarray, np.generic, float, int)) and not isinstance(value, bool)


def _data(value):
    return value._data if type(value) is Tensor else value


def _elementwise_jvp(node, tangents, ans, values, on_tape):
    # The Jacobian of an elementwise primitive is diagonal (per input, after
    # broadcasting), so the VJP rule with the tangent as cotangent is the
    # JVP. A zero tangent contributes exactly zero even where the partial is
    # infinite, as a zero cotangent does in reverse mode.
    prim = node.primitive
    shape = node.ans.shape
    total = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        if t.shape != shape:
            t = np.broadcast_to(t, shape)
        needs = tuple(j == i for j in range(len(tangents)))
        complex_tangent = t.dtype.kind == "c"
        if complex_tangent:  # the VJP of a holomorphic f is g * conj(f')
            t = np.conjugate(t)
        ct = _call_vjp(node, t, ans, values, needs, on_tape)[i]
        if ct is None:
            continue
        if complex_tangent:
            ct = np.conjugate(ct)
        if prim.probes_nan:
            ct = _masked(ct, t)
        total = ct if total is None else total + ct
    return total


def _masked(ct, t):
    data = ct._data if type(ct) is Tensor else to_array(ct)
    if data.ndim == 0:
        probe = data.item()
    else:
        probe = np.vdot(data, data)
    if probe == probe:
        return ct
    t_data = t._data if type(t) is Tensor else t
    return np.where(t_data == 0, 0.0, ct).astype(data.dtype, copy=False)


def _call_vjp(node, g, ans, values, needs, on_tape):
    prim = node.primitive
    kwargs = node.kwargs
    if prim.vjp_needs_grad or prim.residuals:
        kwargs = dict(kwargs)
        if prim.vjp_needs_grad:
            kwargs["needs_grad"] = needs
        if prim.residuals:
            kwargs["residuals"] = None if on_tape else node.residuals
    cts = prim.vjp(g, ans, *values, **kwargs)
    if type(cts) is not tuple or len(cts) != len(values):
        raise TypeError(
            f"the VJP rule of {prim.name!r} must return a tuple of {len(values)} cotangents"
        )
    return cts


def _transposed_vjp(node, tangents, ans, values, on_tape):
    """``J t`` as the VJP of the recorded ``u -> J^T u`` (the fallback)."""
    multi = type(node.ans) is tuple
    if not on_tape:  # the rule must run on Tensors for its use of u to be recorded
        values = tuple(new_tensor(to_array(v), None) if _is_array(v) else v for v in values)
        if multi:
            ans = tuple(new_tensor(a, None) for a in ans)
        else:
            ans = new_tensor(ans, None)
    # The placeholder's value never matters (J^T u is linear in u); ones keep
    # the engine's masking of zero cotangents from hiding any path.
    if multi:
        placeholders = [
            Tensor(np.ones_like(a), requires_grad=True) if a.dtype.kind == "f" else None
            for a in node.ans
        ]
        g = tuple(placeholders)
    else:
        placeholders = [Tensor(np.ones_like(node.ans), requires_grad=True)]
        g = placeholders[0]
    needs = tuple(t is not None for t in tangents)
    with enable_grad():
        cts = _call_vjp(node, g, ans, values, needs, True)
    roots, sent = [], []
    for ct, t in zip(cts, tangents):
        if t is None or ct is None or type(ct) is not Tensor or ct._node is None:
            continue
        shape = ct._data.shape
        if t.shape != shape:  # the rule returned a broadcast cotangent
            t = np.broadcast_to(t, shape)
        roots.append(ct)
        sent.append(t)
    targets = [u for u in placeholders if u is not None]
    results = iter(pull_back(roots, sent, targets, create_graph=on_tape, retain_graph=False))
    if multi:
        return tuple(next(results) if u is not None else None for u in placeholders)
    return next(results)


def _is_array(value):
    return isinstance(value, (ndarray, np.generic))


# -- the transforms -------------------------------------------------------------------


class Linearized:
    """``f`` traced once at some arguments; ``tangent_out`` pushes tangents through it.

    ``tangent_out(flat_tangents)`` maps one tangent per input leaf (None:
    zero) to the output tangents, one per output leaf, and says whether they
    are on the tape (nested, or a tangent requires grad). The graph is kept,
    so it may be called any number of times.
    """

    def __init__(self, fun, args, kwargs, argnums, has_aux, fname):
        self.fname = fname
        self.traced = trace(fun, args, kwargs, argnums, fname)
        out, self.aux = split_aux(self.traced.out, has_aux, fname)
        self.out = out
        self.leaves, self.treedef = output_leaves(out, fname)

    def tangent_out(self, flat_tangents):
        on_tape = self.traced.nested or needs_tape(flat_tangents)
        pushed = push_forward(self.leaves, self.traced.inputs, flat_tangents, on_tape)
        given = {id(t) for t in flat_tangents}
        flat = []
        for t, leaf in zip(pushed, self.leaves):
            if t is None:
                t = tracing.call(_zeros, leaf._data, on_tape)
            elif not on_tape:
                t = tracing.call(_own, t, given)
            flat.append(t)
        return flat, on_tape

    def out_tree(self, flat):
        return tree_unflatten(self.treedef, flat)


def _own(t, given):
    # Never hand back the caller's tangent (f = identity, x + c) or a
    # read-only broadcast view.
    if type(t) is not ndarray:
        return t  # a Dask array is immutable: nothing to own
    if id(t) in given or not t.flags.writeable or not t.flags.owndata:
        return t.copy()
    return t


def _zeros(like, on_tape):
    # Outputs off the tape (constants, integer results) have zero tangents.
    zeros = np.zeros_like(like)
    return Tensor(zeros) if on_tape else zeros


def _tangent_leaves(linearized, tangents):
    traced = linearized.traced
    if len(tangents) != len(traced.treedefs):
        raise TypeError(
            f"{linearized.fname}: got {len(tangents)} tangent(s) for "
            f"{len(traced.treedefs)} primal(s); pass one tangent per primal"
        )
    return traced.flatten_like_inputs(tangents, "tangent", linearized.fname)


def _as_tuple(value, what, fname):
    if not isinstance(value, (tuple, list)):
        raise TypeError(
            f"{fname}: {what} must be a tuple or list (one entry per argument of f), got "
            f"{type(value).__name__}; e.g. tg.jvp(f, (x,), (t,))"
        )
    return tuple(value)


def jvp(fun, primals, tangents, has_aux=False):
    """``(f(*primals), J t)``: the Jacobian of ``f`` at ``primals`` applied to ``tangents``.

    ``primals`` and ``tangents`` are tuples with one entry per argument of
    ``f`` (pytrees allowed; each tangent has its primal's structure and
    shapes). The output tangent has the output's structure. With
    ``has_aux``, ``f`` returns ``(out, aux)`` and the result is
    ``(out, tangent_out, aux)``. Costs one recorded forward and one pass of
    the JVP rules over the recorded nodes.
    """
    primals = _as_tuple(primals, "primals", "jvp")
    tangents = _as_tuple(tangents, "tangents", "jvp")
    linearized = Linearized(fun, primals, {}, range(len(primals)), has_aux, "jvp")
    flat, on_tape = linearized.tangent_out(_tangent_leaves(linearized, tangents))
    nested = linearized.traced.nested
    result = plain(linearized.out, nested), plain(linearized.out_tree(flat), on_tape)
    return (*result, plain(linearized.aux, nested)) if has_aux else result


def linearize(fun, *primals, has_aux=False):
    """``out, jvp_fn = linearize(f, *primals)``; ``jvp_fn(*tangents)`` is ``J t``.

    ``f`` runs once; each call of ``jvp_fn`` pushes the tangents through the
    recorded nodes again (the JVP rules, no forward). With ``has_aux``:
    ``(out, jvp_fn, aux)``.
    """
    linearized = Linearized(fun, primals, {}, range(len(primals)), has_aux, "linearize")
    nested = linearized.traced.nested

    def jvp_fn(*tangents):
        flat, on_tape = linearized.tangent_out(_tangent_leaves(linearized, tangents))
        return plain(linearized.out_tree(flat), on_tape)

    result = plain(linearized.out, nested), jvp_fn
    return (*result, plain(linearized.aux, nested)) if has_aux else result
