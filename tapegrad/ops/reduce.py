"""Reductions over axes (None, int, negative int or tuple; keepdims)."""

import numpy as np

from ..domain import Domain
from ..primitive import primitive

REDUCE = Domain(("real",), shapes="reduce", kwargs={"keepdims": (False, True)})


def normalize_axis(axis, ndim):
    """``axis`` as a sorted tuple of non-negative ints (None: every axis)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(sorted(int(a) % ndim if ndim else int(a) for a in axis))


def restore_reduced(g, shape, axis, keepdims):
    """Give ``g`` (a reduction's output cotangent) back the reduced axes as size 1."""
    if keepdims or not shape:
        return g
    return np.reshape(g, reduced_shape(shape, axis))


def reduced_shape(shape, axis):
    axes = normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


@primitive(numpy=np.sum, domain=REDUCE)
def sum(x, axis=None, keepdims=False):  # noqa: A001  (numpy's name)
    return np.sum(x, axis=axis, keepdims=keepdims)


@sum.defvjp
def _sum_vjp(g, ans, x, axis=None, keepdims=False):
    return (np.broadcast_to(restore_reduced(g, np.shape(x), axis, keepdims), np.shape(x)),)


__all__ = ["sum"]
