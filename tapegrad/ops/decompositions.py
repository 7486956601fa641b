"""More of numpy.linalg: qr, eig and eigvals (real spectra), lstsq, and composites.

Primitives: qr (two outputs, Q and R), eig (two outputs, eigenvalues and
eigenvectors) and lstsq's solution. Composites built from existing
primitives, with numpy's own steps: matrix_power (numpy's binary powering),
multi_dot (numpy's cheapest multiplication order), tensorsolve,
tensorinv and cond (singular values, or norms of the matrix and its
inverse). ``tg.linalg`` re-exports the names; none is top level, as in numpy.

``eig`` and ``eigvals`` return complex results where the spectrum is complex
(numpy's values); their rule follows the complex convention of
docs/conventions.md.
"""

import operator
from collections import namedtuple

import numpy as np

from ..core.tape import grad_mode
from ..core.tensor import Tensor
from ..domain import Domain
from ._common import conjugated, implements, metadata, primitive, real_rule_only, unwrap
from .linalg import _mT, inv, solve
from .samples import decompositions as samples
from .shape import concatenate, reshape, transpose, tril
from .spectral import svdvals

QRResult = namedtuple("QRResult", ["Q", "R"])
EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])
LstsqResult = namedtuple("LstsqResult", ["x", "residuals", "rank", "s"])


def _needs_grad(x):
    return isinstance(x, Tensor) and x.requires_grad and grad_mode.enabled


def _zeros_if_none(g, like):
    return np.zeros(np.shape(like), dtype=np.result_type(like)) if g is None else g


# -- QR ---------------------------------------------------------------------------------


@primitive(name="qr", domain=Domain(sample=samples.qr, reference=samples.qr_reference))
def _qr(a):
    return QRResult(*np.linalg.qr(a, mode="reduced"))


@_qr.defvjp
def _qr_vjp(g, ans, a):
    real_rule_only("linalg.qr", a)
    # LAPACK's Householder QR fixes each diagonal sign of R by a locally
    # constant rule, so it is a smooth function where R is invertible, and
    # the usual formulas hold. Square or tall A (Walter and Lehmann 2018):
    # A_bar = (Q_bar + Q copyltu(M)) R^-T, M = R R_bar^T - Q_bar^T Q.
    # Wide A = [X | Y] (Q R = X, the rest of R is V = Q^T Y): Y_bar = Q V_bar,
    # and X gets the square formula with Q_bar + Y V_bar^T.
    q, r = ans
    g_q, g_r = _zeros_if_none(g[0], q), _zeros_if_none(g[1], r)
    m, n = np.shape(a)[-2:]
    if m >= n:
        return (_qr_square_vjp(q, r, g_q, g_r),)
    y = a[..., :, m:]
    g_v = g_r[..., :, m:]
    g_x = _qr_square_vjp(q, r[..., :, :m], g_q + np.matmul(y, _mT(g_v)), g_r[..., :, :m])
    return (concatenate([g_x, np.matmul(q, g_v)], axis=-1),)


def _qr_square_vjp(q, r, g_q, g_r):
    m = np.matmul(r, _mT(g_r)) - np.matmul(_mT(g_q), q)
    copyltu = tril(m) + _mT(tril(m, -1))
    rhs = g_q + np.matmul(q, copyltu)  # times R^-T: solve R X^T = rhs^T
    return _mT(np.linalg.solve(r, _mT(rhs)))


@implements(np.linalg.qr)
def qr(a, mode="reduced"):
    """``np.linalg.qr``: modes 'reduced', 'r', and 'complete' where it equals 'reduced'
    (rows <= columns); a tall complete Q has no gradient (its extra columns are not unique)."""
    m, n = np.shape(a)[-2:]
    if mode == "r":
        return _qr(a).R
    if mode == "reduced" or (mode == "complete" and m <= n):
        return QRResult(*_qr(a))
    if mode not in ("complete", "raw"):
        raise ValueError(f"Unrecognized mode '{mode}'")
    if _needs_grad(a):
        raise NotImplementedError(
            f"linalg.qr(mode={mode!r}) of shape {np.shape(a)} has no gradient (a tall "
            "complete Q's extra columns are not unique); use mode='reduced'"
        )
    result = np.linalg.qr(unwrap(a), mode=mode)
    return QRResult(*result) if mode == "complete" else result


# -- eigenvalues of general matrices ------------------------------------------------------


