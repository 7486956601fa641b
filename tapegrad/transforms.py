"""Function transforms, reverse mode: grad, value_and_grad, vjp, stop_gradient.

Each call runs the function once on the tape (a *trace*). Every leaf of the
differentiated arguments (pytrees: :mod:`tapegrad.tree`) becomes a node of
its own: a plain array becomes a new leaf Tensor; a Tensor already on a tape
(inside another transform) goes through an identity node, so this
transform's backward is itself recorded (``create_graph``) and the outer one
can differentiate it: grad of grad, jvp of grad, grad of jvp.

Results are ndarrays at the top level and Tensors inside another transform,
always Tensors there (a constant zero too): an outer transform can then tell a
result of tapegrad from a value that left the tape, which is an error.

Forward mode is in ``forward_mode.py``, Jacobians and Hessians in
``jacobians.py``, ``checkpoint`` in ``remat.py``; they share :func:`trace`,
:func:`pull_back` and :func:`output_leaves` from here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import tracing
from .core.backward import run_backward
from .core.primitive import primitive
from .core.tape import enable_grad, grad_mode
from .core.tensor import Tensor, as_array, is_duck_array, new_tensor, to_array
from .domain import Domain
from .tree import path_text, tree_flatten, tree_flatten_with_path, tree_map, tree_unflatten

__all__ = ["grad", "stop_gradient", "value_and_grad", "vjp"]


def _item(array):
    return array.item()


@primitive(numpy=np.copy, domain=Domain(("real",)), elementwise=True, zero_preserving=True)
def identity(x):
    # A view is enough: tensor arrays are never written in place.
    return x.view()


@identity.defvjp
def _identity_vjp(g, ans, x):
    return (g,)


# -- the machinery the transforms share ------------------------------------------------


def argnums_tuple(argnums, nargs, fname):
    """``(single, positions)``: was ``argnums`` one int, and the non-negative positions."""
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise ValueError(f"{fname}: argnums is empty; name at least one argument")
    for n in nums:
        if not isinstance(n, int) or not -nargs <= n < nargs:
            raise ValueError(
                f"{fname}: argnums={argnums!r} but the function got {nargs} positional argument(s)"
            )
    nums = tuple(n % nargs for n in nums)
    if len(set(nums)) != len(nums):
        raise ValueError(f"{fname}: argnums={argnums!r} names an argument twice")
    return single, nums


class Trace:
    """One run of a function with the leaves of some arguments as fresh nodes.

    ``inputs`` is the flat list of those nodes' Tensors, argument after
    argument; ``treedefs`` has one structure per differentiated argument.
    ``nested``: results must stay on the tape (an outer transform is running,
    or an argument was already on a tape).
    """

    __slots__ = ("inputs", "nested", "out", "treedefs")

    def __init__(self, out, inputs, treedefs, nested):
        self.out = out
        self.inputs = inputs
        self.treedefs = treedefs
        self.nested = nested

    def per_argument(self, flat):
        """Split a flat list (one entry per input leaf) into one tree per argument."""
        trees, start = [], 0
        for treedef in self.treedefs:
            stop = start + treedef.num_leaves
            trees.append(tree_unflatten(treedef, flat[start:stop]))
            start = stop
        return trees

    def flatten_like_inputs(self, trees, what, fname):
        """The leaves of ``trees`` (one per argument), checked against the arguments."""
        flat = []
        for k, (tree, treedef) in enumerate(zip(trees, self.treedefs)):
            leaves, structure = tree_flatten(tree)
            if structure != treedef:
                raise ValueError(
                    f"{fname}: {what} {k} has structure {structure}, the argument has {treedef}"
                )
            flat.extend(leaves)
        return [
            conform(leaf, x._data, f"{what} for input leaf {i}", fname)
            for i, (leaf, x) in enumerate(zip(flat, self.inputs))
        ]


def trace(fun, args, kwargs, argnums, fname):
    """Run ``fun(*args, **kwargs)`` with the arguments at ``argnums`` as fresh nodes."""
    args = list(args)
    inputs, treedefs = [], []
    nested = grad_mode.transform_depth > 0
    for n in argnums:
        leaves, treedef = tree_flatten(args[n])
        starts = []
        for k, leaf in enumerate(leaves):
            if isinstance(leaf, Tensor) and leaf._node is not None:
                nested = True
                with enable_grad():
                    start = identity(leaf)
            else:
                array = as_array(leaf)
                if array.dtype.kind not in "fc":
                    raise TypeError(
                        f"{fname}: argument {n}{_leaf_path(args[n], k)} has dtype "
                        f"{array.dtype}; only floating point and complex arguments can be "
                        "differentiated "
                        "(convert with .astype(float), or pass it by keyword to leave it out)"
                    )
                start = Tensor(array, requires_grad=True)
            starts.append(start)
        args[n] = tree_unflatten(treedef, starts)
        inputs.extend(starts)
        treedefs.append(treedef)
    grad_mode.transform_depth += 1
    outer_inputs = grad_mode.traced_inputs
    grad_mode.traced_inputs = (*outer_inputs, frozenset(x._node for x in inputs))
    try:
        with enable_grad():
            out = fun(*args, **kwargs)
    finally:
        grad_mode.transform_depth -= 1
        grad_mode.traced_inputs = outer_inputs
    return Trace(out, inputs, treedefs, nested)


def _leaf_path(tree, k):
    paths, _, _ = tree_flatten_with_path(tree)
    return path_text(paths[k])


def pull_back(roots, cotangents, inputs, *, create_graph, retain_graph=True):
    """The cotangents reaching ``inputs`` from ``cotangents`` placed at ``roots``.

    Roots that are off the tape, and None cotangents, contribute nothing; an
    input reached by nothing gets zeros. With ``create_graph`` the backward
    is recorded and every result is a Tensor, else an ndarray.
    """
    nodes, sent = [], []
    for root, cotangent in zip(roots, cotangents):
        if cotangent is not None and type(root) is Tensor and root._node is not None:
            nodes.append(root._node)
            sent.append(cotangent)
    if nodes:
        arrived = run_backward(
            nodes,
            sent,
            targets=[x._node for x in inputs],
            retain_graph=retain_graph,
            create_graph=create_graph,
        )
    else:
        arrived = [None] * len(inputs)
    return [_result(ct, x, create_graph) for ct, x in zip(arrived, inputs)]


def _result(ct, like, on_tape):
    if ct is None:
        ct = np.zeros_like(like._data)
    if on_tape:
        return ct if type(ct) is Tensor else new_tensor(to_array(ct), None)
    return ct._data if type(ct) is Tensor else ct


def conform(value, like, what, fname):
    """``value`` (array, number or Tensor) checked to have ``like``'s shape, in its dtype."""
    if isinstance(value, Tensor):
        data = value._data
    else:
        data = value = as_array(value)
    if data.shape != like.shape:
        raise ValueError(f"{fname}: {what} has shape {data.shape}, expected {like.shape}")
    if data.dtype.kind not in "fiub" and like.dtype.kind == "f":
        raise TypeError(
            f"{fname}: {what} has dtype {data.dtype} for a real output of dtype {like.dtype}; "
            "a real output's cotangent is real (its imaginary part would be dropped)"
        )
    if not isinstance(value, Tensor) and value.dtype != like.dtype and like.dtype.kind in "fc":
        value = value.astype(like.dtype)
    return value


