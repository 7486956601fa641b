"""Samples for tapegrad/scipy/special.py (see tapegrad.ops.samples).

numpy only, like every samples module: ``import tapegrad`` must not import scipy.
"""

import numpy as np


def _shape(rng):
    return [(), (3,), (2, 3), (0,)][int(rng.integers(4))]


def probability(rng, dtype):
    """Values in [0.05, 0.95]: inside (0, 1), away from its ends (logit, ndtri)."""
    return (rng.uniform(0.05, 0.95, _shape(rng)).astype(dtype),), {}


def erfcinv(rng, dtype):
    """Values in [0.1, 1.9]: inside erfcinv's (0, 2), away from its ends."""
    return (rng.uniform(0.1, 1.9, _shape(rng)).astype(dtype),), {}


def polygamma(rng, dtype):
    """An integer order 0-3 per element, x in [0.5, 5]."""
    shape = _shape(rng)
    n = rng.integers(0, 4, shape)
    return (n, rng.uniform(0.5, 5.0, shape).astype(dtype)), {}


def bessel(rng, dtype):
    """An order v in [-2.5, 2.5] (not differentiated), z in [0.5, 6]."""
    shape = _shape(rng)
    v = rng.uniform(-2.5, 2.5, shape).astype(dtype)
    return (v, rng.uniform(0.5, 6.0, shape).astype(dtype)), {}


def moderate(rng, dtype):
    """|x| up to 4: erf's derivative exp(-x^2) stays a normal float32 (at 10 it is 4e-44)."""
    return (rng.uniform(-4.0, 4.0, _shape(rng)).astype(dtype),), {}


def positive_pair(rng, dtype):
    """x, y in [0.2, 5], at least 0.1 apart: at x == y kl_div's derivative in y is 0
    and its finite difference is rounding noise."""
    shape = _shape(rng)
    x = rng.uniform(0.2, 5.0, shape)
    y = rng.uniform(0.2, 5.0, shape)
    y = np.where(np.abs(x - y) < 0.1, x + 0.3, y)
    return (x.astype(dtype), y.astype(dtype)), {}