def _eig_forward(a):
    return EigResult(*np.linalg.eig(a))


@primitive(name="eig", domain=Domain(sample=samples.eig, reference=_eig_forward))
def _eig(a):
    return _eig_forward(a)


@_eig.defvjp
def _eig_vjp(g, ans, a):
    # A V = V diag(w), C = V^-1 dA V: dw = diag(C), dV = V (F o C) - V diag(V^T V (F o C))
    # (the last term keeps columns of unit norm), F[i, j] = 1 / (w[j] - w[i]) off the
    # diagonal. Transposed: A_bar = V^-T (diag(w_bar) + F o V^T G) V^T with
    # G = V_bar - V diag(V^T V_bar). A complex spectrum (the complex convention, as
    # PyTorch): V^H for V^T, conj(F), and Re of the overlap, since a complex
    # eigenvector is unique up to a phase and the loss must not depend on it.
    (values, vectors), (g_values, g_vectors) = ans, g
    vectors_h = conjugated(_mT(vectors))  # V^T itself for a real spectrum
    eye = np.eye(np.shape(a)[-1], dtype=np.result_type(vectors))
    inner = 0.0
    if g_values is not None:
        inner = eye * np.expand_dims(g_values, -2)
    if g_vectors is not None:
        _check_phase_invariant(vectors, g_vectors)
        gaps = np.expand_dims(values, -2) - np.expand_dims(values, -1)
        inverse_gaps = (1.0 - eye) / conjugated(gaps + eye)
        overlap = np.real(np.sum(conjugated(vectors) * g_vectors, axis=-2, keepdims=True))
        g_unit = g_vectors - vectors * overlap
        inner = inner + inverse_gaps * np.matmul(vectors_h, g_unit)
    return (np.linalg.solve(vectors_h, np.matmul(inner, vectors_h)),)


def _check_phase_invariant(vectors, g_vectors):
    # A loss that does not change when an eigenvector is multiplied by e^(i t)
    # has Im(v^H g_v) = 0 for each column; otherwise it has no gradient (the
    # eigenvector is only defined up to that phase), and the rule must not
    # pretend it does. (On the arrays: the check needs no derivative.)
    v, g = metadata(vectors), metadata(g_vectors)
    if v.dtype.kind != "c" and np.result_type(g).kind != "c":
        return
    drift = np.abs(np.imag(np.sum(np.conj(v) * g, axis=-2)))
    if drift.size and np.max(drift) > 1e-6 * (1.0 + np.max(np.abs(g))):
        raise ValueError(
            "linalg.eig: the loss depends on the phase of complex eigenvectors "
            f"(Im(v^H dL/dv) up to {np.max(drift):.3g}), which eig leaves arbitrary, so "
            "it has no gradient. Use a phase-invariant loss (|v|, v v^H, eigenvalues)"
        )


@implements(np.linalg.eig)
def eig(a):
    """``np.linalg.eig`` (numpy's values, signs and phases included; complex where the
    spectrum is). Distinct eigenvalues are needed for the eigenvector gradient, and a
    loss of complex eigenvectors must not depend on their phase (as in PyTorch)."""
    return EigResult(*_eig(a))


@implements(np.linalg.eigvals)
def eigvals(a):
    """``np.linalg.eigvals`` (``eig``'s first output; complex where the spectrum is)."""
    return _eig(a).eigenvalues


# -- least squares -------------------------------------------------------------------------


def _lstsq_forward(a, b, rcond=None):
    x, residuals, _, s = np.linalg.lstsq(a, b, rcond=rcond)
    return x, residuals, s


@primitive(name="lstsq", domain=Domain(sample=samples.lstsq, reference=_lstsq_forward))
def _lstsq(a, b, rcond=None):
    """x, residuals and singular values of ``np.linalg.lstsq`` (numpy's values)."""
    return _lstsq_forward(a, b, rcond)


