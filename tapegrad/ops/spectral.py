"""Spectral decompositions and norms: eigh, eigvalsh, svd, svdvals, pinv, norm.

Split from linalg.py (which holds products, einsum, inv, det, solve and
cholesky); the norms live here because the singular-value norms are
differentiated through svd. ``tg.linalg`` re-exports these names.
"""

from collections import namedtuple

import numpy as np

from ..core.tape import grad_mode
from ..core.tensor import Tensor
from ..domain import Domain
from ._common import implements, primitive, real_rule_only, unwrap
from .linalg import _existing, _mT, _restore
from .samples import spectral as samples
from .shape import _axis_tuple, tril, triu

# -- spectral decompositions ----------------------------------------------------------
#
# eigh and svd are primitives with several outputs: one LAPACK call, one rule
# that sees each output's cotangent (None for an output that does not reach
# the loss, so eigenvalues alone never meet the eigenvector terms' 1/gap).
#
# Eigenvectors and singular vectors are defined up to sign; the forward
# returns numpy's (LAPACK's choice), unchanged. That choice is locally
# constant away from the inputs where LAPACK flips a sign, so the usual
# formulas are the derivative of the function numpy computes, and finite
# differences of plain numpy agree with them.
#
# The eigenvector (singular vector) terms divide by eigenvalue (singular value)
# gaps, and the extra terms of non-square SVDs by singular values. Exact ties
# (repeated eigenvalues, the repeated zero singular values of a
# rank-deficient matrix) make some of these 1/0. A term whose vector the loss
# does not use (its cotangent column is all zero) has a coefficient that is
# zero at every nearby input, so it is 0, not 0 * inf = NaN: a simple
# eigenvalue, its eigenvector and the top singular value keep their finite
# gradients beside tied ones. A term of a used vector over a zero gap stays
# inf or NaN: that vector has no derivative, and the gradient is never a
# finite wrong value.


def _used(cotangent):
    """Which vectors (columns of ``cotangent``) reach the loss, shape (..., 1, k)."""
    return np.any(cotangent != 0, axis=-2, keepdims=True)


def _divide_used(numerator, denominator, used):
    """``numerator / denominator`` where ``used``; elsewhere the numerator, exactly
    0 there, over 1 (no 0 / 0, so no NaN for detect_anomaly either)."""
    return numerator / np.where(used, denominator, 1.0)


EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


def _eigh_forward(a, UPLO="L"):
    return EighResult(*np.linalg.eigh(a, UPLO=UPLO))


def _triangle_read(grad, UPLO):
    """The gradient of a function of the symmetric matrix numpy builds from one triangle.

    numpy reads A[i, j] for i >= j (UPLO='L') and mirrors it; an off-diagonal
    entry there stands for both S[i, j] and S[j, i].
    """
    eye = np.eye(np.shape(grad)[-1], dtype=np.result_type(grad))
    both = (grad + _mT(grad)) / (1.0 + eye)  # the diagonal counted once
    return tril(both) if UPLO == "L" else triu(both)


@primitive(name="eigh", domain=Domain(sample=samples.eigh, reference=_eigh_forward))
def _eigh(a, UPLO="L"):
    return _eigh_forward(a, UPLO)


@_eigh.defvjp
def _eigh_vjp(g, ans, a, UPLO="L"):
    real_rule_only("linalg.eigh", a)
    # A = V diag(w) V^T: dw = diag(V^T dS V), dV = V (F o V^T dS V) with
    # F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it. Transposed:
    # S_bar = V (diag(w_bar) + F o V^T V_bar) V^T.
    (values, vectors), (g_values, g_vectors) = ans, g
    eye = np.eye(np.shape(a)[-1], dtype=vectors.dtype)
    inner = 0.0
    if g_values is not None:
        inner = eye * np.expand_dims(g_values, -2)
    if g_vectors is not None:
        gaps = np.expand_dims(values, -2) - np.expand_dims(values, -1)
        coefficients = (1.0 - eye) * np.matmul(_mT(vectors), g_vectors)
        inner = inner + _divide_used(coefficients, gaps + eye, _used(g_vectors))
    grad = np.matmul(np.matmul(vectors, inner), _mT(vectors))
    return (_triangle_read(grad, UPLO),)


