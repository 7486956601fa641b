"""Samples for tapegrad/ops/index.py (see tapegrad.ops.samples)."""

import numpy as np


def getitem(rng, dtype):
    """A (4, 3) array and one of: reversed slice, repeated ints, None and Ellipsis,
    boolean mask, 2-D int array, empty slice."""
    x = rng.standard_normal((4, 3)).astype(dtype)
    index = [
        (slice(None, None, -1), 1),
        (np.array([0, 0, 2]),),
        (Ellipsis, None, slice(1, None)),
        (x[:, 0] > 0,),
        (np.array([[1, 3], [3, 3]]), slice(0, 2)),
        (slice(None), np.array([2, 0, 2])),
        (0, 1),
        (slice(2, 2),),
    ][int(rng.integers(8))]
    return (x, index), {}


def scatter_add(rng, dtype):
    """(3, 2) values added at repeated ints, a slice, or repeats with a slice."""
    g = rng.standard_normal((3, 2)).astype(dtype)
    index, shape = [
        ((np.array([0, 2, 0]),), (4, 2)),
        ((slice(1, 4),), (5, 2)),
        ((np.array([1, 1, 1]), slice(None)), (2, 2)),
    ][int(rng.integers(3))]
    return (g, index, shape), {}


def setitem(rng, dtype):
    """A (4, 3) array and a value written at an int, slices, repeated ints (the
    last write wins), a boolean mask or an Ellipsis, broadcast to the place."""
    x = rng.standard_normal((4, 3)).astype(dtype)
    index, value_shape = [
        ((1,), (3,)),
        ((slice(None), 0), ()),
        ((slice(1, 3), slice(None)), (1, 3)),
        ((np.array([0, 2, 0]),), (3, 3)),
        ((np.array([3, 3]), np.array([1, 1])), (2,)),
        ((x > 0,), ()),
        ((Ellipsis, np.array([2, 0])), (4, 1)),
    ][int(rng.integers(7))]
    value = rng.standard_normal(value_shape).astype(dtype)
    return (x, index, value), {}


def setitem_reference(x, index, value):
    out = np.array(x, copy=True)
    out[index] = value
    return out
