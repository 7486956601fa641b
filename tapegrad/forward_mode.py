"""Forward mode: jvp and linearize, built from reverse mode (the double-VJP trick).

The VJP of ``f`` at ``x``, ``u -> J^T u``, is linear in the cotangent ``u``.
Record it once as a function of a placeholder ``u`` (a backward with
``create_graph``); its own VJP, ``t -> (J^T)^T t = J t``, is then the JVP.
So every primitive has forward mode without a rule of its own (rules are
differentiable), and forward mode nests with reverse mode both ways: a JVP
is a reverse pass, and reverse passes record themselves when nested.

Cost: one forward, one recorded backward (done once by ``linearize``), and
one backward of that per tangent. The placeholder's value never matters
(the recorded backward is linear in it); ones keep the engine's masking of
zero cotangents from hiding any path.
"""

from __future__ import annotations

import numpy as np

from .core.tensor import Tensor
from .transforms import needs_tape, output_leaves, plain, pull_back, split_aux, trace
from .tree import tree_unflatten

__all__ = ["jvp", "linearize"]


class Linearized:
    """``f`` traced at some arguments, with its VJP recorded as a function of ``u``.

    ``tangent_out(flat_tangents)`` maps one tangent per input leaf (None:
    zero) to the output tangents, one per output leaf, and says whether they
    are on the tape (nested, or a tangent requires grad).
    """

    def __init__(self, fun, args, kwargs, argnums, has_aux, fname):
        self.fname = fname
        self.traced = traced = trace(fun, args, kwargs, argnums, fname)
        out, self.aux = split_aux(traced.out, has_aux, fname)
        self.out = out
        self.leaves, self.treedef = output_leaves(out, fname)
        # One placeholder cotangent per output leaf on the tape.
        self.placeholders = [
            Tensor(np.ones_like(leaf._data), requires_grad=True) if leaf._node is not None else None
            for leaf in self.leaves
        ]
        # J^T u, recorded: Tensors that depend on the placeholders.
        self.pulled = pull_back(
            self.leaves, self.placeholders, traced.inputs, create_graph=True, retain_graph=True
        )

    def tangent_out(self, flat_tangents, retain_graph=True):
        on_tape = self.traced.nested or needs_tape(flat_tangents)
        targets = [u for u in self.placeholders if u is not None]
        results = iter(
            pull_back(
                self.pulled, flat_tangents, targets, create_graph=on_tape, retain_graph=retain_graph
            )
        )
        # Outputs off the tape (constants, integer results) have zero tangents.
        flat = [
            next(results) if u is not None else _zeros(leaf, on_tape)
            for leaf, u in zip(self.leaves, self.placeholders)
        ]
        return flat, on_tape

    def out_tree(self, flat):
        return tree_unflatten(self.treedef, flat)


def _zeros(leaf, on_tape):
    zeros = np.zeros_like(leaf._data)
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
    ``(out, tangent_out, aux)``.
    """
    primals = _as_tuple(primals, "primals", "jvp")
    tangents = _as_tuple(tangents, "tangents", "jvp")
    linearized = Linearized(fun, primals, {}, range(len(primals)), has_aux, "jvp")
    flat, on_tape = linearized.tangent_out(
        _tangent_leaves(linearized, tangents), retain_graph=False
    )
    nested = linearized.traced.nested
    result = plain(linearized.out, nested), plain(linearized.out_tree(flat), on_tape)
    return (*result, plain(linearized.aux, nested)) if has_aux else result


def linearize(fun, *primals, has_aux=False):
    """``out, jvp_fn = linearize(f, *primals)``; ``jvp_fn(*tangents)`` is ``J t``.

    ``f`` runs once (and its VJP is recorded once); each call of ``jvp_fn``
    costs one backward pass. With ``has_aux``: ``(out, jvp_fn, aux)``.
    """
    linearized = Linearized(fun, primals, {}, range(len(primals)), has_aux, "linearize")
    nested = linearized.traced.nested

    def jvp_fn(*tangents):
        flat, on_tape = linearized.tangent_out(_tangent_leaves(linearized, tangents))
        return plain(linearized.out_tree(flat), on_tape)

    result = plain(linearized.out, nested), jvp_fn
    return (*result, plain(linearized.aux, nested)) if has_aux else result