@implements(np.linalg.eigh)
def eigh(a, UPLO="L"):
    """``np.linalg.eigh``: ``(eigenvalues, eigenvectors)``, numpy's own (signs
    included). Gradients go to the triangle numpy reads (``UPLO``), as for
    ``cholesky``; tied eigenvalues give a finite gradient unless the loss uses
    eigenvectors of the tied block.
    """
    _check_uplo("eigh", UPLO)
    return _eigh(a, UPLO=UPLO)


def _check_uplo(name, UPLO):
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.{name}: UPLO must be 'L' or 'U', got {UPLO!r}")


@primitive(numpy=np.linalg.eigvalsh, domain=Domain(sample=samples.eigvalsh))
def eigvalsh(a, UPLO="L"):
    _check_uplo("eigvalsh", UPLO)
    return np.linalg.eigvalsh(a, UPLO=UPLO)


@eigvalsh.defvjp
def _eigvalsh_vjp(g, ans, a, UPLO="L"):
    real_rule_only("linalg.eigvalsh", a)
    # dw_i = v_i^T dS v_i. The eigenvectors come from eigh (on a Tensor, the
    # differentiable one), so the rule has a derivative too.
    vectors = np.linalg.eigh(a, UPLO=UPLO)[1]
    grad = np.matmul(vectors * np.expand_dims(g, -2), _mT(vectors))
    return (_triangle_read(grad, UPLO),)


def _svd_forward(a):
    return SVDResult(*np.linalg.svd(a, full_matrices=False))


@primitive(name="svd", domain=Domain(sample=samples.svd, reference=_svd_forward))
def _svd(a):
    return _svd_forward(a)


@_svd.defvjp
def _svd_vjp(g, ans, a):
    # Reduced SVD A = U diag(s) V^T (Townsend 2016, "Differentiating the SVD"):
    # A_bar = U [J S + S K + diag(s_bar)] V^T
    #         + (I - U U^T) U_bar S^-1 V^T + U S^-1 V_bar^T (I - V V^T),
    # J = F o (U^T U_bar - U_bar^T U), K = F o (V^T V_bar - V_bar^T V),
    # F[i, j] = 1 / (s[j]^2 - s[i]^2) off the diagonal. The last two terms
    # vanish when U (V) is square. Terms of outputs without a cotangent drop;
    # zero coefficients over zero gaps (or over zero singular values) give 0.
    (u, s, vh), (g_u, g_s, g_vh) = ans, g
    if g_u is not None or g_vh is not None:  # (the singular values' rule holds for complex A)
        real_rule_only("the singular vectors of linalg.svd", a)
    v = _mT(vh)
    rows, cols = np.shape(a)[-2:]
    k = min(rows, cols)
    eye = np.eye(k, dtype=u.dtype)
    row_s, col_s = np.expand_dims(s, -2), np.expand_dims(s, -1)
    inner = 0.0
    if g_s is not None:
        inner = eye * np.expand_dims(g_s, -2)
    if g_u is not None or g_vh is not None:
        squares = s * s
        gaps = np.expand_dims(squares, -2) - np.expand_dims(squares, -1) + eye
        off_diagonal = 1.0 - eye
    if g_u is not None:
        ut_gu = np.matmul(_mT(u), g_u)
        used_u = _used(g_u)
        pairs = used_u | _mT(used_u)  # J[i, j] reads the cotangents of u_i and u_j
        j_term = _divide_used(off_diagonal * (ut_gu - _mT(ut_gu)), gaps, pairs)
        inner = inner + j_term * row_s
    if g_vh is not None:
        g_v = _mT(g_vh)
        vt_gv = np.matmul(vh, g_v)
        used_v = _used(g_v)
        k_term = _divide_used(off_diagonal * (vt_gv - _mT(vt_gv)), gaps, used_v | _mT(used_v))
        inner = inner + col_s * k_term
    grad = np.matmul(np.matmul(u, inner), vh)
    if g_u is not None and rows > k:
        grad = grad + np.matmul(_divide_used(g_u - np.matmul(u, ut_gu), row_s, used_u), vh)
    if g_vh is not None and cols > k:
        grad = grad + np.matmul(u, _mT(_divide_used(g_v - np.matmul(v, vt_gv), row_s, used_v)))
    return (grad,)


