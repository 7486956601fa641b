"""Samples for tapegrad/scipy/integrate.py (see tapegrad.ops.samples).

numpy only at import, like every samples module: ``import tapegrad`` must not
import scipy (the reference imports it when called).
"""

import numpy as np

# Solver tolerances far below the finite differences' step (1e-7), so that the
# solver's own error does not swamp the differences.
_TIGHT = {"rtol": 1e-12, "atol": 1e-12}


def _damped_coupled(y, t, k, w):
    # Nonlinear, time-dependent and coupled, so every cotangent is exercised.
    return -k * y + np.tanh(w * y[::-1]) + 0.5 * np.sin(t)


def odeint(rng, dtype):
    """y0 of 2 components, 1-3 increasing times from t0 in [0, 0.5] (steps 0.2-0.8),
    rates k (2,) in [0.5, 1.5] and a coupling w; tight solver tolerances."""
    y0 = rng.standard_normal(2)
    steps = rng.uniform(0.2, 0.8, int(rng.integers(0, 3)))
    t = rng.uniform(0.0, 0.5) + np.concatenate([[0.0], np.cumsum(steps)])
    k = rng.uniform(0.5, 1.5, 2)
    w = np.array(rng.uniform(-1.0, 1.0))
    args = tuple(a.astype(dtype) for a in (y0, t, k, w))
    return args, {"func": _damped_coupled, **_TIGHT}


def odeint_reference(y0, t, *args, func, **solver):
    import scipy.integrate

    return scipy.integrate.odeint(func, y0, t, args=args, **solver)
