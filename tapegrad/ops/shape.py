"""Shape primitives: they move elements, so each rule moves the cotangent back."""

import numpy as np

from ..domain import Domain
from ..primitive import primitive


def _reshape_sample(rng, dtype):
    shape = tuple(rng.integers(1, 4, size=rng.integers(0, 4)))
    x = rng.standard_normal(shape).astype(dtype)
    return (x, (int(np.prod(shape)),)), {}


@primitive(numpy=np.reshape, nondiff=(1,), domain=Domain(sample=_reshape_sample))
def reshape(x, shape, order="C"):
    return np.reshape(x, shape, order=order)


@reshape.defvjp
def _reshape_vjp(g, ans, x, shape, order="C"):
    return np.reshape(g, np.shape(x), order=order), None


def _broadcast_sample(rng, dtype):
    x = rng.standard_normal((3, 1)).astype(dtype)
    return (x, (2, 3, 4)), {}


@primitive(numpy=np.broadcast_to, nondiff=(1,), domain=Domain(sample=_broadcast_sample))
def broadcast_to(x, shape):
    return np.broadcast_to(x, shape)


@broadcast_to.defvjp
def _broadcast_to_vjp(g, ans, x, shape):
    # The engine sums the cotangent back to x's shape.
    return g, None


def _transpose_sample(rng, dtype):
    x = rng.standard_normal((2, 3, 4)).astype(dtype)
    return (x,), {"axes": tuple(rng.permutation(3))}


@primitive(numpy=np.transpose, domain=Domain(sample=_transpose_sample))
def transpose(x, axes=None):
    return np.transpose(x, axes)


@transpose.defvjp
def _transpose_vjp(g, ans, x, axes=None):
    inverse = None if axes is None else tuple(np.argsort(axes))
    return (np.transpose(g, inverse),)


def _swapaxes_sample(rng, dtype):
    x = rng.standard_normal((2, 3, 4)).astype(dtype)
    return (x, int(rng.integers(-3, 3)), int(rng.integers(-3, 3))), {}


@primitive(numpy=np.swapaxes, nondiff=(1, 2), domain=Domain(sample=_swapaxes_sample))
def swapaxes(x, axis1, axis2):
    return np.swapaxes(x, axis1, axis2)


@swapaxes.defvjp
def _swapaxes_vjp(g, ans, x, axis1, axis2):
    return np.swapaxes(g, axis1, axis2), None, None


__all__ = ["reshape", "broadcast_to", "transpose", "swapaxes"]


from ..primitive import implements  # noqa: E402


@implements(np.expand_dims)
def expand_dims(x, axis):
    """Composite: a reshape with size-1 axes inserted."""
    shape = np.expand_dims(np.empty(np.shape(x), dtype=bool), axis).shape
    return reshape(x, shape)


@implements(np.squeeze)
def squeeze(x, axis=None):
    """Composite: a reshape with size-1 axes removed."""
    shape = np.squeeze(np.empty(np.shape(x), dtype=bool), axis).shape
    return reshape(x, shape)


__all__ += ["expand_dims", "squeeze"]