@_lstsq.defvjp
def _lstsq_vjp(g, ans, a, b, rcond=None):
    # x = A+ b. Differentiating A+ (Golub and Pereyra, where the rank is locally
    # constant) and transposing: b_bar = A+^T x_bar and
    # A_bar = -b_bar x^T + r (A+ b_bar)^T + (A+^T x) (x_bar - A+ A x_bar)^T, r = b - A x.
    # The residuals ||r||^2 are minimal in x, so x's change does not move them:
    # b_bar += 2 r res_bar, A_bar -= 2 r res_bar x^T. The singular values: U diag(s_bar) Vh.
    (x, _, _), (g_x, g_res, g_s) = ans, g
    real_rule_only("linalg.lstsq", a)
    real_rule_only("linalg.lstsq", b)
    vector = np.ndim(b) == 1
    if vector:
        b, x = b[:, None], x[:, None]
        g_x = None if g_x is None else g_x[:, None]
    residual = b - np.matmul(a, x)
    g_a = g_b = 0.0
    if g_x is not None:
        p = np.linalg.pinv(a)
        p_t = _mT(p)
        g_b = np.matmul(p_t, g_x)
        outside = g_x - np.matmul(p, np.matmul(a, g_x))
        g_a = (
            -np.matmul(g_b, _mT(x))
            + np.matmul(residual, _mT(np.matmul(p, g_b)))
            + np.matmul(np.matmul(p_t, x), _mT(outside))
        )
    if g_res is not None and np.size(g_res):
        weighted = 2.0 * residual * g_res  # (m, k): one weight per column of b
        g_b = g_b + weighted
        g_a = g_a - np.matmul(weighted, _mT(x))
    if g_s is not None:
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        g_a = g_a + np.matmul(u * np.expand_dims(g_s, -2), vh)
    if np.ndim(g_a) == 0:  # only the residuals' cotangent reached b, or none reached A
        g_a = np.zeros(np.shape(a), dtype=np.result_type(residual))
    if np.ndim(g_b) == 0:
        g_b = np.zeros(np.shape(b), dtype=np.result_type(residual))
    return g_a, (g_b[:, 0] if vector else g_b)


@implements(np.linalg.lstsq)
def lstsq(a, b, rcond=None):
    """``np.linalg.lstsq``: ``(x, residuals, rank, s)``, numpy's values; ``x``, the residuals
    and the singular values are differentiable (full rank: the rank locally constant)."""
    x, residuals, s = _lstsq(a, b, rcond=rcond)
    return LstsqResult(x, residuals, _lstsq_rank(unwrap(a), unwrap(s), rcond), s)


def _lstsq_rank(a, s, rcond):
    # LAPACK's rule (gelsd): singular values <= rcond * the largest count as zero.
    if rcond is None:
        rcond = np.finfo(a.dtype).eps * max(a.shape[-2:])
    # numpy's rank is LAPACK's integer: an np.int32.
    return np.int32(np.sum(s > rcond * s.max()) if s.size else 0)


# -- composites -------------------------------------------------------------------------


@implements(np.linalg.matrix_power)
def matrix_power(a, n):
    """``np.linalg.matrix_power``: numpy's binary powering (``inv`` first for ``n < 0``)."""
    shape = np.shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    try:
        n = operator.index(n)
    except TypeError as error:
        raise TypeError("exponent must be an integer") from error
    if n == 0:  # the identity: a constant
        dtype = np.result_type(a)
        return np.broadcast_to(np.eye(shape[-2], dtype=dtype), shape).copy()
    if n < 0:
        a = inv(a)
        n = abs(n)
    if n == 1:
        return a
    if n == 2:
        return np.matmul(a, a)
    if n == 3:
        return np.matmul(np.matmul(a, a), a)
    z = result = None
    while n > 0:
        z = a if z is None else np.matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else np.matmul(result, z)
    return result


@implements(np.linalg.multi_dot)
def multi_dot(arrays, *, out=None):
    """``np.linalg.multi_dot``: ``dot`` in numpy's cheapest order (1-D ends allowed)."""
    n = len(arrays)
    if n < 2:
        raise ValueError("Expecting at least two arrays.")
    if n == 2:
        return np.dot(arrays[0], arrays[1])
    arrays = [a if isinstance(a, Tensor) else np.asarray(a) for a in arrays]
    first, last = np.ndim(arrays[0]), np.ndim(arrays[-1])
    if first == 1:
        arrays[0] = reshape(arrays[0], (1, -1))
    if last == 1:
        arrays[-1] = reshape(arrays[-1], (-1, 1))
    for a in arrays:
        if np.ndim(a) != 2:
            raise np.linalg.LinAlgError(
                f"{np.ndim(a)}-dimensional array given. Array must be two-dimensional"
            )
    if n == 3:
        result = _dot_three(*arrays)
    else:
        result = _dot_in_order(arrays, _chain_order(arrays))
    if first == 1 and last == 1:
        return result[0, 0]
    if first == 1 or last == 1:
        return reshape(result, (-1,))
    return result


