"""Indexing: ``x[index]`` and its transpose, scattering a cotangent back."""

import numpy as np

from ..domain import Domain
from ..primitive import primitive
from ..tensor import Tensor


def normalize_index(index):
    """Tensors inside an index become plain arrays; lists become arrays."""
    if isinstance(index, tuple):
        return tuple(normalize_index(i) for i in index)
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def is_basic(index):
    """True when ``index`` selects without repeats: ints, slices, None, Ellipsis."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts
    )


def _getitem_sample(rng, dtype):
    x = rng.standard_normal((4, 3)).astype(dtype)
    index = [
        (slice(None, None, -1), 1),
        (np.array([0, 0, 2]),),
        (Ellipsis, None, slice(1, None)),
        (x[:, 0] > 0,),
    ][int(rng.integers(4))]
    return (x, index), {}


@primitive(nondiff=(1,), domain=Domain(sample=_getitem_sample))
def getitem(x, index):
    return x[index]


@getitem.defvjp
def _getitem_vjp(g, ans, x, index):
    return scatter_add(g, index, np.shape(x)), None


def _scatter_sample(rng, dtype):
    g = rng.standard_normal((3,)).astype(dtype)
    return (g, (np.array([0, 2, 0]),), (4,)), {}


@primitive(nondiff=(1, 2), domain=Domain(sample=_scatter_sample))
def scatter_add(values, index, shape):
    """Zeros of ``shape`` with ``values`` added at ``index`` (repeats accumulate)."""
    out = np.zeros(shape, dtype=values.dtype)
    if is_basic(index):
        out[index] = values
    else:
        np.add.at(out, index, values)
    return out


@scatter_add.defvjp
def _scatter_add_vjp(g, ans, values, index, shape):
    return getitem(g, index), None, None


def index_tensor(x, index):
    """``x[index]``: the Tensor ``__getitem__``."""
    return getitem(x, normalize_index(index))


__all__ = ["getitem", "scatter_add"]
