"""Samples for tapegrad/nn/functional.py (see tapegrad.ops.samples).

Each call builds fresh state dicts: a primitive may update them (batchnorm's
running statistics), and one example must not leak into the next.
"""

import numpy as np


def affine(rng, dtype):
    """x of shape (N, d1, ..., dk), w of shape (d1 * ... * dk, M), b of shape (M,)."""
    N, M = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    features = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(1, 3)))
    x = rng.standard_normal((N, *features)).astype(dtype)
    w = rng.standard_normal((int(np.prod(features)), M)).astype(dtype)
    b = rng.standard_normal(M).astype(dtype)
    return (x, w, b), {}


def relu_reference(x):
    return np.maximum(0, x)


def batchnorm_op(rng, dtype):
    """(N, D) inputs with N >= 3 and a clear spread per column; train or test mode,
    with or without running statistics."""
    N, D = int(rng.integers(3, 6)), int(rng.integers(1, 4))
    # With N = 2 every x_norm is +-1 whatever x is; and the derivative of
    # 1/std is steep near zero variance.
    x = rng.standard_normal((N, D))
    x[0] += 1.0
    x[1] -= 1.0
    gamma = rng.standard_normal(D)
    beta = rng.standard_normal(D)
    bn_param = {"mode": "train" if rng.random() < 0.7 else "test"}
    if rng.random() < 0.8:
        bn_param["running_mean"] = rng.standard_normal(D).astype(dtype)
        bn_param["running_var"] = rng.uniform(0.5, 2.0, D).astype(dtype)
    return (x.astype(dtype), gamma.astype(dtype), beta.astype(dtype), bn_param), {}


def dropout_op(rng, dtype):
    """p in 0, 0.25, 0.5, 0.9; train mode (with a seed) or test mode."""
    shape = tuple(int(n) for n in rng.integers(0, 4, size=rng.integers(0, 3)))
    x = rng.standard_normal(shape).astype(dtype)
    dropout_param = {
        "p": float(rng.choice([0.0, 0.25, 0.5, 0.9])),
        "mode": "train" if rng.random() < 0.8 else "test",
        "seed": int(rng.integers(2**31)),
    }
    return (x, dropout_param), {}


def _labels(rng, N, C):
    return rng.integers(0, C, size=N)


def svm_loss(rng, dtype):
    """(N, C) scores whose margins stay at least 0.1 from the hinge, and labels."""
    N, C = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    # Scores on a 0.3 grid (plus a per-row shift, to which margins are
    # blind): every margin x_j - x_y + 1 is then at least 0.1 from the kink.
    grid = 0.3 * rng.integers(-10, 11, size=(N, C))
    x = grid + rng.standard_normal((N, 1))
    return (x.astype(dtype), _labels(rng, N, C)), {}


def softmax_loss(rng, dtype):
    """(N, C) scores and labels."""
    N, C = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    x = 2.0 * rng.standard_normal((N, C))
    return (x.astype(dtype), _labels(rng, N, C)), {}
