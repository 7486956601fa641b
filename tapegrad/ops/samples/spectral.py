"""Samples for tapegrad/ops/spectral.py (see tapegrad.ops.samples).

Decompositions are differentiable only where eigenvalues (singular values)
are distinct and each vector's sign is clear, and norms only away from ties
and kinks: each sample builds its matrix to keep that distance.
"""

import numpy as np


def _mT(x):  # noqa: N802  (numpy's name)
    return np.swapaxes(x, -1, -2)


def _signs_are_clear(vectors):
    """Each column's largest magnitude beats the next by 0.1: its sign cannot flip
    under a small perturbation (nor under rounding to float32)."""
    if vectors.size == 0 or vectors.shape[-2] == 1:
        return True
    top = np.sort(np.abs(vectors), axis=-2)
    return bool(np.all(top[..., -1, :] - top[..., -2, :] >= 0.1))


def _symmetric(rng, dtype, clear_signs):
    n = int(rng.integers(1, 5))
    batch = [(), (2,), (0,)][int(rng.choice(3, p=[0.6, 0.3, 0.1]))]
    while True:
        q, _ = np.linalg.qr(rng.standard_normal((*batch, n, n)))
        if not clear_signs or _signs_are_clear(q):
            break
    values = (rng.permutation(n) - (n - 1) / 2) * 0.75 + rng.uniform(-0.5, 0.5)
    a = (q * values) @ _mT(q)
    uplo = "L" if rng.random() < 0.7 else "U"
    noise = rng.standard_normal(a.shape)
    a = a + (np.triu(noise, 1) if uplo == "L" else np.tril(noise, -1))
    return (a.astype(dtype),), {"UPLO": uplo}


def eigh(rng, dtype):
    """Eigenvalues at least 0.75 apart, eigenvector signs clear; noise in the
    triangle numpy does not read (``UPLO``), which the gradient must ignore."""
    return _symmetric(rng, dtype, clear_signs=True)


def eigvalsh(rng, dtype):
    """As for eigh, without the condition on the eigenvectors' signs."""
    return _symmetric(rng, dtype, clear_signs=False)


def _rectangular(rng, dtype, clear_signs):
    rows, cols = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    k = min(rows, cols)
    batch = [(), (2,), (0,)][int(rng.choice(3, p=[0.6, 0.3, 0.1]))]
    while True:
        u, _ = np.linalg.qr(rng.standard_normal((*batch, rows, rows)))
        if not clear_signs or _signs_are_clear(u[..., :k]):
            break
    v, _ = np.linalg.qr(rng.standard_normal((*batch, cols, cols)))
    values = 1.0 + 0.75 * rng.permutation(k)
    return ((u[..., :k] * values) @ _mT(v[..., :k])).astype(dtype)


def svd(rng, dtype):
    """Matrices (1-4 by 1-4, batched) with singular values 1, 1.75, 2.5, ... in
    random order, and singular vectors of clear sign."""
    return (_rectangular(rng, dtype, clear_signs=True),), {}


def svdvals(rng, dtype):
    """As for svd, without the condition on the singular vectors' signs."""
    return (_rectangular(rng, dtype, clear_signs=False),), {}


def pinv(rng, dtype):
    """As for svdvals: full rank, singular values 1, 1.75, 2.5, ..."""
    return (_rectangular(rng, dtype, clear_signs=False),), {}


def _norm_values(rng, dtype, shape):
    """Entries with distinct magnitudes >= 0.5: no ties, no kinks at zero."""
    size = int(np.prod(shape))
    magnitude = 0.5 + 0.25 * rng.permutation(size)
    sign = np.where(rng.random(size) < 0.5, -1.0, 1.0)
    return (sign * magnitude).reshape(shape).astype(dtype)


def vector_norm(rng, dtype):
    """Entries with distinct magnitudes >= 0.5; ``ord`` 2, 1, inf, -inf, 3, 0.5, 0, -1;
    ``axis`` None, one axis or several."""
    ord_ = [2, 1, np.inf, -np.inf, 3, 0.5, 0, -1][int(rng.integers(8))]
    low = 0 if ord_ in (2, 1, 3, 0) else 1
    shape = tuple(int(n) for n in rng.integers(low, 4, size=rng.integers(0, 4)))
    x = _norm_values(rng, dtype, shape)
    ndim = len(shape)
    choice = int(rng.integers(3)) if ndim else 0
    axis = [
        None,
        int(rng.integers(-ndim, ndim)) if ndim else None,
        tuple(range(ndim))[: max(1, ndim - 1)],
    ][choice]
    return (x,), {"axis": axis, "keepdims": bool(rng.integers(2)), "ord": ord_}


def _matrix(rng, dtype):
    rows = int(rng.integers(1, 4))
    cols = int(rng.integers(1, 4))
    batch = tuple(int(n) for n in rng.integers(1, 3, size=rng.integers(0, 2)))
    return _norm_values(rng, dtype, (*batch, rows, cols))


def matrix_norm_abs_sum(rng, dtype):
    """Matrices whose absolute row and column sums are at least 0.1 apart (no
    ties); ``ord`` 1, -1, inf, -inf."""
    while True:
        x = _matrix(rng, dtype)
        sums = np.concatenate([np.abs(x).sum(-1), np.abs(x).sum(-2)], axis=-1)
        gaps = np.diff(np.sort(sums, axis=-1), axis=-1)
        if gaps.size == 0 or gaps.min() >= 0.1:
            break
    axis = (-2, -1) if rng.random() < 0.5 else (-1, -2)
    ord_ = [1, -1, np.inf, -np.inf][int(rng.integers(4))]
    return (x,), {"ord": ord_, "axis": axis, "keepdims": bool(rng.integers(2))}


def matrix_norm_singular(rng, dtype):
    """Matrices with singular values 1, 1.75, 2.5, ...; ``ord`` 2, -2, 'nuc'."""
    rows = int(rng.integers(1, 4))
    cols = int(rng.integers(1, 4))
    k = min(rows, cols)
    u, _ = np.linalg.qr(rng.standard_normal((rows, rows)))
    v, _ = np.linalg.qr(rng.standard_normal((cols, cols)))
    values = 1.0 + 0.75 * rng.permutation(k)  # distinct, away from 0
    x = u[:, :k] @ np.diag(values) @ v[:, :k].T
    ord_ = [2, -2, "nuc"][int(rng.integers(3))]
    return (x.astype(dtype),), {"ord": ord_, "axis": (-2, -1), "keepdims": bool(rng.integers(2))}


def matrix_norm_reference(x, ord=None, axis=(-2, -1), keepdims=False):  # noqa: A002
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
