"""Jacobians and Hessians: jacrev, jacfwd, jacobian, hessian, hvp.

``J.shape == out.shape + x.shape``. Both Jacobians run ``f`` once and reuse
its graph (``retain_graph``) for every row or column: ``jacrev`` does one
backward per output element, ``jacfwd`` one pass of the JVP rules per input
element (see ``forward_mode.py``). So ``jacrev`` suits few outputs,
``jacfwd`` few inputs (measured in benchmarks/README.md: each wins by 50-100x
where it should at 10 x 1000).

Pytrees: for an output leaf ``o`` and an input leaf ``x`` the block is
``d o / d x`` of shape ``o.shape + x.shape``; blocks are arranged as the
output's structure, each holding the argument's structure (a tuple of them
for a tuple of argnums), as in JAX.
"""

from __future__ import annotations

import functools

import numpy as np

from .core import tracing
from .core.backward import has_nan
from .core.tensor import Tensor
from .forward_mode import Linearized, _between
from .ops import linalg as linalg_ops
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
    return tracing.call(_stacked, pieces, axis, shape)  # (tg.compile: replayed)


def _stacked(pieces, axis, shape):
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
            # (tg.compile replays the engine's backward, not this walk: loop then.)
            batched = None if nested or tracing.current() else _batched_rows(leaf, traced.inputs)
            if batched is not None:
                blocks.append(
                    [np.reshape(b, leaf.shape + x.shape) for b, x in zip(batched, traced.inputs)]
                )
                continue
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


# -- one backward for every row -----------------------------------------------------------

# Elements of cotangent in flight per chunk of rows (8 bytes each in float64).
BATCH_ELEMENTS = 1 << 22


def _batchable(prim, node):
    """Does this node's VJP rule carry a leading batch axis on ``g`` through?

    Built-in elementwise rules are ``g`` times partials (numpy broadcasting
    puts the batch axis in front); matmul's rule too, unless both operands
    are vectors. Reductions, reshapes and indexing place axes by position,
    so a graph with one of them takes the loop.
    """
    if type(node.ans) is not np.ndarray or node.hooks is not None:
        return False
    if prim.elementwise:
        return (prim.__module__ or "").startswith("tapegrad.")
    if prim is linalg_ops.matmul:
        return not (np.ndim(node.values[0]) == 1 and np.ndim(node.values[1]) == 1)
    return False


def _batched_rows(leaf, inputs):
    """Every row of ``d leaf / d inputs`` from backward passes with batched cotangents.

    One pass per chunk of rows instead of one per row (measured 6-80x faster,
    benchmarks/README.md). The engine's backward would sum the batch axis
    away as a broadcast one, so this walk applies the rules itself; it
    returns None (take the loop) unless every node between the inputs and
    ``leaf`` is :func:`_batchable`.
    """
    root = leaf._node
    starts = {x._node: i for i, x in enumerate(inputs)}
    if root is None or root in starts:
        return None
    nodes = _between(starts, [root])
    largest = 1
    for node in nodes:
        prim = node.primitive
        if prim is None or node.values is None or not _batchable(prim, node):
            return None  # (a leaf made inside f, an output slot, a freed node)
        largest = max(largest, node.ans.size)
    size = leaf._data.size
    chunk = max(1, BATCH_ELEMENTS // largest)
    pieces = [[] for _ in inputs]
    for start in range(0, size, chunk):
        stop = min(size, start + chunk)
        seed = np.zeros((stop - start, size), dtype=leaf._data.dtype)
        seed[np.arange(stop - start), np.arange(start, stop)] = 1
        arrived = _batched_walk(nodes, root, seed.reshape((stop - start, *leaf.shape)), starts)
        if arrived is None:
            return None
        for i, x in enumerate(inputs):
            ct = arrived.get(x._node)
            if ct is None:
                ct = np.zeros((stop - start, *x.shape), dtype=x.dtype)
            pieces[i].append(ct)
    return [np.concatenate(p, axis=0) for p in pieces]


def _batched_walk(nodes, root, seed, starts):
    batch = seed.shape[0]
    pending = {root: seed}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for node in reversed(nodes):
            g = pending.pop(node, None)
            if g is None:
                continue
            prim = node.primitive
            kwargs = dict(node.kwargs)
            if prim.vjp_needs_grad:
                kwargs["needs_grad"] = tuple(p is not None for p in node.parents)
            if prim.residuals:
                kwargs["residuals"] = node.residuals
            cts = prim.vjp(g, node.ans, *node.values, **kwargs)
            for parent, value, ct in zip(node.parents, node.values, cts):
                if parent is None or ct is None:
                    continue
                ct = ct._data if isinstance(ct, Tensor) else np.asarray(ct)
                if ct.ndim == 0 or ct.shape[0] != batch:
                    return None  # the rule did not keep the batch axis
                if prim.probes_nan and ct.shape == g.shape and has_nan(ct):
                    ct = np.where(g == 0, 0.0, ct)  # the engine's masking, row by row
                ct = _unbroadcast_rows(ct, np.shape(value))
                if ct is None:
                    return None
                dtype = value.dtype if value.dtype.kind == "f" else np.dtype(np.float64)
                ct = ct.astype(dtype, copy=False)
                previous = pending.get(parent)
                pending[parent] = ct if previous is None else previous + ct
    return {node: pending.get(node) for node in starts}


def _unbroadcast_rows(ct, shape):
    """Sum a batch of cotangents ``(B, *broadcast shape)`` back to ``(B, *shape)``."""
    inner = ct.shape[1:]
    lead = len(inner) - len(shape)
    if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, inner[lead:])):
        return None
    axes = tuple(1 + i for i in range(lead)) + tuple(
        1 + lead + i for i, n in enumerate(shape) if n == 1 and inner[lead + i] != 1
    )
    if axes:
        ct = np.sum(ct, axis=axes)
    return ct.reshape((ct.shape[0], *shape))


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
    Forward-over-reverse: one forward, one recorded backward, then one
    forward-mode pass over that backward per element of x (JVP rules, about
    the cost of the backward itself). Measured 0.76x the time of
    reverse-over-reverse on 100 parameters (benchmarks/README.md).
    """
    return jacfwd(grad(fun, argnums, has_aux=has_aux), argnums, has_aux=has_aux)


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
