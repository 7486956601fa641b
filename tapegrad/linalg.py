"""``tg.linalg``: numpy.linalg's names on Tensors.

``np.linalg.inv(t)`` and ``tg.linalg.inv(t)`` are the same call. The rules
live in ``tapegrad/ops/linalg.py``, ``tapegrad/ops/spectral.py`` and
``tapegrad/ops/decompositions.py``.
"""

from .ops.decompositions import (
    EigResult,
    LstsqResult,
    QRResult,
    cond,
    eig,
    eigvals,
    lstsq,
    matrix_power,
    multi_dot,
    qr,
    tensorinv,
    tensorsolve,
)
from .ops.linalg import (
    SlogdetResult,
    cholesky,
    cross,
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
    "EigResult",
    "EighResult",
    "LstsqResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cond",
    "cross",
    "det",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_transpose",
    "multi_dot",
    "norm",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "tensorinv",
    "tensorsolve",
    "vecdot",
    "vector_norm",
]
