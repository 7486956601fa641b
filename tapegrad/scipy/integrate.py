"""scipy.integrate.odeint on Tensors, differentiated by the adjoint method.

``tsp.integrate.odeint(func, y0, t, args=())`` returns scipy's solution and
records one node. Its rule does not differentiate through the solver's
steps: it integrates the adjoint system backward in time with scipy's
``odeint`` again (Pontryagin; Chen et al. 2018, "Neural ordinary
differential equations"), from one output time to the one before, adding
each time's cotangent on the way. The state carried backward is

    [y, a, p_bar]:   dy/dt = f(y, t, p),  da/dt = -a^T df/dy,
                     dp_bar/dt = -a^T df/dp,

with ``a`` the cotangent of y(t) and ``p_bar`` the accumulated cotangent of
the parameters; ``a^T df/dy`` and ``a^T df/dp`` come from ``tg.vjp`` of
``func``, so ``func`` is written with numpy calls (or ``tg.*``) on its
arguments. The time points get ``g_i . f(y_i, t_i)``, and the first one
``-a(t_0) . f(y0, t_0)`` for the outputs after it.

Each backward segment is a call of the same primitive on the augmented
system, and the times' cotangents are ``func`` evaluated on the tape, so
under ``create_graph`` the backward pass is recorded like any other, and
differentiating it is the adjoint method again, on the augmented system.
"""

import numpy as np
import scipy.integrate as si

from ..core import primitive as _core
from ..core.tensor import Tensor
from ..domain import Domain
from ..ops._common import unwrap
from ..ops.index import call_in_rule
from ..ops.samples import scipy_integrate as samples
from ..transforms import vjp

_SOLVER_OPTIONS = ("rtol", "atol", "tcrit", "h0", "hmax", "hmin", "mxstep")


def _state(value):
    """``func``'s result as one array or Tensor (a list of components is stacked)."""
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, Tensor) for v in value):
            return np.stack([v if isinstance(v, Tensor) else np.asarray(v) for v in value])
        return np.asarray(value)
    return value


def _on_arrays(func, tfirst, y, tau, args):
    """``func`` at ndarray values, as the solver wants it: a float64 ndarray."""
    out = _state(func(tau, y, *args) if tfirst else func(y, tau, *args))
    if isinstance(out, Tensor):
        if out.requires_grad:
            raise TypeError(
                "tsp.integrate.odeint: func's result requires grad although y, t and "
                "args were plain arrays: it reads a Tensor that requires grad from "
                "outside (a closure or a global). Pass that Tensor in `args` so that "
                "odeint can compute its gradient"
            )
        out = unwrap(out)
    return np.asarray(out, dtype=np.float64)


@_core.primitive(
    name="odeint",
    domain=Domain(sample=samples.odeint, reference=samples.odeint_reference, dtypes=("float64",)),
)
def _odeint(y0, t, *args, func, tfirst=False, **solver):
    """``scipy.integrate.odeint(func, y0, t, args)``: one row of y per time in ``t``."""

    def call(y, tau):
        return _on_arrays(func, tfirst, y, tau, args)

    out = si.odeint(call, y0, t, **solver)
    return out.astype(np.result_type(y0, t, np.float32), copy=False)


def _differentiated(args):
    """Positions of the float arguments (the ones that get a cotangent)."""
    return [
        i
        for i, a in enumerate(args)
        if isinstance(a, (Tensor, np.ndarray, np.generic, float))
        and np.result_type(unwrap(a)).kind == "f"
    ]


def _vjp_of_func(func, tfirst, y, tau, args, positions):
    """``f(y, tau, *args)`` and its pullback, in y and the args at ``positions``."""

    def f(y, *chosen):
        full = list(args)
        for i, value in zip(positions, chosen):
            full[i] = value
        out = _state(func(tau, y, *full) if tfirst else func(y, tau, *full))
        if not (isinstance(out, Tensor) and out.requires_grad):
            out = out + 0.0 * y  # dy/dt depends on t alone: a zero derivative
        return out

    return vjp(f, y, *(args[i] for i in positions))


