"""Function transforms: grad, value_and_grad, vjp (layer primitives: tapegrad.nn.functional).

Each call builds a fresh tape. Arguments that are plain arrays become new
leaves; arguments that are already Tensors on an outer tape are passed
through an identity node, so the inner gradient is itself recorded and a
``grad`` of a ``grad`` works (create_graph on the inner backward).
"""

from __future__ import annotations

import functools

import numpy as np

from .core.backward import run_backward
from .core.primitive import primitive
from .core.tape import enable_grad, grad_mode
from .core.tensor import Tensor, as_array
from .domain import Domain


@primitive(numpy=np.copy, domain=Domain(("real",)), elementwise=True, zero_preserving=True)
def identity(x):
    # A view is enough: tensor arrays are never written in place.
    return x.view()


@identity.defvjp
def _identity_vjp(g, ans, x):
    return (g,)


def _argnums_tuple(argnums, nargs, fname):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for n in nums:
        if not -nargs <= n < nargs:
            raise ValueError(
                f"{fname}: argnums={argnums!r} but the function got {nargs} positional argument(s)"
            )
    return single, tuple(n % nargs for n in nums)


def _trace(fun, args, argnums, fname):
    """Run ``fun`` with the chosen arguments as fresh nodes; returns (out, inputs, nested)."""
    args = list(args)
    inputs = []
    nested = grad_mode.transform_depth > 0
    for n in argnums:
        arg = args[n]
        if isinstance(arg, Tensor) and arg.requires_grad:
            nested = True
            with enable_grad():
                start = identity(arg)
        else:
            array = as_array(arg)
            if array.dtype.kind != "f":
                raise TypeError(
                    f"{fname}: argument {n} has dtype {array.dtype}; only floating point "
                    "arguments can be differentiated (convert with .astype(float))"
                )
            start = Tensor(array, requires_grad=True)
        args[n] = start
        inputs.append(start)
    grad_mode.transform_depth += 1
    try:
        with enable_grad():
            out = fun(*args)
    finally:
        grad_mode.transform_depth -= 1
    return out, inputs, nested


def _gradients(out, inputs, cotangent, nested, retain_graph):
    if not isinstance(out, Tensor) or out._node is None:
        # The output does not depend on the inputs: every gradient is zero.
        return [np.zeros_like(t._data) for t in inputs]
    cts = run_backward(
        [out._node],
        [cotangent],
        targets=[t._node for t in inputs],
        retain_graph=retain_graph,
        create_graph=nested,
    )
    results = []
    for t, ct in zip(inputs, cts):
        if ct is None:
            ct = np.zeros_like(t._data)
        elif not nested and isinstance(ct, Tensor):
            ct = ct._data
        results.append(ct)
    return results


def _scalar_output(out, fname):
    data = out._data if isinstance(out, Tensor) else np.asarray(out)
    if data.size != 1:
        raise ValueError(
            f"{fname}: the function must return a scalar (one element), got shape "
            f"{data.shape}; use tg.vjp for non-scalar outputs"
        )
    return data


def value_and_grad(fun, argnums=0):
    """``value_and_grad(f)(*args) -> (f(*args), df/dargs)``; see :func:`grad`."""

    @functools.wraps(fun)
    def value_and_grad_fun(*args):
        single, nums = _argnums_tuple(argnums, len(args), "value_and_grad")
        out, inputs, nested = _trace(fun, args, nums, "value_and_grad")
        data = _scalar_output(out, "value_and_grad")
        grads = _gradients(out, inputs, np.ones_like(data), nested, retain_graph=False)
        value = out if nested else data.reshape(()).item() if data.ndim == 0 else data
        return value, grads[0] if single else tuple(grads)

    return value_and_grad_fun


def grad(fun, argnums=0):
    """The gradient of a scalar function, as a function.

    ``argnums`` (int or tuple) picks the arguments to differentiate; results
    are ndarrays shaped like them (a tuple for a tuple of argnums). Called on
    Tensors that require grad (inside another ``grad``), results are Tensors
    on the outer tape, so ``grad(grad(f))`` works.
    """

    @functools.wraps(fun)
    def grad_fun(*args):
        return value_and_grad(fun, argnums)(*args)[1]

    return grad_fun


def vjp(fun, *primals):
    """``out, vjp_fn = vjp(f, *primals)``; ``vjp_fn(cotangent)`` -> tuple, one per primal.

    ``vjp_fn`` may be called many times (the graph is kept).
    """
    nums = tuple(range(len(primals)))
    out, inputs, nested = _trace(fun, primals, nums, "vjp")
    out_data = out._data if isinstance(out, Tensor) else np.asarray(out)

    def vjp_fn(cotangent):
        ct = cotangent if isinstance(cotangent, Tensor) else as_array(cotangent)
        if ct.shape != out_data.shape:
            raise ValueError(
                f"vjp_fn: cotangent has shape {ct.shape}, the output has shape {out_data.shape}"
            )
        if not isinstance(ct, Tensor):
            ct = ct.astype(out_data.dtype, copy=False)
        return tuple(_gradients(out, inputs, ct, nested, retain_graph=True))

    return (out if nested else out_data), vjp_fn
