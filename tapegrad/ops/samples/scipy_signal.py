"""Samples for tapegrad/scipy/signal.py (see tapegrad.ops.samples).

numpy only, like every samples module: ``import tapegrad`` must not import scipy.
"""

import numpy as np


def correlate(rng, dtype):
    """in1 and in2 of the same ndim (0-3), sides 1-4; ``mode`` 'full', 'same' or
    'valid' (for 'valid' one input is at least as large as the other along every
    axis, as scipy requires); ``method`` 'direct' or 'fft'."""
    ndim = int(rng.integers(0, 4))
    s1 = rng.integers(1, 5, ndim)
    s2 = rng.integers(1, 5, ndim)
    mode = ("full", "same", "valid")[int(rng.integers(3))]
    if mode == "valid":
        small, large = np.minimum(s1, s2), np.maximum(s1, s2)
        s1, s2 = (large, small) if rng.random() < 0.5 else (small, large)
    in1 = rng.standard_normal(tuple(int(n) for n in s1)).astype(dtype)
    in2 = rng.standard_normal(tuple(int(n) for n in s2)).astype(dtype)
    # 0-d inputs are arrays too: the differentiated inputs are the float arrays.
    in1, in2 = np.asarray(in1, dtype=dtype), np.asarray(in2, dtype=dtype)
    return (in1, in2), {"mode": mode, "method": ("direct", "fft")[int(rng.integers(2))]}
