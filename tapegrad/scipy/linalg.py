"""scipy.linalg on Tensors: triangular, Cholesky and LU solves, matrix functions.

Primitives: ``solve_triangular`` (its rule is triangular solves again),
``lu_factor`` and ``lu_solve`` (rules made of triangular solves with the two
triangles of the packed factor), ``solve_sylvester`` (its rule is two more
Sylvester solves), ``sqrtm`` (its rule is a Sylvester solve), ``expm`` and
``logm`` (their rules are the same function of a block matrix, which holds
the Frechet derivative: Najfeld and Havel 1995; Higham, "Functions of
Matrices", 3.2), so all of them differentiate to any order. ``cholesky``,
``cho_factor``, ``cho_solve`` and ``solve`` are composites. scipy's own
functions convert their arguments to arrays, so call these
(``tsp.linalg.NAME``) on Tensors.
"""

import warnings
from collections import namedtuple

import numpy as np
import scipy.linalg as sl

from ..core import primitive as _core
from ..core.tensor import Tensor
from ..domain import Domain
from ..ops._common import unwrap
from ..ops.index import call_in_rule
from ..ops.linalg import _mT
from ..ops.linalg import cholesky as _np_cholesky
from ..ops.samples import scipy_linalg as samples
from ..ops.shape import tril, triu

ChoFactor = namedtuple("ChoFactor", ["c", "lower"])


def _complex(*values):
    return any(np.iscomplexobj(unwrap(v)) for v in values)


def _mH(x):  # noqa: N802  (the conjugate transpose)
    return np.conj(_mT(x)) if _complex(x) else _mT(x)


def _real_only(name, *values):
    if _complex(*values):
        raise NotImplementedError(
            f"tsp.linalg.{name}: the gradient of complex inputs is not implemented; "
            f"got dtypes {[str(np.result_type(unwrap(v))) for v in values]}"
        )


_TRANS = {0: 0, 1: 1, 2: 1, "N": 0, "T": 1, "C": 1}


# scipy.linalg's functions do not dispatch on Tensors: scipy's own function is
# the test reference, not a numpy= registration.
@_core.primitive(
    domain=Domain(sample=samples.solve_triangular, reference=samples.solve_triangular_reference)
)
def solve_triangular(
    a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True
):
    """``scipy.linalg.solve_triangular``: reads one triangle of ``a`` (and not its
    diagonal with ``unit_diagonal``), so only those entries get a gradient."""
    return sl.solve_triangular(
        a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal, check_finite=check_finite
    )


@solve_triangular.defvjp
def _solve_triangular_vjp(
    g, ans, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True
):
    # x = op(A)^-1 b: b_bar = op(A)^-T g, op(A)_bar = -b_bar x^T, then A's read triangle.
    _real_only("solve_triangular", a, b, g)
    transposed = _TRANS[trans]
    g_b = call_in_rule(
        solve_triangular, a, g, trans=1 - transposed, lower=lower, unit_diagonal=unit_diagonal
    )
    vector = np.ndim(b) == 1
    column_b = g_b[:, None] if vector else g_b
    column_x = ans[:, None] if vector else ans
    g_op = -np.matmul(column_b, _mT(column_x))
    g_a = _mT(g_op) if transposed else g_op
    g_a = tril(g_a, -1 if unit_diagonal else 0) if lower else triu(g_a, 1 if unit_diagonal else 0)
    return g_a, g_b


