"""scipy.linalg on Tensors: triangular solves, Cholesky solves, the matrix exponential.

Primitives: ``solve_triangular`` (its rule is triangular solves again) and
``expm`` (its rule is the exponential of a block matrix, which holds the
Frechet derivative: Najfeld and Havel 1995), so both differentiate to any
order. ``cholesky``, ``cho_factor``, ``cho_solve`` and ``solve`` are
composites. scipy's own functions convert their arguments to arrays, so call
these (``tsp.linalg.NAME``) on Tensors.
"""

from collections import namedtuple

import numpy as np
import scipy.linalg as sl

from ..core import primitive as _core
from ..domain import Domain
from ..ops.index import call_in_rule
from ..ops.linalg import _mT
from ..ops.linalg import cholesky as _np_cholesky
from ..ops.samples import scipy_linalg as samples
from ..ops.shape import tril, triu

ChoFactor = namedtuple("ChoFactor", ["c", "lower"])

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


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
          assume_a=None, transposed=False):  # fmt: skip
    """``scipy.linalg.solve``: one LU solve whatever ``assume_a`` says (the values agree
    to rounding); the gradient is with respect to the whole of ``a``."""
    if transposed:
        a = _mT(a)
    return np.linalg.solve(a, b)


@_core.primitive(domain=Domain(sample=samples.expm, reference=samples.expm_reference))
def expm(A):
    """``scipy.linalg.expm`` of a square matrix (or a stack of them)."""
    return sl.expm(A)


@expm.defvjp
def _expm_vjp(g, ans, A):
    # The adjoint of the Frechet derivative at A is the one at A^T, and
    # expm([[X, E], [0, X]]) = [[expm(X), L(X, E)], [0, expm(X)]].
    n = np.shape(A)[-1]
    upper = np.concatenate([_mT(A), g], axis=-1)
    lower = np.concatenate([np.zeros_like(g), _mT(A)], axis=-1)
    block = call_in_rule(expm, np.concatenate([upper, lower], axis=-2))
    return (block[..., :n, n:],)


__all__ = ["solve_triangular", "cholesky", "cho_factor", "cho_solve", "solve", "expm"]