def needs_tape(tree):
    """Does any leaf of ``tree`` require grad (so results computed from it must too)?"""
    return any(isinstance(leaf, Tensor) and leaf._node is not None for leaf in tree)


def output_leaves(out, fname):
    """``(leaves, treedef)`` of a function's output; every leaf must be a Tensor."""
    leaves, treedef = tree_flatten(out)
    for k, leaf in enumerate(leaves):
        if not isinstance(leaf, Tensor):
            raise TypeError(_off_tape_message(fname, "output" + _leaf_path(out, k), leaf))
    return leaves, treedef


def _off_tape_message(fname, where, value):
    kind = type(value).__name__
    return (
        f"{fname}: the function's {where} is a {kind}, not a Tensor: it does not depend on "
        "the inputs through tapegrad operations, so it has no derivative. Compute it with "
        "tapegrad (tg.sum(x), x @ w, np.exp(x) on Tensors); float(), .item(), .data and "
        "np.asarray inside the function leave the tape. For a zero derivative on purpose, "
        "return a Tensor, e.g. 0.0 * tg.sum(x)"
    )


def split_aux(out, has_aux, fname):
    """``(out, aux)``: with ``has_aux`` the function must return a pair."""
    if not has_aux:
        return out, None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(
            f"{fname}(has_aux=True): the function must return a pair (output, aux); got "
            f"{type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, tuple) else "")
        )
    return out[0], out[1]


def plain(tree, nested):
    """``tree`` for the caller: Tensors become read-only ndarrays at the top level."""
    if nested:
        return tree
    return tree_map(lambda leaf: leaf.data if isinstance(leaf, Tensor) else leaf, tree)


# -- the transforms -----------------------------------------------------------------