@solve_triangular.defjvp
def _solve_triangular_jvp(
    tangents, ans, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
    check_finite=True,
):  # fmt: skip
    # op(A) dx = db - op(dA) x, with dA restricted to the entries the solve reads.
    _real_only("solve_triangular", a, b)
    t_a, t_b = tangents
    rhs = t_b
    if t_a is not None:
        read = (
            tril(t_a, -1 if unit_diagonal else 0) if lower else triu(t_a, 1 if unit_diagonal else 0)
        )
        column_x = ans[:, None] if np.ndim(b) == 1 else ans
        step = np.matmul(_mT(read) if _TRANS[trans] else read, column_x)
        step = step[:, 0] if np.ndim(b) == 1 else step
        rhs = -step if rhs is None else rhs - step
    return call_in_rule(
        solve_triangular, a, rhs, trans=trans, lower=lower, unit_diagonal=unit_diagonal
    )


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """``scipy.linalg.cholesky``: the upper factor by default; the gradient goes to the
    triangle scipy reads (the upper one unless ``lower``)."""
    return _np_cholesky(a, upper=not lower)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``scipy.linalg.cho_factor``: ``(c, lower)`` with zeros in the triangle scipy leaves
    unspecified (``cho_solve`` reads only the factor's triangle)."""
    return ChoFactor(cholesky(a, lower=lower), lower)


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """``scipy.linalg.cho_solve``: two triangular solves, differentiable in the factor and b."""
    c, lower = c_and_lower
    if lower:  # A = L L^T
        y = solve_triangular(c, b, lower=True)
        return solve_triangular(c, y, trans=1, lower=True)
    y = solve_triangular(c, b, trans=1, lower=False)  # A = U^T U
    return solve_triangular(c, y, lower=False)


# assume_a spellings whose LAPACK routine (sysv, hesv, posv) reads one triangle only.
_ONE_TRIANGLE = {"sym", "symmetric", "her", "hermitian", "pos", "positive definite"}
_WHOLE_MATRIX = {None, "gen", "general", "banded"}


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
          assume_a=None, transposed=False):  # fmt: skip
    """``scipy.linalg.solve``: the matrix scipy's solver reads, then one LU solve.

    With ``assume_a`` 'sym', 'her' or 'pos' scipy reads the triangle ``lower``
    names, and mirrors it; 'diagonal', 'tridiagonal' and 'upper/lower
    triangular' read those entries. So the values equal scipy's (to rounding)
    even when ``a`` does not have the structure, and only the entries read get
    a gradient. Without ``assume_a`` (or 'gen', 'banded') every entry is read.
    """
    if assume_a in _ONE_TRIANGLE:
        strict = tril(a, -1) if lower else triu(a, 1)
        # 'sym' mirrors (complex symmetric); 'her' and 'pos' mirror conjugated.
        mirror = _mT(strict) if assume_a in ("sym", "symmetric") else _mH(strict)
        a = (tril(a) if lower else triu(a)) + mirror
    elif assume_a in ("lower triangular", "upper triangular"):
        return solve_triangular(
            a, b, trans=1 if transposed else 0, lower=assume_a == "lower triangular"
        )
    elif assume_a == "diagonal":
        a = tril(triu(a))
    elif assume_a == "tridiagonal":
        a = tril(triu(a, -1), 1)
    elif assume_a not in _WHOLE_MATRIX:
        raise ValueError(f"tsp.linalg.solve: {assume_a!r} is not a recognized matrix structure")
    if transposed:
        a = _mT(a)
    return np.linalg.solve(a, b)


# -- LU ------------------------------------------------------------------------------------


def _permutation(piv):
    """The rows LAPACK's pivots pick: ``a[perm] == L @ U`` for ``lu, piv = lu_factor(a)``."""
    piv = np.asarray(unwrap(piv))
    perm = np.arange(piv.shape[0])
    for i, j in enumerate(piv):
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def _square(name, a):
    if np.ndim(a) != 2 or np.shape(a)[0] != np.shape(a)[1]:
        raise ValueError(
            f"tsp.linalg.{name}: `a` must be one square matrix (shape (n, n)), "
            f"got shape {np.shape(a)} dtype {np.result_type(a)}; stacks are not supported"
        )


def _unit_lower_solve(lu, b, trans=0):
    return call_in_rule(solve_triangular, lu, b, trans=trans, lower=True, unit_diagonal=True)


def _upper_solve(lu, b, trans=0):
    return call_in_rule(solve_triangular, lu, b, trans=trans, lower=False)


def _packed(g_lower, g_upper):
    """The cotangent of the packed factor: L's strict lower triangle, U's upper one."""
    return tril(g_lower, -1) + triu(g_upper)