@implements(np.linalg.svd)
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """``np.linalg.svd``: numpy's ``U``, ``S`` and ``Vh`` (signs included).
    ``full_matrices=True`` (numpy's default) on a non-square matrix is refused
    when a gradient is needed: the extra columns of U or rows of Vh are not
    unique, so they have no derivative.
    """
    shape = np.shape(a)
    if len(shape) < 2:
        raise ValueError(f"linalg.svd: input must be at least 2-D, got shape {shape}")
    if hermitian:
        raise NotImplementedError(
            f"linalg.svd(hermitian=True) of shape {shape} is not supported on Tensors; "
            "use linalg.eigh for a symmetric matrix"
        )
    if not compute_uv:
        return svdvals(a)
    if full_matrices and shape[-2] != shape[-1]:
        if isinstance(a, Tensor) and a.requires_grad and grad_mode.enabled:
            raise NotImplementedError(
                f"linalg.svd(full_matrices=True) of the non-square shape {shape} has no "
                "gradient (the extra singular vectors are not unique); pass "
                "full_matrices=False"
            )
        return SVDResult(*(Tensor(m) for m in np.linalg.svd(unwrap(a), full_matrices=True)))
    return _svd(a)


@primitive(numpy=_existing(np.linalg, "svdvals"), domain=Domain(sample=samples.svdvals))
def svdvals(x):
    return np.linalg.svd(x, compute_uv=False)


@svdvals.defvjp
def _svdvals_vjp(g, ans, x):
    # ds_i = u_i^T dA v_i. The singular vectors come from svd (on a Tensor, the
    # differentiable one), so the rule has a derivative too.
    u, vh = _singular_vectors(x)
    return (np.matmul(u * np.expand_dims(g, -2), vh),)


def _singular_vectors(x):
    """U and Vh of the reduced SVD: numpy's on arrays, the differentiable svd on Tensors."""
    if isinstance(x, Tensor):
        u, _, vh = svd(x, full_matrices=False)
    else:
        u, _, vh = np.linalg.svd(x, full_matrices=False)
    return u, vh


@primitive(numpy=np.linalg.pinv, domain=Domain(sample=samples.pinv))
def pinv(a, rcond=None, hermitian=False, rtol=None):
    options = {"rcond": rcond} if rcond is not None else {}
    if rtol is not None:
        options["rtol"] = rtol
    return np.linalg.pinv(a, hermitian=hermitian, **options)


@pinv.defvjp
def _pinv_vjp(g, ans, a, rcond=None, hermitian=False, rtol=None):
    real_rule_only("linalg.pinv", a)
    # Golub and Pereyra (1973): where the rank of A is locally constant,
    # d(A+) = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+.
    # Singular values cut off by rcond/rtol count as zero, as in the forward.
    if hermitian:
        raise NotImplementedError(
            f"gradient of linalg.pinv(hermitian=True), input shape {np.shape(a)}: numpy "
            "then reads one triangle only; use hermitian=False"
        )
    pinv_t = _mT(ans)
    left = np.eye(np.shape(a)[-2], dtype=np.result_type(g)) - np.matmul(a, ans)
    right = np.eye(np.shape(a)[-1], dtype=np.result_type(g)) - np.matmul(ans, a)
    g_t = _mT(g)
    grad = (
        -np.matmul(np.matmul(pinv_t, g), pinv_t)
        + np.matmul(np.matmul(left, g_t), np.matmul(ans, pinv_t))
        + np.matmul(np.matmul(pinv_t, ans), np.matmul(g_t, right))
    )
    return (grad,)


