"""``tg.linalg``: numpy.linalg's names on Tensors.

``np.linalg.inv(t)`` and ``tg.linalg.inv(t)`` are the same call. The rules
live in ``tapegrad/ops/linalg.py``.
"""

from .ops.linalg import (
    SlogdetResult,
    cholesky,
    det,
    inv,
    matmul,
    matrix_norm,
    norm,
    outer,
    slogdet,
    solve,
    tensordot,
    vecdot,
    vector_norm,
)
from .ops.shape import matrix_transpose

__all__ = [
    "SlogdetResult",
    "cholesky",
    "det",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_transpose",
    "norm",
    "outer",
    "slogdet",
    "solve",
    "tensordot",
    "vecdot",
    "vector_norm",
]