@_core.primitive(domain=Domain(sample=samples.lu_factor, reference=samples.lu_factor_reference))
def lu_factor(a, overwrite_a=False, check_finite=True):
    """``scipy.linalg.lu_factor`` of one square matrix: ``(lu, piv)``, ``piv`` a constant."""
    _square("lu_factor", a)
    return tuple(sl.lu_factor(a, check_finite=check_finite))


@lu_factor.defvjp
def _lu_factor_vjp(g, ans, a, overwrite_a=False, check_finite=True):
    # P^T A = L U, so L^-1 P^T dA U^-1 = L^-1 dL + dU U^-1 =: F, whose strict
    # lower part is L^-1 dL (L has a unit diagonal) and upper part dU U^-1.
    # Transposing dL = L tril(F, -1) and dU = triu(F) U gives
    # A_bar = P L^-T (tril(L^T L_bar, -1) + triu(U_bar U^T)) U^-T.
    g_lu, lu = g[0], ans[0]
    if g_lu is None:  # only the pivots reached the loss
        return (None,)
    _real_only("lu_factor", a, g_lu)
    unit_lower = tril(lu, -1) + np.eye(np.shape(lu)[0], dtype=unwrap(lu).dtype)
    middle = _packed(_mT(unit_lower) @ tril(g_lu, -1), triu(g_lu) @ _mT(triu(lu)))
    right = _mT(_upper_solve(lu, _mT(middle)))  # middle @ U^-T
    rows = _unit_lower_solve(lu, right, trans=1)  # L^-T @ that, in the permuted rows
    return (rows[np.argsort(_permutation(ans[1]))],)


@lu_factor.defjvp
def _lu_factor_jvp(tangents, ans, a, overwrite_a=False, check_finite=True):
    # d(lu) = L tril(F, -1) + triu(F) U with F = L^-1 P^T dA U^-1 (see the VJP).
    _real_only("lu_factor", a)
    lu = ans[0]
    left = _unit_lower_solve(lu, tangents[0][_permutation(ans[1])])  # L^-1 P^T dA
    f = _mT(_upper_solve(lu, _mT(left), trans=1))  # ... U^-1
    unit_lower = tril(lu, -1) + np.eye(np.shape(lu)[0], dtype=unwrap(lu).dtype)
    return unit_lower @ tril(f, -1) + triu(f) @ triu(lu), None


# The public lu_solve takes scipy's (lu, piv) pair: the primitive takes them apart.
@_core.primitive(
    name="lu_solve",
    nondiff=(1,),
    domain=Domain(sample=samples.lu_solve, reference=samples.lu_solve_reference),
)
def _lu_solve(lu, piv, b, trans=0):
    """``scipy.linalg.lu_solve((lu, piv), b, trans)``, differentiable in ``lu`` and ``b``
    (called as ``tsp.linalg.lu_solve``)."""
    return sl.lu_solve((lu, piv), b, trans=trans)


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """``scipy.linalg.lu_solve``: differentiable in the packed factor ``lu`` and in ``b``."""
    lu, piv = lu_and_piv
    if trans not in _TRANS:
        raise ValueError(
            f"tsp.linalg.lu_solve: trans must be 0, 1 or 2 (or 'N', 'T', 'C'), got {trans!r}"
        )
    return _lu_solve(lu, unwrap(piv), b, trans=trans)


@_lu_solve.defvjp
def _lu_solve_vjp(g, ans, lu, piv, b, trans=0):
    _real_only("lu_solve", lu, b, g)
    perm = _permutation(piv)
    back = np.argsort(perm)
    vector = np.ndim(b) == 1
    column = (lambda v: v[:, None]) if vector else (lambda v: v)
    flat = (lambda v: v[:, 0]) if vector else (lambda v: v)
    g, x = column(g), column(ans)
    if _TRANS[trans] == 0:
        # x = U^-1 z, z = L^-1 b[perm]: w = U^-T g, v = L^-T w, b_bar = P v.
        z = triu(lu) @ x
        w = _upper_solve(lu, g, trans=1)
        v = _unit_lower_solve(lu, w, trans=1)
        g_lu = _packed(-(v @ _mT(z)), -(w @ _mT(x)))
        return g_lu, None, flat(v[back])
    # x = P v, v = L^-T y, y = U^-T b: q = L^-1 g[perm], r = U^-1 q = b_bar.
    v = x[perm]
    y = v + _mT(tril(lu, -1)) @ v
    q = _unit_lower_solve(lu, g[perm])
    r = _upper_solve(lu, q)
    g_lu = _packed(-(v @ _mT(q)), -(y @ _mT(r)))
    return g_lu, None, flat(r)