# -- norms --------------------------------------------------------------------------


@primitive(numpy=np.linalg.vector_norm, domain=Domain(sample=samples.vector_norm))
def vector_norm(x, axis=None, keepdims=False, ord=2):  # noqa: A002  (numpy's name)
    return np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)


@vector_norm.defvjp
def _vector_norm_vjp(g, ans, x, axis=None, keepdims=False, ord=2):  # noqa: A002
    return (_p_norm_cotangent(g, ans, x, axis, keepdims, ord),)


@primitive(
    name="norm_entrywise",
    domain=Domain(sample=samples.norm_entrywise, reference=samples.norm_reference),
)
def _entrywise_norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """``np.linalg.norm``'s norms of the entries: vector orders along one axis and
    the 2-norm of all entries (``ord`` None, ``'fro'``, ``'f'``). The forward is
    numpy's own function, so the values are numpy's to the last bit (it sums in
    its own order: a dot product for ``axis=None``)."""
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


@_entrywise_norm.defvjp
def _entrywise_norm_vjp(g, ans, x, ord=None, axis=None, keepdims=False):  # noqa: A002
    p = 2 if ord is None or isinstance(ord, str) else ord
    return (_p_norm_cotangent(g, ans, x, axis, keepdims, p),)


def _p_norm_cotangent(g, ans, x, axis, keepdims, ord):  # noqa: A002
    """The cotangent of ``(sum |x|**ord) ** (1/ord)`` over ``axis`` (None: all)."""
    shape = np.shape(x)
    axes = tuple(range(len(shape))) if axis is None else _axis_tuple(axis, len(shape), "norm")
    g = _restore(g, shape, axes, keepdims)
    ans = _restore(ans, shape, axes, keepdims)
    if x.dtype.kind == "c":
        # z / |z|: numpy's complex sign, written differentiably (tapegrad's sign is a
        # constant, right for reals only); 0 at 0 as for reals.
        size = np.abs(x)
        sign = x / np.where(size == 0, 1.0, size)
    else:
        sign = np.sign(x)
    if ord == 2:
        # x / norm, and 0 (not 0/0) at the zero vector: the subgradient of
        # least norm, as PyTorch's.
        return g * x / np.where(ans == 0, 1.0, ans)
    if ord == 1:
        return g * sign
    if ord == 0:
        return np.zeros(shape, dtype=np.result_type(g))
    magnitude = np.abs(x) if x.dtype.kind == "c" else x * sign
    if ord in (np.inf, -np.inf):
        # Ties share the gradient equally, as they do for max and min.
        hit = magnitude == ans
        return g * sign * (hit / np.sum(hit, axis=axes, keepdims=True))
    partial = sign * (magnitude / np.where(ans == 0, 1.0, ans)) ** (ord - 1)
    if ord < 1:
        partial = np.where(sign == 0, 0.0, partial)  # infinite slope at 0: no NaN
    return g * partial


@primitive(
    name="matrix_norm_abs_sum",
    domain=Domain(sample=samples.matrix_norm_abs_sum, reference=samples.matrix_norm_reference),
    real_only=True,
)
def _abs_sum_norm(x, ord=1, axis=(-2, -1), keepdims=False):  # noqa: A002
    """Matrix norms 1, -1, inf, -inf: the largest (smallest) absolute column or row sum."""
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