def _dot_three(a, b, c):
    rows, inner = np.shape(a)
    middle, cols = np.shape(c)
    if rows * middle * (inner + cols) < inner * cols * (rows + middle):
        return np.dot(np.dot(a, b), c)
    return np.dot(a, np.dot(b, c))


def _chain_order(arrays):
    """numpy's matrix-chain order: split[i, j] is where the product of i..j splits."""
    n = len(arrays)
    sizes = [np.shape(a)[0] for a in arrays] + [np.shape(arrays[-1])[1]]
    cost = np.zeros((n, n))
    split = np.empty((n, n), dtype=np.intp)
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i, j] = np.inf
            for k in range(i, j):
                q = cost[i, k] + cost[k + 1, j] + sizes[i] * sizes[k + 1] * sizes[j + 1]
                if q < cost[i, j]:
                    cost[i, j] = q
                    split[i, j] = k
    return split


def _dot_in_order(arrays, split):
    # The split tree, evaluated children first without recursion.
    done = {}
    stack = [(0, len(arrays) - 1)]
    while stack:
        i, j = stack[-1]
        if i == j:
            done[i, j] = arrays[i]
            stack.pop()
            continue
        k = int(split[i, j])
        left, right = (i, k), (k + 1, j)
        pending = [part for part in (left, right) if part not in done]
        if pending:
            stack.extend(pending)
            continue
        done[i, j] = np.dot(done[left], done[right])
        stack.pop()
    return done[0, len(arrays) - 1]


@implements(np.linalg.tensorsolve)
def tensorsolve(a, b, axes=None):
    """``np.linalg.tensorsolve``: a reshape to one ``solve``."""
    ndim = np.ndim(a)
    if axes is not None:
        order = list(range(ndim))
        for k in axes:
            order.remove(k)
            order.insert(ndim, k)
        a = transpose(a, tuple(order))
    old_shape = np.shape(a)[-(ndim - np.ndim(b)) :]
    size = int(np.prod(old_shape))
    if np.size(a) != size**2:
        raise np.linalg.LinAlgError(
            "Input arrays must satisfy the requirement "
            "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])"
        )
    x = solve(reshape(a, (size, size)), reshape(b, (-1,)))
    return reshape(x, old_shape)


@implements(np.linalg.tensorinv)
def tensorinv(a, ind=2):
    """``np.linalg.tensorinv``: a reshape to one ``inv``."""
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    old_shape = np.shape(a)
    inverse_shape = old_shape[ind:] + old_shape[:ind]
    size = int(np.prod(old_shape[ind:]))
    return reshape(inv(reshape(a, (size, -1))), inverse_shape)


@implements(np.linalg.cond)
def cond(x, p=None):
    """``np.linalg.cond``: a ratio of singular values (p None, 2, -2), else the norm of
    the matrix times the norm of its inverse. A singular matrix gives inf, as numpy's."""
    shape = np.shape(x)
    if len(shape) >= 2 and shape[-1] * shape[-2] == 0:
        raise np.linalg.LinAlgError("cond is not defined on empty arrays")
    with np.errstate(all="ignore"):
        if p is None or p in (2, -2):
            s = svdvals(x)
            r = s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
        else:
            if len(shape) < 2 or shape[-1] != shape[-2]:
                raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
            # numpy inverts in float64 (and rounds the product back to x's dtype).
            dtype = np.result_type(x)
            try:
                inverse = inv(x.astype(np.float64) if dtype != np.float64 else x)
            except np.linalg.LinAlgError:
                return _inf_like(x)
            r = np.linalg.norm(x, p, axis=(-2, -1)) * np.linalg.norm(inverse, p, axis=(-2, -1))
            r = r.astype(dtype) if dtype != np.float64 else r
    nan = np.isnan(unwrap(r))
    if nan.any():
        nan &= ~np.isnan(unwrap(x)).any(axis=(-2, -1))
        r = np.where(nan, np.array(np.inf, dtype=np.result_type(r)), r)
    return r


def _inf_like(x):
    return np.full(np.shape(x)[:-2], np.inf, dtype=np.result_type(x, 1.0))


__all__ = []  # numpy.linalg names: reached as tg.linalg.NAME
