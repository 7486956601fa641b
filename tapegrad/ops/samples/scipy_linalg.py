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
