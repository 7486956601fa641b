"""Samples for tapegrad/ops/signal.py (see tapegrad.ops.samples)."""


def correlate(rng, dtype):
    """Two 1-D arrays of lengths 1-5 (either the longer), ``mode`` full, same or valid."""
    a = rng.standard_normal(int(rng.integers(1, 6))).astype(dtype)
    v = rng.standard_normal(int(rng.integers(1, 6))).astype(dtype)
    return (a, v), {"mode": ("full", "same", "valid")[int(rng.integers(3))]}
