"""``tg.linalg``: numpy.linalg's names on Tensors.

``np.linalg.inv(t)`` and ``tg.linalg.inv(t)`` are the same call. The rules
live in ``tapegrad/ops/linalg.py``.
"""

from .ops.linalg import (
    EighResult,
    SlogdetResult,
    SVDResult,
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    matmul,
    matrix_norm,
    norm,
    outer,
    pinv,
    slogdet,
    solve,
    svd,
    svdvals,
    tensordot,
    vecdot,
    vector_norm,
)
from .ops.shape import matrix_transpose

__all__ = [
    "EighResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_transpose",
    "norm",
    "outer",
    "pinv",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "vecdot",
    "vector_norm",
]
