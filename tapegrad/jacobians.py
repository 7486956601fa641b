"""Jacobians and Hessians: jacrev, jacfwd, jacobian, hessian, hvp.

``J.shape == out.shape + x.shape``. Both Jacobians run ``f`` once and reuse
its graph (``retain_graph``) for every row or column: ``jacrev`` does one
backward per output element, ``jacfwd`` one forward-mode product per input
element (see ``forward_mode.py``). So ``jacrev`` suits few outputs,
``jacfwd`` few inputs.

Pytrees: for an output leaf ``o`` and an input leaf ``x`` the block is
``d o / d x`` of shape ``o.shape + x.shape``; blocks are arranged as the
output's structure, each holding the argument's structure (a tuple of them
for a tuple of argnums), as in JAX.
"""

from __future__ import annotations

import functools

import numpy as np

from .core.tensor import Tensor
from .forward_mode import Linearized
from .ops import reshape, stack
from .transforms import (
    argnums_tuple,
    grad,
    output_leaves,
    plain,
    pull_back,
    split_aux,
    trace,
    vjp,
)
from .tree import tree_unflatten

__all__ = ["hessian", "hvp", "jacfwd", "jacobian", "jacrev"]


def _basis(like):
    """The one-hot arrays of ``like``'s shape and dtype, in C order, one at a time."""
    for i in range(like.size):
        e = np.zeros(like.size, dtype=like.dtype)
        e[i] = 1
        yield e.reshape(like.shape)


def _block(pieces, shape, axis, nested, like_dtype):
    """Stack one row (or column) per element into a block of ``shape``."""
    if not pieces:  # an empty output or input
        zeros = np.zeros(shape, dtype=like_dtype)
        return Tensor(zeros) if nested else zeros
    if nested:
        return reshape(stack(pieces, axis=axis), shape)
    return np.stack(pieces, axis=axis).reshape(shape)


def _arrange(traced, treedef, single, blocks):
    """Blocks (one list per output leaf, one entry per input leaf) as JAX shapes them."""
    per_output = []
    for row in blocks:
        trees = traced.per_argument(row)
        per_output.append(trees[0] if single else tuple(trees))
    return tree_unflatten(treedef, per_output)


def jacrev(fun, argnums=0, has_aux=False):
    """The Jacobian of ``f`` by reverse mode: one backward pass per output element.

    ``jacrev(f, argnums)(*args, **kwargs)``; ``argnums`` an int or a tuple
    (a tuple of Jacobians then). With ``has_aux``, ``f`` returns
    ``(out, aux)`` and the result is ``(J, aux)``.
    """

    @functools.wraps(fun)
    def jacrev_fun(*args, **kwargs):
        single, nums = argnums_tuple(argnums, len(args), "jacrev")
        traced = trace(fun, args, kwargs, nums, "jacrev")
        out, aux = split_aux(traced.out, has_aux, "jacrev")
        leaves, treedef = output_leaves(out, "jacrev")
        nested = traced.nested
        blocks = []
        for leaf in leaves:
            rows = [[] for _ in traced.inputs]
            if leaf._node is not None:
                for e in _basis(leaf._data):
                    grads = pull_back([leaf], [e], traced.inputs, create_graph=nested)
                    for row, g in zip(rows, grads):
                        row.append(g)
            blocks.append(
                [
                    _block(row, leaf.shape + x.shape, 0, nested, x.dtype)
                    for row, x in zip(rows, traced.inputs)
                ]
            )
        jac = _arrange(traced, treedef, single, blocks)
        return (jac, plain(aux, nested)) if has_aux else jac

    return jacrev_fun


jacobian = jacrev


def jacfwd(fun, argnums=0, has_aux=False):
    """The Jacobian of ``f`` by forward mode: one JVP per input element.

    Same call and result as :func:`jacrev`.
    """

    @functools.wraps(fun)
    def jacfwd_fun(*args, **kwargs):
        single, nums = argnums_tuple(argnums, len(args), "jacfwd")
        lin = Linearized(fun, args, kwargs, nums, has_aux, "jacfwd")
        inputs = lin.traced.inputs
        nested = lin.traced.nested
        columns = [[[] for _ in inputs] for _ in lin.leaves]  # [output][input] -> list
        for j, x in enumerate(inputs):
            for e in _basis(x._data):
                tangents = [None] * len(inputs)
                tangents[j] = e
                flat, _ = lin.tangent_out(tangents)
                for k, t in enumerate(flat):
                    columns[k][j].append(t)
        blocks = [
            [
                _block(columns[k][j], leaf.shape + x.shape, -1, nested, x.dtype)
                for j, x in enumerate(inputs)
            ]
            for k, leaf in enumerate(lin.leaves)
        ]
        jac = _arrange(lin.traced, lin.treedef, single, blocks)
        return (jac, plain(lin.aux, nested)) if has_aux else jac

    return jacfwd_fun


def hessian(fun, argnums=0, has_aux=False):
    """The Hessian of a scalar ``f``: ``H.shape == x.shape + x.shape``.

    For a tuple of argnums, ``H[i][j]`` is the block for arguments i and j.
    Computed as the reverse-mode Jacobian of the gradient: one forward, one
    recorded backward, then one backward per element of x. (The Hessian is
    symmetric, so this equals forward-over-reverse; here forward mode is
    itself built from reverse passes, so reverse-over-reverse is cheaper.)
    """
    return jacrev(grad(fun, argnums, has_aux=has_aux), argnums, has_aux=has_aux)


def hvp(fun, primals, tangents):
    """``(gradient, H v)`` of a scalar ``f`` at ``primals`` along ``tangents``.

    The same as ``tg.jvp(tg.grad(f, argnums), primals, tangents)`` with
    ``argnums`` every argument: 0 for one primal (results shaped like it),
    else the tuple of all (results are tuples). Costs one forward and two
    backward passes, without forming H.
    """
    primals = tuple(primals)
    tangents = tuple(tangents)
    if len(primals) != len(tangents):
        raise TypeError(f"hvp: got {len(primals)} primal(s) and {len(tangents)} tangent(s)")
    single = len(primals) == 1
    argnums = 0 if single else tuple(range(len(primals)))
    # H is symmetric, so the VJP of the gradient along v is H v.
    g, vjp_fn = vjp(grad(fun, argnums), *primals)
    hv = vjp_fn(tangents[0] if single else tangents)
    return g, hv[0] if single else hv
