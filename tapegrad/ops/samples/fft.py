"""Samples for tapegrad/ops/fft.py (see tapegrad.ops.samples)."""

NORMS = (None, "backward", "ortho", "forward")


def fft_1d(rng, dtype):
    """A 1-3-D array with 2-5 elements along ``axis``; ``n`` None, shorter or longer; any norm."""
    ndim = int(rng.integers(1, 4))
    shape = tuple(int(k) for k in rng.integers(2, 6, size=ndim))
    axis = int(rng.integers(-ndim, ndim))
    n = (None, None, int(rng.integers(2, 8)))[int(rng.integers(3))]
    a = rng.standard_normal(shape).astype(dtype)
    return (a,), {"n": n, "axis": axis, "norm": NORMS[int(rng.integers(4))]}


def fft_nd(rng, dtype):
    """A 1-3-D array; ``axes`` None or one or two axes; ``s`` None or one length per axis
    (with ``axes`` given)."""
    ndim = int(rng.integers(1, 4))
    shape = tuple(int(k) for k in rng.integers(2, 5, size=ndim))
    axes = None
    if rng.integers(2):
        count = int(rng.integers(1, min(ndim, 2) + 1))
        axes = tuple(int(a) for a in rng.permutation(ndim)[:count])
    s = None
    if rng.integers(2):
        if axes is None:  # numpy 2 deprecates s without axes
            axes = tuple(range(ndim))
        s = tuple(int(k) for k in rng.integers(2, 7, size=len(axes)))
    a = rng.standard_normal(shape).astype(dtype)
    return (a,), {"s": s, "axes": axes, "norm": NORMS[int(rng.integers(4))]}


def shift(rng, dtype):
    """A 1-3-D array; ``axes`` None, one axis or a tuple."""
    ndim = int(rng.integers(1, 4))
    shape = tuple(int(k) for k in rng.integers(1, 6, size=ndim))
    axes = (None, int(rng.integers(-ndim, ndim)), tuple(range(ndim)))[int(rng.integers(3))]
    return (rng.standard_normal(shape).astype(dtype),), {"axes": axes}
