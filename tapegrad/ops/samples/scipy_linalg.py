"""Samples for tapegrad/scipy/linalg.py (see tapegrad.ops.samples).

numpy only at import, like every samples module: ``import tapegrad`` must not
import scipy (the references import it when called).
"""

import numpy as np


def solve_triangular(rng, dtype):
    """A (n = 1-4) with diagonal entries of magnitude 1-2 (well conditioned), b a vector
    or a matrix, every combination of ``lower``, ``trans`` and ``unit_diagonal``."""
    n = int(rng.integers(1, 5))
    a = 0.3 * rng.standard_normal((n, n))
    a[np.diag_indices(n)] = rng.choice([-1.0, 1.0], n) * rng.uniform(1.0, 2.0, n)
    b = rng.standard_normal((n,) if rng.random() < 0.5 else (n, int(rng.integers(1, 3))))
    kwargs = {
        "lower": bool(rng.integers(2)),
        "trans": int(rng.integers(2)),
        "unit_diagonal": bool(rng.integers(2)),
    }
    return (a.astype(dtype), b.astype(dtype)), kwargs


def expm(rng, dtype):
    """Square matrices (n = 1-3, maybe a stack of two) of norm about 1."""
    n = int(rng.integers(1, 4))
    shape = (2, n, n) if rng.random() < 0.3 else (n, n)
    return ((0.5 * rng.standard_normal(shape)).astype(dtype),), {}


def solve_triangular_reference(a, b, trans=0, lower=False, unit_diagonal=False, **options):
    import scipy.linalg

    return scipy.linalg.solve_triangular(
        a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal
    )


def expm_reference(A):
    import scipy.linalg

    return scipy.linalg.expm(A)


def _pivoted_dominant(rng, n):
    # Rows of a column-diagonally-dominant matrix, shuffled: partial pivoting
    # then undoes the shuffle with a wide margin, so finite differences never
    # flip a pivot (a flip is a jump in the factor).
    a = rng.uniform(-0.4, 0.4, (n, n))
    a[np.diag_indices(n)] = rng.choice([-1.0, 1.0], n) * rng.uniform(2.0, 3.0, n)
    return a[rng.permutation(n)]


def lu_factor(rng, dtype):
    """A square matrix (n = 1-4) whose partial pivoting is decided by a wide margin."""
    return (_pivoted_dominant(rng, int(rng.integers(1, 5))).astype(dtype),), {}


def lu_solve(rng, dtype):
    """A packed factor (unit lower L, U with diagonal of magnitude 1-2), valid LAPACK
    pivots, b a vector or a matrix, ``trans`` 0, 1 or 2."""
    n = int(rng.integers(1, 5))
    lu = 0.3 * rng.standard_normal((n, n))
    lu[np.diag_indices(n)] = rng.choice([-1.0, 1.0], n) * rng.uniform(1.0, 2.0, n)
    piv = np.array([int(rng.integers(i, n)) for i in range(n)], dtype=np.int32)
    b = rng.standard_normal((n,) if rng.random() < 0.5 else (n, int(rng.integers(1, 3))))
    return (lu.astype(dtype), piv, b.astype(dtype)), {"trans": int(rng.integers(3))}


def _near_identity(rng, shape):
    # c I + small noise, c in [1, 2]: eigenvalues near c, far from the negative
    # real axis, where the principal root and logarithm are real and smooth.
    n = shape[-1]
    return rng.uniform(1.0, 2.0) * np.eye(n) + 0.3 * rng.standard_normal(shape)


def solve_sylvester(rng, dtype):
    """a (m x m) and b (n x n) with eigenvalues near 1-2 (so a and -b share none),
    q (m x n); m, n = 1-3."""
    m, n = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    a, b = _near_identity(rng, (m, m)), _near_identity(rng, (n, n))
    q = rng.standard_normal((m, n))
    return (a.astype(dtype), b.astype(dtype), q.astype(dtype)), {}


def sqrtm(rng, dtype):
    """Square matrices (n = 1-3, maybe a stack of two) with eigenvalues near 1-2."""
    n = int(rng.integers(1, 4))
    shape = (2, n, n) if rng.random() < 0.3 else (n, n)
    return (_near_identity(rng, shape).astype(dtype),), {}


def logm(rng, dtype):
    """Square matrices (n = 1-3, maybe a stack of two) with eigenvalues near 1-2."""
    return sqrtm(rng, dtype)


def lu_factor_reference(a, **options):
    import scipy.linalg

    return scipy.linalg.lu_factor(a)


def lu_solve_reference(lu, piv, b, trans=0):
    import scipy.linalg

    return scipy.linalg.lu_solve((lu, piv), b, trans=trans)


def solve_sylvester_reference(a, b, q):
    import scipy.linalg

    return scipy.linalg.solve_sylvester(a, b, q)


def sqrtm_reference(A):
    import scipy.linalg

    return scipy.linalg.sqrtm(A)


def logm_reference(A):
    """scipy's logm in A's dtype (scipy's own result for float32 is complex128)."""
    import scipy.linalg

    return scipy.linalg.logm(A.astype(np.float64)).astype(A.dtype)