@_lu_solve.defjvp
def _lu_solve_jvp(tangents, ans, lu, piv, b, trans=0):
    # With A = P L U and dA = P (dL U + L dU): op(A) dx = db - op(dA) x.
    _real_only("lu_solve", lu, b)
    t_lu, _, t_b = tangents
    perm = _permutation(piv)
    vector = np.ndim(b) == 1
    x = ans[:, None] if vector else ans
    rhs = None if t_b is None else (t_b[:, None] if vector else t_b)
    if t_lu is not None:
        unit_lower = tril(lu, -1) + np.eye(np.shape(lu)[0], dtype=unwrap(lu).dtype)
        d_lower, d_upper = tril(t_lu, -1), triu(t_lu)
        if _TRANS[trans] == 0:
            step = (d_lower @ (triu(lu) @ x) + unit_lower @ (d_upper @ x))[np.argsort(perm)]
        else:
            v = x[perm]
            step = _mT(triu(lu)) @ (_mT(d_lower) @ v) + _mT(d_upper) @ (_mT(unit_lower) @ v)
        rhs = -step if rhs is None else rhs - step
    out = call_in_rule(_lu_solve, lu, piv, rhs, trans=trans)
    return out[:, 0] if vector else out


# -- Sylvester equations and matrix functions ---------------------------------------------


@_core.primitive(
    domain=Domain(sample=samples.solve_sylvester, reference=samples.solve_sylvester_reference)
)
def solve_sylvester(a, b, q):
    """``scipy.linalg.solve_sylvester``: X with ``a @ X + X @ b == q``."""
    return sl.solve_sylvester(a, b, q)


@solve_sylvester.defvjp
def _solve_sylvester_vjp(g, ans, a, b, q):
    # A dX + dX B = dQ - dA X - X dB; the adjoint of Y -> A Y + Y B is
    # Z -> A^H Z + Z B^H, so q_bar solves A^H q_bar + q_bar B^H = g.
    g_q = call_in_rule(solve_sylvester, _mH(a), _mH(b), g)
    return -(g_q @ _mH(ans)), -(_mH(ans) @ g_q), g_q


@solve_sylvester.defjvp
def _solve_sylvester_jvp(tangents, ans, a, b, q):
    # A dX + dX B = dQ - dA X - X dB.
    t_a, t_b, t_q = tangents
    rhs = t_q
    for term in (None if t_a is None else t_a @ ans, None if t_b is None else ans @ t_b):
        if term is not None:
            rhs = -term if rhs is None else rhs - term
    return call_in_rule(solve_sylvester, a, b, rhs)


@_core.primitive(domain=Domain(sample=samples.sqrtm, reference=samples.sqrtm_reference))
def sqrtm(A):
    """``scipy.linalg.sqrtm``: the principal square root (complex, as scipy's, when a
    real ``A`` has an eigenvalue on the closed negative real axis)."""
    return sl.sqrtm(A)


@sqrtm.defvjp
def _sqrtm_vjp(g, ans, A):
    # X X = A gives X dX + dX X = dA; by the Sylvester adjoint above,
    # A_bar solves X^H A_bar + A_bar X^H = g. (X is complex for a real A with
    # a negative eigenvalue; X X = A still holds along real directions.)
    x_h = _mH(ans)
    return (call_in_rule(solve_sylvester, x_h, x_h, g),)


@sqrtm.defjvp
def _sqrtm_jvp(tangents, ans, A):
    return call_in_rule(solve_sylvester, ans, ans, tangents[0])


