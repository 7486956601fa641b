"""Samples for tapegrad/ops/spectral.py (see tapegrad.ops.samples).

Decompositions are differentiable only where eigenvalues (singular values)
are distinct and LAPACK's choice of each vector's sign does not change
nearby, and norms only away from ties and kinks: each sample builds its
matrix to keep that distance.
"""

import numpy as np


def _mT(x):  # noqa: N802  (numpy's name)
    return np.swapaxes(x, -1, -2)


def _signs_are_stable(vectors, a, tries=3, step=1e-4):
    """numpy's vectors keep their signs near ``a``: under perturbations much larger
    than a finite-difference step, and in float64 for a float32 ``a`` (finite
    differences run in float64). ``vectors(a)`` returns the arrays of vectors,
    each vector along axis -2."""
    if a.size == 0:
        return True
    exact = a.astype(np.float64)
    base = vectors(exact)
    rng = np.random.default_rng(0)
    nearby = [a] + [exact + step * rng.standard_normal(a.shape) for _ in range(tries)]
    for point in nearby:
        for v, w in zip(base, vectors(point)):
            if np.any(np.sum(v * w.astype(np.float64), axis=-2) < 0.5):
                return False
    return True


def _eigenvectors(uplo):
    def vectors(a):
        return (np.linalg.eigh(a, UPLO=uplo).eigenvectors,)

    return vectors


def _singular_vectors(a):
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return u, _mT(vh)


def _symmetric(rng, dtype, stable_signs):
    n = int(rng.integers(1, 5))
    batch = [(), (2,), (0,)][int(rng.choice(3, p=[0.6, 0.3, 0.1]))]
    uplo = "L" if rng.random() < 0.7 else "U"
    while True:
        q, _ = np.linalg.qr(rng.standard_normal((*batch, n, n)))
        values = (rng.permutation(n) - (n - 1) / 2) * 0.75 + rng.uniform(-0.5, 0.5)
        a = (q * values) @ _mT(q)
        noise = rng.standard_normal(a.shape)
        a = (a + (np.triu(noise, 1) if uplo == "L" else np.tril(noise, -1))).astype(dtype)
        if not stable_signs or _signs_are_stable(_eigenvectors(uplo), a):
            return (a,), {"UPLO": uplo}


def eigh(rng, dtype):
    """Eigenvalues at least 0.75 apart, where numpy's eigenvector signs do not
    change nearby; noise in the triangle numpy does not read (``UPLO``), which
    the gradient must ignore."""
    return _symmetric(rng, dtype, stable_signs=True)


def eigvalsh(rng, dtype):
    """As for eigh, without the condition on the eigenvectors' signs."""
    return _symmetric(rng, dtype, stable_signs=False)


def _rectangular(rng, dtype, stable_signs):
    rows, cols = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    k = min(rows, cols)
    batch = [(), (2,), (0,)][int(rng.choice(3, p=[0.6, 0.3, 0.1]))]
    while True:
        u, _ = np.linalg.qr(rng.standard_normal((*batch, rows, rows)))
        v, _ = np.linalg.qr(rng.standard_normal((*batch, cols, cols)))
        values = 1.0 + 0.75 * rng.permutation(k)
        a = ((u[..., :k] * values) @ _mT(v[..., :k])).astype(dtype)
        if not stable_signs or _signs_are_stable(_singular_vectors, a):
            return a


def svd(rng, dtype):
    """Matrices (1-4 by 1-4, batched) with singular values 1, 1.75, 2.5, ... in
    random order, where numpy's singular vector signs do not change nearby."""
    return (_rectangular(rng, dtype, stable_signs=True),), {}


def svdvals(rng, dtype):
    """As for svd, without the condition on the singular vectors' signs."""
    return (_rectangular(rng, dtype, stable_signs=False),), {}


def pinv(rng, dtype):
    """As for svdvals: full rank, singular values 1, 1.75, 2.5, ..."""
    return (_rectangular(rng, dtype, stable_signs=False),), {}


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


def _axis_pair(rng, ndim):
    first, second = (int(a) for a in rng.choice(ndim, size=2, replace=False))
    return tuple(a - ndim if rng.random() < 0.5 else a for a in (first, second))


def norm_entrywise(rng, dtype):
    """Entries with distinct magnitudes >= 0.5. ``ord`` None (all entries, one
    axis or two), 'fro' or 'f' (a 2-D input, or two axes), or a vector order
    2, 1, inf, -inf, 0, 3, 1.5, 0.5, -0.5, -1, -2 along one axis."""
    kind = int(rng.integers(3))
    keepdims = bool(rng.integers(2))
    if kind == 0:
        shape = tuple(int(n) for n in rng.integers(0, 4, size=rng.integers(0, 4)))
        ndim = len(shape)
        axes = [None] + ([int(rng.integers(-ndim, ndim))] if ndim else [])
        axes += [_axis_pair(rng, ndim)] if ndim >= 2 else []
        axis, ord_ = axes[int(rng.integers(len(axes)))], None
    elif kind == 1:
        shape = tuple(int(n) for n in rng.integers(0, 4, size=rng.integers(2, 4)))
        axis = None if len(shape) == 2 and rng.random() < 0.5 else _axis_pair(rng, len(shape))
        ord_ = "fro" if rng.random() < 0.8 else "f"
    else:
        orders = [2, 1, np.inf, -np.inf, 0, 3, 1.5, 0.5, -0.5, -1, -2]
        ord_ = orders[int(rng.integers(len(orders)))]
        low = 0 if ord_ in (2, 1, 3, 0) else 1
        shape = tuple(int(n) for n in rng.integers(low, 4, size=rng.integers(1, 4)))
        ndim = len(shape)
        axis = None if ndim == 1 and rng.random() < 0.5 else int(rng.integers(-ndim, ndim))
    x = _norm_values(rng, dtype, shape)
    return (x,), {"ord": ord_, "axis": axis, "keepdims": keepdims}


def norm_reference(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


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
