"""Samples for tapegrad/ops/decompositions.py (see tapegrad.ops.samples).

Each matrix is built well away from where its decomposition stops being
differentiable: QR inputs have a dominant diagonal (R stays invertible and
LAPACK's sign choices stay put), eig inputs have real eigenvalues at least
0.5 apart with a well-conditioned eigenvector basis, and lstsq inputs have
full rank.
"""

import numpy as np

_SHAPES = [(1, 1), (2, 2), (3, 3), (4, 2), (3, 1), (2, 4), (1, 3), (2, 3, 3), (2, 3, 2), (2, 2, 3)]


def qr(rng, dtype):
    """Square, tall, wide and batched matrices with a dominant diagonal."""
    shape = _SHAPES[int(rng.integers(len(_SHAPES)))]
    m, n = shape[-2:]
    a = rng.standard_normal(shape) + 3.0 * np.eye(m, n)
    return (a.astype(dtype),), {}


def qr_reference(a):
    return tuple(np.linalg.qr(a, mode="reduced"))


def _order(a):
    return np.argsort(np.linalg.eigvals(a), axis=-1)


def _same_eigenvectors(a, b):
    """numpy's eigenvalue order and each eigenvector's sign agree at a and b."""
    (wa, va), (wb, vb) = np.linalg.eig(a), np.linalg.eig(b)
    if np.iscomplexobj(wa) or np.iscomplexobj(wb):
        return False
    if not np.array_equal(np.argsort(wa, axis=-1), np.argsort(wb, axis=-1)):
        return False
    return bool(np.all(np.sum(va * vb.astype(np.float64), axis=-2) > 0.5))


def eig(rng, dtype):
    """S diag(w) S^-1 (n = 1-4, maybe batched): real w at least 0.5 apart, S near I, and
    numpy's order of the eigenvalues and signs of the eigenvectors the same in float32,
    float64 and nearby (LAPACK's choices are locally constant away from where they flip)."""
    while True:
        n = int(rng.integers(1, 5))
        batch = (2,) if rng.random() < 0.3 else ()
        values = np.cumsum(0.5 + rng.random((*batch, n)), axis=-1) - n * 0.6
        values = rng.permuted(values, axis=-1)
        basis = np.eye(n) + 0.3 * rng.standard_normal((*batch, n, n))
        a = np.matmul(basis * values[..., None, :], np.linalg.inv(basis))
        low = a.astype(dtype)
        nearby = [low, low.astype(np.float64)]
        nearby += [a + 1e-4 * rng.standard_normal(a.shape) for _ in range(3)]
        if all(_same_eigenvectors(a, m) for m in nearby):
            return (low,), {}


def lstsq(rng, dtype):
    """Full-rank tall, square and wide A (singular values 1, 1.3, 1.6, ... shuffled, so
    distinct), b a vector or a matrix."""
    m, n = (int(k) for k in rng.integers(1, 5, size=2))
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal((m, k)))[0]
    v = np.linalg.qr(rng.standard_normal((n, k)))[0]
    a = (u * (1.0 + 0.3 * rng.permutation(k) + 0.05 * rng.random(k))) @ v.T
    b = rng.standard_normal((m,) if rng.random() < 0.5 else (m, int(rng.integers(1, 3))))
    return (a.astype(dtype), b.astype(dtype)), {}