@_odeint.defvjp
def _odeint_vjp(g, ans, y0, t, *args, func, tfirst=False, **solver):
    positions = _differentiated(args)
    sizes = [int(np.size(unwrap(args[i]))) for i in positions]
    n = int(np.size(unwrap(y0)))

    def augmented(state, tau, *params):
        full = list(args)
        for i, value in zip(positions, params):
            full[i] = value
        y, a = state[:n], state[n : 2 * n]
        out, pull = _vjp_of_func(func, tfirst, y, tau, full, positions)
        pieces = [out, *pull(-a)]
        if not any(isinstance(v, Tensor) for v in (state, *params)):
            # Called by the solver on arrays: inside another transform tg.vjp
            # answers with Tensors of its own trace, whose values are all we need.
            pieces = [unwrap(p) for p in pieces]
        return np.concatenate([np.ravel(p) for p in pieces])

    def f(y, tau):
        return np.ravel(_state(func(tau, y, *args) if tfirst else func(y, tau, *args)))

    params = [args[i] for i in positions]
    times = len(t)
    a = g[times - 1]
    p_bar = np.zeros(sum(sizes), dtype=np.result_type(unwrap(ans)))
    t_bar = []
    for i in range(times - 1, 0, -1):
        t_bar.append(np.sum(g[i] * f(ans[i], t[i])))
        start = np.concatenate([ans[i], a, p_bar])
        span = np.stack([t[i], t[i - 1]])
        # tfirst is already absorbed in `augmented`, which takes (state, tau).
        end = call_in_rule(_odeint, start, span, *params, func=augmented, **solver)[1]
        a = end[n : 2 * n] + g[i - 1]
        p_bar = end[2 * n :]
    t_bar.append(-np.sum((a - g[0]) * f(y0, t[0])) if times > 1 else np.sum(0.0 * g[0]))
    g_t = np.stack(t_bar[::-1])
    g_args = [None] * len(args)
    offset = 0
    for i, size in zip(positions, sizes):
        g_args[i] = np.reshape(p_bar[offset : offset + size], np.shape(unwrap(args[i])))
        offset += size
    return (np.reshape(a, np.shape(unwrap(y0))), g_t, *g_args)


def odeint(func, y0, t, args=(), tfirst=False, full_output=False, **solver):
    """``scipy.integrate.odeint``, differentiable in ``y0``, ``t`` and the float ``args``.

    ``func(y, t, *args)`` (``func(t, y, *args)`` with ``tfirst``) is written
    with numpy calls or ``tg.*`` and may return a list of components. Solver
    options: ``rtol``, ``atol``, ``tcrit``, ``h0``, ``hmax``, ``hmin``,
    ``mxstep``; the backward pass uses the same ones. ``Dfun`` and
    ``full_output`` are not supported.
    """
    unknown = sorted(set(solver) - set(_SOLVER_OPTIONS))
    if full_output or unknown:
        what = ["full_output"] if full_output else unknown
        raise TypeError(
            f"tsp.integrate.odeint: {', '.join(what)} not supported "
            f"(supported solver options: {', '.join(_SOLVER_OPTIONS)})"
        )
    if np.ndim(y0) > 1 or np.ndim(t) != 1:
        raise ValueError(
            "tsp.integrate.odeint: y0 must be a scalar or a vector and t a vector, got "
            f"y0 shape {np.shape(y0)} and t shape {np.shape(t)}"
        )
    if not isinstance(args, tuple):
        args = (args,)
    for name, value in (("y0", y0), ("t", t), *((f"args[{i}]", a) for i, a in enumerate(args))):
        if isinstance(value, Tensor) and value.requires_grad and value.dtype.kind == "c":
            raise TypeError(
                f"tsp.integrate.odeint: {name} is complex ({value.dtype}, shape "
                f"{value.shape}); scipy's odeint integrates real systems only"
            )
    return _odeint(y0, t, *args, func=func, tfirst=tfirst, **solver)


__all__ = ["odeint"]
