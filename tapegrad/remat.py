"""checkpoint: recompute a function's forward pass in backward instead of keeping it.

``tg.checkpoint(f)(*args)`` runs ``f`` as usual, then replaces everything it
recorded by one node: its parents are the nodes ``f`` read that existed
before the call (its arguments, and Tensors it closes over, such as model
parameters), its saved values are theirs, its outputs are ``f``'s. The
intermediates are dropped with the segment's graph. In backward the node's
rule runs ``f`` again on the tape and pulls the cotangents back to those
parents. Values and gradients are the same; the rule is differentiable like
any other, so second order and forward mode work through it.

Recomputation must reproduce the forward: numpy's global random state is
restored for it, and the outputs are compared with the saved ones (a
dropout mask drawn without a seed, or an input changed between forward and
backward, is an error rather than a wrong gradient).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from .core.backward import run_backward
from .core.primitive import Primitive
from .core.tape import Node, enable_grad, grad_mode
from .core.tensor import Tensor, new_tensor
from .transforms import identity
from .tree import tree_flatten, tree_map, tree_unflatten

__all__ = ["checkpoint"]


def checkpoint(fun):
    """``f`` with the same values and gradients, whose intermediates are recomputed in backward.

    Saves only what ``f`` reads from outside (its inputs); costs one more
    forward of ``f`` per backward. ``f`` may take and return pytrees.
    """
    name = getattr(fun, "__name__", "f")

    @functools.wraps(fun)
    def checkpointed(*args, **kwargs):
        if not grad_mode.enabled:
            return fun(*args, **kwargs)
        # The arguments enter through identity nodes recorded before the
        # segment starts, so they are its boundary whatever made them.
        args, kwargs = tree_map(_through_identity, (args, kwargs))
        start = _tape_position()
        segment = _Segment(fun, args, kwargs, name)
        out = fun(*args, **kwargs)
        leaves, treedef = tree_flatten(out)
        del out  # the segment's graph must not outlive this call
        recorded = [k for k, leaf in enumerate(leaves) if _on_tape(leaf)]
        if not recorded:
            return tree_unflatten(treedef, leaves)
        parents, values = _boundary([leaves[k] for k in recorded], start)
        segment.parents = parents
        segment.positions = recorded
        answers = tuple(leaves[k]._data for k in recorded)

        def saved_outputs(*values):
            return answers

        node_maker = Primitive(saved_outputs, name=f"checkpoint({name})")
        node_maker.defvjp(segment.vjp)
        outputs = node_maker(*[new_tensor(v, p) for v, p in zip(values, parents)])
        for k, t in zip(recorded, outputs):
            leaves[k] = t
        return tree_unflatten(treedef, leaves)

    return checkpointed


def _on_tape(leaf):
    return type(leaf) is Tensor and leaf._node is not None


def _through_identity(leaf):
    return identity(leaf) if _on_tape(leaf) else leaf


def _tape_position():
    # Every node recorded from now on gets a sequence number at least this.
    probe = Node(None, (), None, None, None)
    return probe.sequence


def _boundary(outputs, start):
    """The nodes recorded before ``start`` that the segment read, and their values.

    A walk from the outputs through the nodes recorded since ``start``; a
    parent recorded earlier is a boundary node, and the input value its child
    saved is its value.
    """
    found = {}  # boundary node -> value, in the order met
    stack = []
    for leaf in outputs:
        node = leaf._node
        if node.sequence < start:  # f returned a Tensor it did not compute
            found.setdefault(node, leaf._data)
        else:
            stack.append(node)
    seen = set(stack)
    while stack:
        node = stack.pop()
        values = node.values if node.values is not None else itertools.repeat(None)
        for parent, value in zip(node.parents, values):
            if parent is None:
                continue
            if parent.sequence < start:
                found.setdefault(parent, value)
            elif parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return list(found), list(found.values())


class _Segment:
    """What the checkpoint node's rule needs to run ``f`` again."""

    def __init__(self, fun, args, kwargs, name):
        self.fun = fun
        self.args = args
        self.kwargs = kwargs
        self.name = name
        self.random_state = np.random.get_state()
        self.depth = grad_mode.transform_depth
        self.parents = []
        self.positions = []

    def rerun(self):
        saved_state, saved_depth = np.random.get_state(), grad_mode.transform_depth
        np.random.set_state(self.random_state)
        grad_mode.transform_depth = self.depth
        try:
            with enable_grad():
                out = self.fun(*self.args, **self.kwargs)
        finally:
            np.random.set_state(saved_state)
            grad_mode.transform_depth = saved_depth
        leaves, _ = tree_flatten(out)
        return [leaves[k] if k < len(leaves) else None for k in self.positions]

    def vjp(self, g, ans, *values):
        create_graph = grad_mode.enabled  # the backward walk sets it
        again = self.rerun()
        roots, cotangents = [], []
        for k, (new, old, ct) in enumerate(zip(again, ans, g)):
            self._check_same(k, new, old)
            if ct is not None:
                roots.append(new._node)
                cotangents.append(ct)
        if not roots:
            return (None,) * len(values)
        # retain_graph: the walk would free the saved values of its targets,
        # which are nodes of the caller's graph.
        arrived = run_backward(
            roots,
            cotangents,
            targets=self.parents,
            retain_graph=True,
            create_graph=create_graph,
        )
        return tuple(arrived)

    def _check_same(self, k, new, old):
        old = old._data if type(old) is Tensor else old
        if _on_tape(new) and new._data.shape == old.shape:
            # Recomputation is normally bitwise equal; allow BLAS rounding noise.
            tolerance = float(np.sqrt(np.finfo(old.dtype).eps))
            scale = float(np.max(np.abs(old), initial=0.0, where=np.isfinite(old)))
            atol = tolerance * scale
            if np.allclose(new._data, old, rtol=tolerance, atol=atol, equal_nan=True):
                return
        raise RuntimeError(
            f"checkpoint({self.name}): running the function again in backward gave a "
            f"different output {k} than the forward pass did. A checkpointed function must "
            "be deterministic: draw random numbers from a seed passed in (dropout: put a "
            "'seed' in dropout_param), and do not change its inputs or the Tensors it reads "
            "between the forward pass and backward()"
        )
