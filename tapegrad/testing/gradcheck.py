"""check_grads: reverse-mode derivatives against central finite differences."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..functional import vjp
from ..tensor import Tensor, as_array


def _float_positions(args):
    return [i for i, a in enumerate(args) if np.result_type(a).kind == "f"]


def _tolerances(args, rtol, atol):
    single = any(np.result_type(a) == np.float32 for a in args)
    default_rtol, default_atol = (2e-2, 2e-3) if single else (1e-5, 1e-7)
    return (default_rtol if rtol is None else rtol), (default_atol if atol is None else atol)


def _numeric_vjp(scalar_fun, args, position, eps):
    """Central differences of ``scalar_fun`` along every element of args[position]."""
    x = np.array(args[position], dtype=np.float64)
    out = np.zeros_like(x)
    step = eps * np.maximum(1.0, np.abs(x))
    for index in np.ndindex(x.shape):
        h = step[index]
        shifted = list(args)
        x_plus, x_minus = x.copy(), x.copy()
        x_plus[index] += h
        x_minus[index] -= h
        shifted[position] = x_plus
        f_plus = scalar_fun(*shifted)
        shifted[position] = x_minus
        f_minus = scalar_fun(*shifted)
        out[index] = (f_plus - f_minus) / (2 * h)
    return out


def _report(name, position, arg, analytic, numeric, rtol, atol):
    error = np.abs(analytic - numeric)
    bound = atol + rtol * np.abs(numeric)
    worst = np.unravel_index(np.argmax(error - bound), error.shape) if error.size else ()
    relative = error / np.maximum(np.abs(numeric), 1e-300)
    return (
        f"{name}: gradient of argument {position} (shape {np.shape(arg)}, dtype "
        f"{np.result_type(arg)}) disagrees with central finite differences\n"
        f"  worst element {tuple(int(i) for i in worst)}: analytic {analytic[worst]!r}, "
        f"numeric {numeric[worst]!r}\n"
        f"  max abs error {error.max():.3e}, max rel error {relative.max():.3e}; "
        f"rtol={rtol}, atol={atol}"
    )


def check_grads(f, *args, order=1, eps=None, rtol=None, atol=None, seed=0):
    """Check the derivatives of ``f`` at ``args`` up to ``order`` (1 or 2).

    ``f`` takes the arguments (arrays or Tensors) and returns a Tensor of any
    shape. Its output is projected on a fixed random cotangent, the VJP is
    compared with central differences computed in float64, and for order 2
    the same check runs on the VJP itself. Raises AssertionError with a report
    on mismatch.
    """
    args = [a._data if isinstance(a, Tensor) else as_array(a) for a in args]
    rng = np.random.default_rng(seed)
    positions = _float_positions(args)
    rtol, atol = _tolerances(args, rtol, atol)
    eps = 1e-6 if eps is None else eps

    out, vjp_fn = vjp(f, *args)
    cotangent = rng.standard_normal(np.shape(out)).astype(np.result_type(out))

    def projected(*xs):
        value = f(*[np.asarray(x) for x in xs])
        return float(np.vdot(cotangent, as_array(value).astype(np.float64)))

    analytic = vjp_fn(cotangent)
    for position in positions:
        numeric = _numeric_vjp(projected, args, position, eps)
        got = np.asarray(analytic[position], dtype=np.float64)
        if not np.allclose(got, numeric, rtol=rtol, atol=atol, equal_nan=True):
            raise AssertionError(
                _report("check_grads", position, args[position], got, numeric, rtol, atol)
            )
    if order >= 2:
        weights = [rng.standard_normal(np.shape(args[p])) for p in positions]

        def projected_vjp(*xs):
            # <w, J^T v> summed over the inputs: a scalar whose gradient is a
            # Hessian-vector product, so order 2 reuses the order-1 check.
            _, inner = vjp(f, *xs)
            grads = inner(cotangent)
            total = 0.0
            for w, p in zip(weights, positions):
                total = total + ops.sum(grads[p] * w.astype(np.result_type(xs[p])))
            return total

        check_grads(
            projected_vjp, *args, order=order - 1, eps=eps, rtol=rtol, atol=atol, seed=seed + 1
        )