def _frechet_adjoint(function, A, g):
    """The adjoint of ``function``'s Frechet derivative at A, applied to g.

    For a matrix function with a power series the transpose of the
    derivative at A is the derivative at A^T, read from
    ``function([[A^T, s g], [0, A^T]])``'s upper right block. ``s`` brings g to
    A's scale: the block's algorithms (scaling and squaring, inverse scaling)
    then lose no digits to a tiny or huge g. With complex values the
    cotangent convention (``dL/dRe + 1j dL/dIm``) asks for
    ``conj(L(A^T, conj(g)))``.
    """
    if _complex(A):
        return np.conj(_derivative_at(function, _mT(A), np.conj(g)))
    if not _complex(g):
        return _derivative_at(function, _mT(A), g)
    # A real A with a complex result (logm, sqrtm of a negative eigenvalue):
    # the real part of the formula above, from two real blocks, since a complex
    # block whose eigenvalues sit on the branch cut may put its copies of one
    # eigenvalue on different sides of it.
    return np.real(_derivative_at(function, _mT(A), np.real(g))) + np.imag(
        _derivative_at(function, _mT(A), np.imag(g))
    )


def _derivative_at(function, A, E):
    """The Frechet derivative L(A, E) from the block matrix [[A, s E], [0, A]]."""
    n = np.shape(A)[-1]
    size_a = float(np.max(np.abs(unwrap(A)), initial=0.0))
    size_e = float(np.max(np.abs(unwrap(E)), initial=0.0))
    scale = size_a / size_e if size_a > 0 and size_e > 0 else 1.0
    upper = np.concatenate([A, E * scale], axis=-1)
    lower = np.concatenate([np.zeros_like(E), A], axis=-1)
    with warnings.catch_warnings():
        # logm's error estimate is pessimistic for this block (a repeated
        # eigenvalue); the tests measure the actual error against differences.
        warnings.simplefilter("ignore", RuntimeWarning)
        block = call_in_rule(function, np.concatenate([upper, lower], axis=-2))
    return block[..., :n, n:] / scale


@_core.primitive(domain=Domain(sample=samples.logm, reference=samples.logm_reference))
def logm(A):
    """``scipy.linalg.logm``: the principal logarithm in ``A``'s precision (scipy's
    is double); complex, as scipy's, when a real ``A`` has an eigenvalue on the
    closed negative real axis."""
    dtype = np.result_type(A, np.float32)
    # scipy's logm of a float32 matrix is complex (imaginary parts of 1e-8):
    # compute in double precision, return A's precision.
    out = sl.logm(np.asarray(A, dtype=np.result_type(dtype, np.float64)))
    if np.iscomplexobj(out) and dtype.kind == "f":
        return out  # the real A has no real logarithm: scipy's complex one
    return out.astype(dtype, copy=False)


@logm.defvjp
def _logm_vjp(g, ans, A):
    if isinstance(A, Tensor) and _complex(ans) and not _complex(A):
        # The rule of the rule takes logm of a 4n block with four copies of the
        # eigenvalue on the branch cut, and scipy's logm then returns garbage.
        raise NotImplementedError(
            "tsp.linalg.logm: no second derivative at a real matrix with an eigenvalue "
            f"on the negative real axis (shape {np.shape(A)}, dtype {unwrap(A).dtype}); "
            "the first derivative is available"
        )
    return (_frechet_adjoint(logm, A, g),)


@logm.defjvp
def _logm_jvp(tangents, ans, A):
    return _derivative_at(logm, A, tangents[0])


@_core.primitive(domain=Domain(sample=samples.expm, reference=samples.expm_reference))
def expm(A):
    """``scipy.linalg.expm`` of a square matrix (or a stack of them)."""
    return sl.expm(A)


@expm.defvjp
def _expm_vjp(g, ans, A):
    return (_frechet_adjoint(expm, A, g),)


@expm.defjvp
def _expm_jvp(tangents, ans, A):
    return _derivative_at(expm, A, tangents[0])


__all__ = [
    "solve_triangular",
    "cholesky",
    "cho_factor",
    "cho_solve",
    "solve",
    "lu_factor",
    "lu_solve",
    "solve_sylvester",
    "expm",
    "sqrtm",
    "logm",
]
