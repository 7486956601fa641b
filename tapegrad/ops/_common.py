"""What the op families share: registration with the ``out=`` policy, unwrapping.

``implements`` is the engine's (:mod:`tapegrad.core.primitive`) plus one
policy, applied here once: a composite that takes numpy's ``out`` parameter
refuses it, because a Tensor cannot be written in place. (The numpy
dispatcher refuses ``np.f(t, out=...)`` and the recorder refuses ``out`` for
every primitive; this covers ``tg.f(t, out=...)`` of composites.) ``ufunc_primitive``
registers a numpy ufunc itself as an elementwise primitive.
"""

from __future__ import annotations

import functools
import inspect
import sys

import numpy as np

from ..core import dispatch as _dispatch
from ..core import primitive as _core
from ..core import tracing
from ..core.tensor import Tensor


def unwrap(x):
    """The array inside a Tensor, for code that computes on its values; anything else as is.

    Under ``tg.compile`` such code would run at trace time only: a traced
    Tensor refuses (see :func:`plain_call` for numpy calls that must replay).
    """
    if isinstance(x, Tensor):
        if tracing._threads_tracing:
            tracing.refuse_unwrap(x)
        return x._data
    return x


def metadata(x):
    """The array inside a Tensor, for its shape, dtype or memory layout only."""
    return x._data if isinstance(x, Tensor) else x


def plain_call(fun, *args, **kwargs):
    """``fun`` on the arrays of its Tensor arguments: a result without gradient
    (logged under ``tg.compile``: see :func:`tapegrad.core.dispatch.plain_call`)."""
    return _dispatch.plain_call(fun, args, kwargs)


def conjugated(x):
    """``x`` conjugated, for rules under the complex convention (docs/conventions.md).

    A real array, Tensor or number is returned as it is, where ``np.conjugate``
    would copy it: real programs pay one call. Duck arrays (Dask) stay lazy.
    """
    if type(x) is np.ndarray:
        return x.conjugate()  # the array itself when real: the common case, first
    dtype = getattr(x, "dtype", None)
    if dtype is None:  # a Python number
        return x.conjugate()
    if dtype.kind != "c":
        return x
    return np.conjugate(x)


def real_rule_only(name, x):
    """Raise for a complex ``x``: the rule of ``name`` is derived for real inputs, and
    a gradient that is silently wrong is worse than none."""
    if x.dtype.kind == "c":
        raise NotImplementedError(
            f"the gradient of {name} for complex input (dtype {x.dtype}, shape "
            f"{tuple(x.shape)}) is not implemented: its rule is derived for real inputs. "
            "Work on the real and imaginary parts, or detach the input"
        )


def refuses_out(fun):
    """``fun``, raising TypeError when its ``out`` parameter is given (keyword or position).

    The wrapper is generated with ``fun``'s own parameters (as dataclasses
    generates ``__init__``), so the check costs what an ``if`` in ``fun``
    would: forwarding ``*args, **kwargs`` costs ~4,000 instructions a call,
    a quarter of a small ``sum``.
    """
    name = fun.__name__.lstrip("_")
    signature = inspect.signature(fun)
    defaults = {}
    parameters, passed = [], []
    for p in signature.parameters.values():
        if p.default is not p.empty:
            defaults[f"_default_{p.name}"] = p.default
            p = p.replace(default=_Source(f"_default_{p.name}"))
        parameters.append(p.replace(annotation=p.empty))
        passed.append(_PASS[p.kind].format(p.name))
    text = str(signature.replace(parameters=parameters, return_annotation=signature.empty))
    source = (
        f"def {name}{text}:\n"
        "    if out is not None:\n"
        f"        _refuse({name!r})\n"
        f"    return _fun({', '.join(passed)})\n"
    )
    namespace = {"_fun": fun, "_refuse": _refuse, **defaults}
    exec(compile(source, f"<refuses_out {fun.__qualname__}>", "exec"), namespace)
    return functools.update_wrapper(namespace[name], fun)


class _Source:
    """A default that prints as the name it is bound to in the generated source."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


_PASS = {
    inspect.Parameter.POSITIONAL_ONLY: "{}",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "{}",
    inspect.Parameter.VAR_POSITIONAL: "*{}",
    inspect.Parameter.KEYWORD_ONLY: "{0}={0}",
    inspect.Parameter.VAR_KEYWORD: "**{}",
}


def _refuse(name):
    raise TypeError(
        f"{name}(..., out=...) on a Tensor: tensors are immutable, so the result "
        "cannot be written into `out`; use the returned value"
    )


def _takes_out(fun):
    try:
        return "out" in inspect.signature(fun).parameters
    except (TypeError, ValueError):
        return False


# The recorder refuses an ``out`` option for every primitive (core/recorder.py).
primitive = _core.primitive


def implements(*numpy_funcs):
    """``tapegrad.core.primitive.implements``; a composite with an ``out`` parameter refuses it."""
    register = _core.implements(*numpy_funcs)

    def decorate(fun):
        return register(refuses_out(fun) if _takes_out(fun) else fun)

    return decorate


def ufunc_primitive(ufunc, domain, *, numpy=None, **options):
    """The numpy ufunc itself as an elementwise primitive, under the ufunc's name.

    No Python forward in between: the ufunc is the forward (one frame less on
    the per-op path). ``numpy``: the numpy callables that dispatch to it
    (default: the ufunc). The primitive belongs to the calling module (its
    family), and its doc points at numpy's.
    """
    name = ufunc.__name__
    prim = _core.primitive(
        ufunc, name=name, numpy=numpy or ufunc, domain=domain, elementwise=True, **options
    )
    prim.__module__ = sys._getframe(1).f_globals["__name__"]  # as namedtuple does
    prim.__qualname__ = name
    prim.__doc__ = f"``np.{name}`` on Tensors; see ``help(numpy.{name})``."
    # help(tg.add) shows the inputs it takes: positional arrays, no ufunc keywords.
    inputs = ("x",) if ufunc.nin == 1 else tuple(f"x{i + 1}" for i in range(ufunc.nin))
    prim.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in inputs]
    )
    return prim