def _scalar(out, fname, has_aux):
    if not isinstance(out, Tensor):
        if isinstance(out, (tuple, list, dict)):
            hint = "" if has_aux else "; for f returning (value, aux) pass has_aux=True"
            raise TypeError(
                f"{fname}: the function must return a scalar Tensor, got a "
                f"{type(out).__name__}{hint}"
            )
        raise TypeError(_off_tape_message(fname, "output", out))
    if out._data.dtype.kind == "c":
        raise TypeError(
            f"{fname}: the function returns a complex value (dtype {out._data.dtype}); a "
            "gradient needs a real scalar. Return tg.abs(z) ** 2, tg.real(z) or similar, or "
            "use tg.vjp with a complex cotangent"
        )
    if out._data.size != 1:
        raise ValueError(
            f"{fname}: the function must return a scalar (one element), got shape "
            f"{out._data.shape}; use tg.vjp or tg.jacrev for non-scalar outputs"
        )
    return out


def _value_and_grad(fun, argnums, has_aux, fname, args, kwargs):
    single, nums = argnums_tuple(argnums, len(args), fname)
    traced = trace(fun, args, kwargs, nums, fname)
    out, aux = split_aux(traced.out, has_aux, fname)
    out = _scalar(out, fname, has_aux)
    data = out._data
    flat = pull_back(
        [out], [np.ones_like(data)], traced.inputs, create_graph=traced.nested, retain_graph=False
    )
    grads = traced.per_argument(flat)
    g = grads[0] if single else tuple(grads)
    if traced.nested or is_duck_array(data):  # (a Dask value stays lazy)
        value = out if traced.nested else data
    else:
        # (logged under tg.compile, where the float is a value of the program)
        value = tracing.call(_item, data) if data.ndim == 0 else data
    if has_aux:
        value = (value, plain(aux, traced.nested))
    return value, g


def value_and_grad(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """``value_and_grad(f)(*args, **kwargs) -> (f(*args, **kwargs), gradient)``; see :func:`grad`.

    With ``has_aux``, ``f`` returns ``(value, aux)`` and the result is
    ``((value, aux), gradient)``.
    """
    _check_function(fun, "value_and_grad")

    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        return _value_and_grad(fun, argnums, has_aux, "value_and_grad", args, kwargs)

    return value_and_grad_fun


def grad(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The gradient of a scalar function, as a function.

    ``argnums`` (int or tuple, negative counts from the end) picks the
    positional arguments to differentiate; each may be a pytree (dict, list,
    tuple, namedtuple) of arrays, numbers or Tensors, and its gradient has
    the same structure (a tuple of them for a tuple of argnums). Keyword
    arguments are passed to ``f`` and not differentiated. With ``has_aux``,
    ``f`` returns ``(value, aux)`` and the result is ``(gradient, aux)``.

    Called on Tensors that require grad (inside another transform), results
    are Tensors on the outer tape, so ``grad(grad(f))`` works.
    """
    _check_function(fun, "grad")

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        value, g = _value_and_grad(fun, argnums, has_aux, "grad", args, kwargs)
        return (g, value[1]) if has_aux else g

    return grad_fun


def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple:
    """``out, vjp_fn = vjp(f, *primals)``: ``vjp_fn(cotangent)`` is a tuple, one per primal.

    ``out`` may be a pytree of Tensors; ``cotangent`` then has its structure
    and each primal's cotangent has that primal's. ``vjp_fn`` may be called
    many times (the graph is kept while it lives). With ``has_aux``, ``f``
    returns ``(out, aux)`` and the result is ``(out, vjp_fn, aux)``.
    """
    _check_function(fun, "vjp")
    traced = trace(fun, primals, {}, range(len(primals)), "vjp")
    out, aux = split_aux(traced.out, has_aux, "vjp")
    leaves, treedef = output_leaves(out, "vjp")

    def vjp_fn(cotangent):
        ct_leaves, ct_treedef = tree_flatten(cotangent)
        if ct_treedef != treedef:
            raise ValueError(
                f"vjp_fn: the cotangent has structure {ct_treedef}, the output has {treedef}"
            )
        cts = [
            conform(ct, leaf._data, "the cotangent" + _leaf_path(out, k), "vjp_fn")
            for k, (ct, leaf) in enumerate(zip(ct_leaves, leaves))
        ]
        on_tape = traced.nested or needs_tape(cts)
        flat = pull_back(leaves, cts, traced.inputs, create_graph=on_tape)
        return tuple(traced.per_argument(flat))

    result = plain(out, traced.nested), vjp_fn
    return (*result, plain(aux, traced.nested)) if has_aux else result


def _check_function(fun, fname):
    if not callable(fun):
        raise TypeError(
            f"tg.{fname} takes a function and returns a function; got a "
            f"{type(fun).__name__}. For gradients of a computed output (PyTorch's "
            f"torch.autograd.grad(out, x) habit) call out.backward() and read x.grad, "
            f"or write the computation as a function f and call tg.{fname}(f)(x)"
        )


def stop_gradient(x: Any) -> Any:
    """The value of ``x`` (a Tensor, array or pytree of them) with no gradient flowing back."""
    return tree_map(lambda leaf: leaf.detach() if isinstance(leaf, Tensor) else leaf, x)