@_abs_sum_norm.defvjp
def _abs_sum_norm_vjp(g, ans, x, ord=1, axis=(-2, -1), keepdims=False):  # noqa: A002
    shape = np.shape(x)
    row_axis, col_axis = _axis_tuple(axis, len(shape), "norm")
    summed, other = (row_axis, col_axis) if ord in (1, -1) else (col_axis, row_axis)
    g = _restore(g, shape, (row_axis, col_axis), keepdims)
    ans = _restore(ans, shape, (row_axis, col_axis), keepdims)
    sign = np.sign(x)
    sums = np.sum(x * sign, axis=summed, keepdims=True)
    hit = sums == ans  # ties share the gradient equally
    return (g * sign * (hit / np.sum(hit, axis=other, keepdims=True)),)


@primitive(
    name="matrix_norm_singular",
    domain=Domain(sample=samples.matrix_norm_singular, reference=samples.matrix_norm_reference),
)
def _singular_norm(x, ord=2, axis=(-2, -1), keepdims=False):  # noqa: A002
    """Matrix norms 2, -2, 'nuc': largest, smallest, sum of the singular values."""
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


@_singular_norm.defvjp
def _singular_norm_vjp(g, ans, x, ord=2, axis=(-2, -1), keepdims=False):  # noqa: A002
    # On a Tensor (a second derivative) the singular vectors come from the
    # differentiable svd.
    shape = np.shape(x)
    row_axis, col_axis = _axis_tuple(axis, len(shape), "norm")
    moved = np.moveaxis(x, (row_axis, col_axis), (-2, -1))
    u, vh = _singular_vectors(moved)
    if ord == "nuc":
        direction = u @ vh
    elif ord == 2:
        direction = u[..., :, :1] @ vh[..., :1, :]
    else:
        direction = u[..., :, -1:] @ vh[..., -1:, :]
    direction = np.moveaxis(direction, (-2, -1), (row_axis, col_axis))
    return (_restore(g, shape, (row_axis, col_axis), keepdims) * direction,)


def _matrix_norm(x, ord, axes, keepdims):  # noqa: A002
    if ord is None or ord in ("fro", "f"):
        return _entrywise_norm(x, ord=ord, axis=axes, keepdims=keepdims)
    if ord in (1, -1, np.inf, -np.inf):
        return _abs_sum_norm(x, ord=ord, axis=axes, keepdims=keepdims)
    if ord in (2, -2, "nuc"):
        return _singular_norm(x, ord=ord, axis=axes, keepdims=keepdims)
    raise ValueError("Invalid norm order for matrices.")


@implements(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """``np.linalg.norm``: every order and axis numpy takes (vector orders, including
    0, negative and fractional ones; matrix orders 1, -1, 2, -2, inf, -inf, 'fro',
    'nuc'), with numpy's values. The gradient at the zero vector is 0.
    """
    ndim = np.ndim(x)
    if axis is None:
        if ord is None or (ord in ("fro", "f") and ndim == 2) or (ord == 2 and ndim == 1):
            return _entrywise_norm(x, ord=ord, axis=None, keepdims=keepdims)
        if ndim not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(ndim))
    elif not isinstance(axis, tuple):
        axis = (_integer_axis(axis),)
    if len(axis) == 1:
        if isinstance(ord, str):
            raise ValueError(f"Invalid norm order '{ord}' for vectors")
        return _entrywise_norm(x, ord=ord, axis=axis, keepdims=keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, axis, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


def _integer_axis(axis):
    try:
        return int(axis)
    except Exception as error:
        raise TypeError("'axis' must be None, an integer or a tuple of integers") from error


@implements(*_existing(np.linalg, "matrix_norm"))
def matrix_norm(x, /, *, keepdims=False, ord="fro"):  # noqa: A002
    if np.ndim(x) < 2:
        raise ValueError(f"matrix_norm: input must be at least 2-D, got shape {np.shape(x)}")
    return _matrix_norm(x, ord, (-2, -1), keepdims)


__all__ = []  # numpy.linalg names: reached as tg.linalg.NAME
