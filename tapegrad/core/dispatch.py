"""numpy's protocols: ``np.exp(t)``, ``np.sum(t, 0)``, ``np.concatenate([t, a])``.

A numpy call that reaches a Tensor is routed to the primitive (or composite)
registered for it. Functions that never carry a gradient (comparisons,
argmax, floor, ...) run on the plain arrays and return plain arrays. Anything
else is a TypeError when a gradient could be lost, and runs on plain arrays
otherwise.
"""

from __future__ import annotations

import sys

import numpy as np

from . import tracing
from .primitive import NUMPY_HANDLERS, NUMPY_NONDIFFERENTIABLE
from .tensor import Tensor


def plain_call(func, args, kwargs):
    """``func`` on the Tensors' arrays (inside lists too): a result without gradient.

    Logged under ``tg.compile`` (the replay calls ``func`` again, and the result
    is then a Tensor, so values computed from it stay in the program).
    """
    args = _unwrap(args)
    kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
    tracer = tracing.current()
    if tracer is None:
        return func(*args, **kwargs)
    return tracing.wrap_plain(tracer.call(func, *args, **kwargs))


def _unwrap(x):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    return x


def _needs_grad(x):
    if isinstance(x, Tensor):
        return x._node is not None
    if isinstance(x, (list, tuple)):
        return any(_needs_grad(v) for v in x)
    return False


def _how_to_register(name):
    return (
        f"function {name} has no tapegrad rule, and an argument requires grad: "
        "its gradient would be lost. Register one with @tapegrad.primitive(numpy="
        f"{name}) and .defvjp, or compose it from supported functions with "
        f"@tapegrad.implements({name}); or call it on x.detach() if no gradient is wanted"
    )


def ufunc_name(ufunc):
    """Where the caller found the ufunc: ``np.exp``, ``scipy.special.gammaln``."""
    name = ufunc.__name__
    if getattr(np, name, None) is ufunc:
        return f"np.{name}"
    special = sys.modules.get("scipy.special")  # only if the caller imported it
    if special is not None and getattr(special, name, None) is ufunc:
        return f"scipy.special.{name}"
    return f"the ufunc {name}"


def dispatch_ufunc(ufunc, method, inputs, kwargs):
    if kwargs.get("out") is not None:
        raise TypeError(
            f"{ufunc_name(ufunc)}(..., out=...) on a Tensor: tensors are immutable, "
            "so the result cannot be written into `out`; use the returned value"
        )
    if method == "at" and inputs and isinstance(inputs[0], Tensor):
        _refuse_in_place(f"{ufunc_name(ufunc)}.at")
    if method == "__call__":
        handler = NUMPY_HANDLERS.get(ufunc)
        if handler is not None:
            return handler(*inputs, **kwargs)
        if ufunc in NUMPY_NONDIFFERENTIABLE or not any(_needs_grad(x) for x in inputs):
            return plain_call(ufunc, inputs, kwargs)
        raise TypeError(_how_to_register(f"{ufunc_name(ufunc)}"))
    handler = NUMPY_HANDLERS.get(getattr(ufunc, method))
    if handler is not None:
        return handler(*inputs, **kwargs)
    if any(_needs_grad(x) for x in inputs):
        raise TypeError(
            f"{ufunc_name(ufunc)}.{method} on a Tensor that requires grad has no "
            f"tapegrad rule; use the matching function instead (e.g. np.sum for "
            "np.add.reduce), or call it on x.detach()"
        )
    return plain_call(getattr(ufunc, method), inputs, kwargs)


# numpy functions that write into their first argument: never into a Tensor.
IN_PLACE_WRITERS = {
    np.copyto,
    np.fill_diagonal,
    np.put,
    np.putmask,
    np.place,
    np.put_along_axis,
}


def _refuse_in_place(name):
    raise TypeError(
        f"{name} writes into its first argument in place, and tensors are immutable "
        "(the tape may have saved that array). Build a new tensor instead: "
        "x[index] = value (which rebinds x), tg.where, or tg.concatenate"
    )


def dispatch_function(func, args, kwargs):
    if func in IN_PLACE_WRITERS and args and isinstance(args[0], Tensor):
        _refuse_in_place(f"np.{func.__name__}")
    if kwargs.get("out") is not None:
        raise TypeError(
            f"np.{func.__name__}(..., out=...) on a Tensor: tensors are immutable, "
            "so the result cannot be written into `out`; use the returned value"
        )
    handler = NUMPY_HANDLERS.get(func)
    if handler is not None:
        return handler(*args, **kwargs)
    name = f"{func.__module__}.{func.__name__}".replace("numpy.", "np.")
    if func in NUMPY_NONDIFFERENTIABLE or not (_needs_grad(args) or _needs_grad_in(kwargs)):
        return plain_call(func, args, kwargs)
    raise TypeError(_how_to_register(name))


def _needs_grad_in(kwargs):
    return any(_needs_grad(v) for v in kwargs.values())
