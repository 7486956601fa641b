"""Samples for tapegrad/ops/shape.py (see tapegrad.ops.samples)."""

import numpy as np


def _random_shape(rng, low=0, high=4, max_ndim=3):
    return tuple(int(n) for n in rng.integers(low, high, size=rng.integers(0, max_ndim + 1)))


def reshape(rng, dtype):
    """A new shape of the same size (flat, -1, padded with 1s, reversed), order C or F."""
    shape = _random_shape(rng)
    x = rng.standard_normal(shape).astype(dtype)
    size = int(np.prod(shape))
    new = [(size,), (-1,), (1, size, 1), shape[::-1]][int(rng.integers(4))]
    return (x, new), {"order": ("C", "F")[int(rng.integers(2))]}


def broadcast_to(rng, dtype):
    """Size-1 and missing axes spread to a larger shape, size 0 included."""
    x = rng.standard_normal([(3, 1), (), (1,), (0, 1)][int(rng.integers(4))]).astype(dtype)
    target = {2: (2, 3, 4), 0: (2, 3), 1: (3, 0)}[x.ndim] if x.size else (2, 0, 5)
    return (x, target), {}


def transpose(rng, dtype):
    """``axes`` None or a permutation, some axes negative."""
    shape = _random_shape(rng)
    x = rng.standard_normal(shape).astype(dtype)
    axes = (
        None
        if rng.random() < 0.3
        else tuple(int(a) - len(shape) * int(rng.integers(2)) for a in rng.permutation(len(shape)))
    )
    return (x,), {"axes": axes}


def swapaxes(rng, dtype):
    """Two axes of an array of ndim 1-3, maybe negative, maybe equal."""
    x = rng.standard_normal(_random_shape(rng, max_ndim=3) or (2,)).astype(dtype)
    n = max(x.ndim, 1)
    return (x,), {"axis1": int(rng.integers(-n, n)), "axis2": int(rng.integers(-n, n))}


def _join(rng, dtype, stack):
    count = int(rng.integers(1, 4))
    base = list(_random_shape(rng, max_ndim=2))
    if not stack:
        base = base or [2]
    axis = int(rng.integers(-len(base) - stack, len(base) + stack))
    arrays = []
    for _ in range(count):
        shape = list(base)
        if not stack:
            shape[axis] = int(rng.integers(0, 3))
        arrays.append(rng.standard_normal(shape).astype(dtype))
    return tuple(arrays), {"axis": axis}


def concatenate(rng, dtype):
    """1-3 arrays that differ along ``axis`` (sides 0-2)."""
    return _join(rng, dtype, stack=False)


def concatenate_reference(*arrays, axis=0, dtype=None, casting="same_kind"):
    return np.concatenate(arrays, axis=axis, dtype=dtype, casting=casting)


def stack(rng, dtype):
    """1-3 arrays of one shape (ndim 0-2), a new ``axis``."""
    return _join(rng, dtype, stack=True)


def stack_reference(*arrays, axis=0, dtype=None, casting="same_kind"):
    return np.stack(arrays, axis=axis, dtype=dtype, casting=casting)


def roll(rng, dtype):
    """One shift of the flattened array, or a shift per axis."""
    x = rng.standard_normal(_random_shape(rng, low=1) or (3,)).astype(dtype)
    if rng.random() < 0.3:
        return (x,), {"shift": int(rng.integers(-5, 5)), "axis": None}
    axes = tuple(
        int(a) for a in rng.choice(x.ndim, size=int(rng.integers(1, x.ndim + 1)), replace=False)
    )
    shifts = tuple(int(s) for s in rng.integers(-5, 5, size=len(axes)))
    return (x,), {"shift": shifts, "axis": axes}


def pad(rng, dtype):
    """Widths 0-2 before and after each axis, a random constant."""
    x = rng.standard_normal(_random_shape(rng, max_ndim=2)).astype(dtype)
    widths = tuple(tuple(int(w) for w in rng.integers(0, 3, size=2)) for _ in range(x.ndim))
    widths = widths or ((1, 2),)  # numpy takes no empty pad_width, even for a 0-d array
    return (x,), {"pad_width": widths, "constant_values": float(rng.standard_normal())}


def pad_reference(array, pad_width=(), constant_values=0):
    return np.pad(array, pad_width, mode="constant", constant_values=constant_values)
