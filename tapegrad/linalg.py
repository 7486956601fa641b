"""``tg.linalg``: numpy.linalg's names on Tensors.

``np.linalg.inv(t)`` and ``tg.linalg.inv(t)`` are the same call. The rules
live in ``tapegrad/ops/linalg.py`` and ``tapegrad/ops/spectral.py``.
"""

from .ops.linalg import (
    SlogdetResult,
    cholesky,
    det,
    inv,
    matmul,
    outer,
    slogdet,
    solve,
    tensordot,
    vecdot,
)
from .ops.shape import matrix_transpose
from .ops.spectral import (
    EighResult,
    SVDResult,
    eigh,
    eigvalsh,
    matrix_norm,
    norm,
    pinv,
    svd,
    svdvals,
    vector_norm,
)

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
