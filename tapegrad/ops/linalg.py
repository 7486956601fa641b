"""Linear algebra: products, einsum, and numpy.linalg's differentiable functions.

Primitives: matmul, einsum, inv, det, slogdet's logabsdet, solve, cholesky
(eigh, svd, pinv and the norms are in spectral.py). dot, vdot, inner, outer,
tensordot and trace are composites (tensordot is numpy's own
transpose-reshape-matmul, so it runs on BLAS). ``tg.linalg`` re-exports the
numpy.linalg names; this module's ``__all__`` holds the top-level ones.
"""

import string
from collections import Counter, namedtuple

import numpy as np

from ..domain import Domain
from ._common import conjugated, implements, plain_call, primitive, real_rule_only
from .samples import linalg as samples
from .shape import diagonal, tril


def _existing(module, *names):
    """The numpy functions among ``names`` that this numpy version has."""
    return tuple(getattr(module, n) for n in names if hasattr(module, n))


def _mT(x):  # noqa: N802  (numpy's name)
    return np.swapaxes(x, -1, -2)


def _restore(value, shape, axes, keepdims):
    """A reduction's output (or cotangent) with the reduced axes back as size 1."""
    if keepdims:
        return value
    return np.reshape(value, tuple(1 if i in axes else n for i, n in enumerate(shape)))


# -- products ---------------------------------------------------------------------


@primitive(
    numpy=(np.matmul, *_existing(np.linalg, "matmul")),
    domain=Domain(("real", "real"), shapes="matmul"),
)
def matmul(a, b):
    try:
        return np.matmul(a, b)
    except ValueError as error:
        raise ValueError(f"matmul of shapes {np.shape(a)} and {np.shape(b)}: {error}") from None


@matmul.defvjp(needs_grad=True)
def _matmul_vjp(g, ans, a, b, needs_grad):
    # numpy promotes 1-D operands to matrices and drops the added axis; undo
    # that on the cotangent, then the engine sums any broadcast batch axes.
    # A constant operand (the data in x @ W) gets no cotangent: that product
    # is often the largest of the whole backward pass.
    # Complex operands: the conjugate Jacobian (a real operand is its own conjugate).
    a, b = conjugated(a), conjugated(b)
    a_vector, b_vector = np.ndim(a) == 1, np.ndim(b) == 1
    if a_vector and b_vector:
        return g * b, g * a
    if a_vector:
        g = np.expand_dims(g, -2)
        a = np.expand_dims(a, 0)
    if b_vector:
        g = np.expand_dims(g, -1)
        b = np.expand_dims(b, -1)
    ga = gb = None
    if needs_grad[0]:
        ga = np.matmul(g, _mT(b))
        if a_vector:
            ga = np.squeeze(ga, -2)
    if needs_grad[1]:
        gb = np.matmul(_mT(a), g)
        if b_vector:
            gb = np.squeeze(gb, -1)
    return ga, gb


@matmul.defjvp
def _matmul_jvp(tangents, ans, a, b):
    ta, tb = tangents  # the product rule (matmul is linear in each operand)
    if tb is None:
        return np.matmul(ta, b)
    if ta is None:
        return np.matmul(a, tb)
    return np.matmul(ta, b) + np.matmul(a, tb)


@implements(np.tensordot, *_existing(np.linalg, "tensordot"))
def tensordot(a, b, axes=2):
    """Composite, as numpy computes it: transpose and reshape to one matmul."""
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(-int(axes), 0)), list(range(int(axes)))
    else:
        axes_a, axes_b = axes
    axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
    axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
    shape_a, shape_b = np.shape(a), np.shape(b)
    if len(axes_a) != len(axes_b) or any(shape_a[i] != shape_b[j] for i, j in zip(axes_a, axes_b)):
        raise ValueError(
            f"tensordot: shape-mismatch for sum: axes {axes_a} of shape {shape_a} against "
            f"axes {axes_b} of shape {shape_b}"
        )
    axes_a = [i % len(shape_a) for i in axes_a]
    axes_b = [i % len(shape_b) for i in axes_b]
    free_a = [i for i in range(len(shape_a)) if i not in axes_a]
    free_b = [i for i in range(len(shape_b)) if i not in axes_b]
    summed = _size(shape_a, axes_a)
    a2 = np.reshape(_permuted(a, free_a + axes_a), (_size(shape_a, free_a), summed))
    b2 = np.reshape(_permuted(b, axes_b + free_b), (summed, _size(shape_b, free_b)))
    out_shape = tuple(shape_a[i] for i in free_a) + tuple(shape_b[i] for i in free_b)
    return np.reshape(np.matmul(a2, b2), out_shape)


def _size(shape, axes):
    return int(np.prod([shape[i] for i in axes]))


def _permuted(x, order):
    return x if order == sorted(order) else np.transpose(x, order)


@implements(np.dot)
def dot(a, b, out=None):
    """Composite: ``matmul`` where it agrees with dot, else ``tensordot``."""
    nda, ndb = np.ndim(a), np.ndim(b)
    if nda == 0 or ndb == 0:
        return np.multiply(a, b)
    if ndb == 1 or nda == 1 or (nda <= 2 and ndb <= 2):
        return np.matmul(a, b)
    return tensordot(a, b, ([-1], [-2]))


@implements(np.vdot)
def vdot(a, b):
    """Composite: the inner product of the flattened operands, the first conjugated."""
    return np.matmul(np.reshape(np.conjugate(a), (-1,)), np.reshape(b, (-1,)))


@implements(np.inner)
def inner(a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    return tensordot(a, b, ([-1], [-1]))


@implements(np.outer, *_existing(np.linalg, "outer"))
def outer(a, b, out=None):
    return np.multiply(np.reshape(a, (-1, 1)), np.reshape(b, (1, -1)))


@implements(*_existing(np, "vecdot"), *_existing(np.linalg, "vecdot"))
def vecdot(x1, x2, /, *, axis=-1):
    # numpy conjugates the first operand (a real Tensor's conjugate is itself).
    return np.sum(np.multiply(np.conjugate(x1), x2), axis=axis)


@implements(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Composite: the sum of ``diagonal``."""
    total = np.sum(diagonal(a, offset, axis1, axis2), axis=-1)
    return total if dtype is None else total.astype(dtype)


@implements(*_existing(np.linalg, "trace"))
def _linalg_trace(x, /, *, offset=0, dtype=None):
    return trace(x, offset, -2, -1, dtype)


@implements(*_existing(np.linalg, "diagonal"))
def _linalg_diagonal(x, /, *, offset=0):
    return diagonal(x, offset, -2, -1)


# -- einsum ------------------------------------------------------------------------

# Interleaved operands (op, [0, 1], op, [1, 2]) label 0-25 as 'A'-'Z' and
# 26-51 as 'a'-'z', so that implicit outputs sort as numpy sorts them.
_SUBLIST_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _sublist_text(sublist):
    parts = []
    for label in sublist:
        if label is Ellipsis:
            parts.append("...")
        elif 0 <= int(label) < len(_SUBLIST_LETTERS):
            parts.append(_SUBLIST_LETTERS[int(label)])
        else:
            raise ValueError(
                f"einsum: sublist label {label!r} in {list(sublist)!r} is not within the "
                f"valid range [0, {len(_SUBLIST_LETTERS)})"
            )
    return "".join(parts)


def _einsum_operands(args):
    """(subscripts string, operands) from either calling form of np.einsum."""
    if isinstance(args[0], str):
        return args[0], list(args[1:])
    operands = list(args[0::2])
    sublists = list(args[1::2])
    output = None
    if len(args) % 2:  # a trailing output sublist
        output = operands.pop()
    text = ",".join(_sublist_text(s) for s in sublists)
    if output is not None:
        text += "->" + _sublist_text(output)
    return text, operands


def explicit_subscripts(subscripts, shapes):
    """``subscripts`` with the output spelled out and each '...' replaced by letters.

    Implicit outputs follow numpy: broadcast axes first, then the letters
    that appear once, in alphabetical (ASCII) order.
    """
    text = subscripts.replace(" ", "")
    if text.count("->") > 1:
        raise ValueError(f"einsum: subscripts {subscripts!r} have more than one '->'")
    explicit = "->" in text
    inputs_text, output = text.split("->") if explicit else (text, None)
    inputs = inputs_text.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(
            f"einsum: subscripts {subscripts!r} name {len(inputs)} operands, {len(shapes)} given"
        )
    letters = set(text) - set(",->.")
    bad = [c for c in letters if c not in string.ascii_letters]
    if bad or any(part.replace("...", "").count(".") for part in [*inputs, output or ""]):
        raise ValueError(f"einsum: invalid subscript characters in {subscripts!r}")
    widths = []
    for labels, shape in zip(inputs, shapes):
        named = len(labels.replace("...", ""))
        width = len(shape) - named if "..." in labels else 0
        if width < 0 or ("..." not in labels and named != len(shape)):
            raise ValueError(
                f"einsum: operand subscripts {labels!r} do not fit an operand of shape {shape}"
            )
        widths.append(width)
    spare = (c for c in string.ascii_letters if c not in letters)
    broadcast = "".join(next(spare) for _ in range(max(widths, default=0)))
    expanded = [
        labels.replace("...", broadcast[len(broadcast) - w :]) for labels, w in zip(inputs, widths)
    ]
    if explicit:
        if "..." in output:
            output = output.replace("...", broadcast)
        elif broadcast:
            raise ValueError(
                "output has more dimensions than subscripts given in einstein sum, but no "
                "'...' ellipsis provided to broadcast the extra dimensions."
            )
    else:
        counts = Counter(inputs_text.replace("...", "").replace(",", ""))
        output = broadcast + "".join(sorted(c for c, n in counts.items() if n == 1))
    return ",".join(expanded) + "->" + output


@primitive(name="einsum", domain=Domain(sample=samples.einsum, reference=samples.einsum_reference))
def _einsum(*operands, subscripts="", optimize=False):
    return np.einsum(subscripts, *operands, optimize=optimize)


@_einsum.defvjp
def _einsum_vjp(g, ans, *operands, subscripts="", optimize=False):
    inputs_text, output = subscripts.split("->")
    inputs = inputs_text.split(",")
    if not isinstance(optimize, (bool, str)):
        optimize = True  # a precomputed path is for the forward's operands only
    operands = [conjugated(op) for op in operands]  # complex: the conjugate Jacobian
    return tuple(
        _einsum_operand_ct(g, operands, inputs, output, i, optimize) for i in range(len(inputs))
    )


def _einsum_operand_ct(g, operands, inputs, output, i, optimize):
    """The cotangent of operand i: another einsum, of g and the other operands.

    A label repeated in operand i ('ii') gets a fresh letter tied to the
    first by an identity matrix; a label summed only within operand i
    ('ij->i') gets a vector of ones, so the result has every axis of it.
    """
    target = inputs[i]
    shape = np.shape(operands[i])
    dtype = np.result_type(g)
    spare = (c for c in string.ascii_letters if c not in set("".join(inputs) + output))
    terms, args = [output], [g]
    for j, (labels, operand) in enumerate(zip(inputs, operands)):
        if j != i:
            terms.append(labels)
            args.append(operand)
    present = set("".join(terms))
    seen = set()
    labels_out = []
    for label, n in zip(target, shape):
        if label in seen:
            fresh = next(spare)
            terms.append(label + fresh)
            args.append(np.eye(n, dtype=dtype))
            labels_out.append(fresh)
            continue
        seen.add(label)
        if label not in present:
            terms.append(label)
            args.append(np.ones(n, dtype=dtype))
            present.add(label)
        labels_out.append(label)
    ct = np.einsum(",".join(terms) + "->" + "".join(labels_out), *args, optimize=optimize)
    # A label of size n here and 1 in every other operand (numpy broadcasts
    # it) comes out of size 1: spread it; the opposite case the engine sums.
    ct_shape = np.shape(ct)
    if any(c == 1 and n != 1 for c, n in zip(ct_shape, shape)):
        ct = np.broadcast_to(ct, tuple(max(c, n) for c, n in zip(ct_shape, shape)))
    return ct


@_einsum.defjvp
def _einsum_jvp(tangents, ans, *operands, subscripts="", optimize=False):
    # Multilinear: one term per operand with a tangent, that operand replaced by it.
    if not isinstance(optimize, (bool, str)):
        optimize = True  # a precomputed path is for the forward's operands only
    total = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        args = [t if j == i else operand for j, operand in enumerate(operands)]
        term = np.einsum(subscripts, *args, optimize=optimize)
        total = term if total is None else total + term
    return total


@implements(np.einsum)
def einsum(*operands, out=None, optimize=False, dtype=None, order="K", casting="safe"):
    """``np.einsum`` on Tensors: explicit, implicit, ellipsis, repeated labels, sublists."""
    subscripts, arrays = _einsum_operands(operands)
    explicit = explicit_subscripts(subscripts, [np.shape(a) for a in arrays])
    result = _einsum(*arrays, subscripts=explicit, optimize=optimize)
    return result if dtype is None else result.astype(dtype)


# -- numpy.linalg -----------------------------------------------------------------

SQUARE = Domain(("wellcond",), shapes="square")


@primitive(numpy=np.linalg.inv, domain=SQUARE)
def inv(a):
    return np.linalg.inv(a)


@inv.defvjp
def _inv_vjp(g, ans, a):
    inverse_t = conjugated(_mT(ans))  # A^-H for complex A
    return (-np.matmul(np.matmul(inverse_t, g), inverse_t),)


@inv.defjvp
def _inv_jvp(tangents, ans, a):
    return -np.matmul(np.matmul(ans, tangents[0]), ans)


@primitive(numpy=np.linalg.det, domain=SQUARE)
def det(a):
    return np.linalg.det(a)


@det.defvjp
def _det_vjp(g, ans, a):
    # d det(A) = tr(adj(A) dA), and adj(A) = det(A) A^-1 when A is invertible.
    if isinstance(a, np.ndarray):
        try:
            inverse = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            # A singular matrix still has a cofactor matrix (the gradient).
            return (np.reshape(g, (*np.shape(g), 1, 1)) * conjugated(_cofactors(a)),)
    else:
        inverse = np.linalg.inv(a)  # recording a derivative: A must be invertible
    # Complex A: the conjugate of the cofactor matrix (a real one is its own).
    scale = np.reshape(g * conjugated(ans), (*np.shape(g), 1, 1))
    return (scale * conjugated(_mT(inverse)),)


@det.defjvp
def _det_jvp(tangents, ans, a):
    # d det(A) = tr(adj(A) dA) = det(A) tr(A^-1 dA) when A is invertible.
    (t,) = tangents
    if isinstance(a, np.ndarray) and not isinstance(t, Tensor):
        try:
            step = np.linalg.solve(a, t)
        except np.linalg.LinAlgError:
            return np.sum(_cofactors(a) * t, axis=(-2, -1))
    else:
        step = np.linalg.solve(a, t)
    return ans * np.trace(step, axis1=-2, axis2=-1)


def _cofactors(a):
    """The cofactor matrix adj(A)^T, singular A included (ndarrays only).

    With A = U diag(s) V^T, adj(A)^T = det(U) det(V) U diag(prod of the
    other singular values) V^T: no division by a zero singular value.
    """
    u, s, vh = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.ones_like(s)
    for i in range(n):
        others[..., i] = np.prod(np.delete(s, i, axis=-1), axis=-1)
    signs = np.linalg.det(u) * np.linalg.det(vh)
    if a.dtype.kind == "c":  # A^-T = conj(U) diag(1/s) conj(V^H): no conjugate transpose
        u, vh = conjugated(u), conjugated(vh)
    return signs[..., None, None] * np.matmul(u * others[..., None, :], vh)


@primitive(
    name="slogdet",
    domain=Domain(("wellcond",), shapes="square", reference=samples.slogdet_reference),
)
def logabsdet(a):
    """The ``logabsdet`` half of ``slogdet`` (the sign has no gradient)."""
    return np.linalg.slogdet(a)[1]


@logabsdet.defvjp
def _logabsdet_vjp(g, ans, a):
    # Complex A: log|det A| = Re(log det A), whose gradient is conj(A^-T).
    return (np.reshape(g, (*np.shape(g), 1, 1)) * conjugated(_mT(np.linalg.inv(a))),)


@logabsdet.defjvp
def _logabsdet_jvp(tangents, ans, a):
    return np.trace(np.linalg.solve(a, tangents[0]), axis1=-2, axis2=-1)


SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])


@implements(np.linalg.slogdet)
def slogdet(a):
    """``(sign, logabsdet)``; ``sign`` is a plain array (no gradient)."""
    return SlogdetResult(plain_call(_slogdet_sign, a), logabsdet(a))


def _slogdet_sign(a):
    return np.linalg.slogdet(a)[0]


@primitive(numpy=np.linalg.solve, domain=Domain(("wellcond", "real"), shapes="square"))
def solve(a, b):
    return np.linalg.solve(a, b)


@solve.defvjp
def _solve_vjp(g, ans, a, b):
    # numpy (>= 2) reads a 1-D b as one vector and any other b as (..., M, K).
    # Complex: A^-H g and -gb x^H (a real array is its own conjugate).
    a_h = conjugated(_mT(a))
    if np.ndim(b) == 1:
        gb = np.linalg.solve(a_h, np.expand_dims(g, -1))
        ga = -np.matmul(gb, conjugated(np.expand_dims(ans, -2)))
        return ga, np.squeeze(gb, -1)
    gb = np.linalg.solve(a_h, g)
    return -np.matmul(gb, conjugated(_mT(ans))), gb


@solve.defjvp
def _solve_jvp(tangents, ans, a, b):
    # x = A^-1 b, so dx = A^-1 (db - dA x).
    ta, tb = tangents
    rhs = tb
    if ta is not None:
        da_x = np.matmul(ta, ans)
        rhs = -da_x if rhs is None else rhs - da_x
    return np.linalg.solve(a, rhs)


@primitive(name="cholesky", domain=Domain(("spd",), shapes="square", reference=np.linalg.cholesky))
def _cholesky(a):
    return np.linalg.cholesky(a)


@_cholesky.defvjp
def _cholesky_vjp(g, ans, a):
    real_rule_only("linalg.cholesky", a)
    # Murray (2016), arXiv:1602.07527: the symmetric cotangent is
    # sym(S), S = L^-T phi(L^T g) L^-1, phi = lower triangle, diagonal halved.
    # numpy reads only the lower triangle of `a`, so the gradient of what it
    # computes puts the off-diagonal weight there: phi(S + S^T).
    eye = np.eye(np.shape(a)[-1], dtype=np.result_type(g))
    phi_scale = 1.0 / (1.0 + eye)
    inner = tril(np.matmul(_mT(ans), g)) * phi_scale
    right = _mT(np.linalg.solve(_mT(ans), _mT(inner)))  # inner L^-1
    s = np.linalg.solve(_mT(ans), right)  # L^-T inner L^-1
    return (tril(s + _mT(s)) * phi_scale,)


@_cholesky.defjvp
def _cholesky_jvp(tangents, ans, a):
    # numpy reads the lower triangle: the matrix it factors is that triangle
    # mirrored. With S = L^-1 dA L^-T, dL = L phi(S), phi = lower triangle
    # with the diagonal halved.
    (t,) = tangents
    sym = tril(t) + _mT(tril(t, -1))
    left = np.linalg.solve(ans, sym)  # L^-1 dA
    inner = _mT(np.linalg.solve(ans, _mT(left)))  # L^-1 dA L^-T
    eye = np.eye(np.shape(a)[-1], dtype=ans.dtype)
    return np.matmul(ans, tril(inner) * (1.0 / (1.0 + eye)))


@implements(np.linalg.cholesky)
def cholesky(a, /, *, upper=False):
    """``np.linalg.cholesky``. The gradient goes to the triangle numpy reads
    (the lower one; the upper one with ``upper=True``); for an input built
    symmetric, such as ``B @ B.T``, that is the same as the symmetric convention.
    """
    if upper:
        return _mT(_cholesky(_mT(a)))
    return _cholesky(a)


__all__ = ["matmul", "dot", "vdot", "inner", "outer", "tensordot", "einsum", "trace", "vecdot"]


# -- Kronecker and cross products (added with issue 12) ------------------------------

import warnings  # noqa: E402  (the additions below)

from ..core.tensor import Tensor  # noqa: E402


@implements(np.kron)
def kron(a, b):
    """Composite, numpy's steps: interleaved new axes, one broadcast product, a reshape."""
    a, b = (v if isinstance(v, Tensor) else np.asarray(v) for v in (a, b))
    if np.ndim(a) < np.ndim(b):  # numpy reads a with ndmin=b.ndim
        a = np.reshape(a, (1,) * (np.ndim(b) - np.ndim(a)) + np.shape(a))
    nda, ndb = np.ndim(a), np.ndim(b)
    nd = max(nda, ndb)
    if nda == 0 or ndb == 0:
        return np.multiply(a, b)
    shape_a = (1,) * max(0, ndb - nda) + np.shape(a)
    shape_b = (1,) * max(0, nda - ndb) + np.shape(b)
    a_arr = np.expand_dims(np.expand_dims(a, tuple(range(ndb - nda))), tuple(range(1, nd * 2, 2)))
    b_arr = np.expand_dims(np.expand_dims(b, tuple(range(nda - ndb))), tuple(range(0, nd * 2, 2)))
    product = np.multiply(a_arr, b_arr)
    return np.reshape(product, tuple(int(n) for n in np.multiply(shape_a, shape_b)))


@implements(np.cross, *_existing(np.linalg, "cross"))
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Composite, numpy's products and differences (2-element vectors as numpy 2, deprecated)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = (v if isinstance(v, Tensor) else np.asarray(v) for v in (a, b))
    if np.ndim(a) < 1 or np.ndim(b) < 1:
        raise ValueError("At least one array has zero dimension")
    a, b = np.moveaxis(a, axisa, -1), np.moveaxis(b, axisb, -1)
    na, nb = np.shape(a)[-1], np.shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    if na == 2 or nb == 2:
        warnings.warn(
            "Arrays of 2-dimensional vectors are deprecated. Use arrays of "
            "3-dimensional vectors instead. (deprecated in NumPy 2.0)",
            DeprecationWarning,
            stacklevel=2,
        )
    dtype = np.promote_types(np.result_type(a), np.result_type(b))
    a, b = a.astype(dtype), b.astype(dtype)
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    if na == 2 and nb == 2:
        return a0 * b1 - a1 * b0
    if na == 2:
        b2 = b[..., 2]
        parts = (a1 * b2, -(a0 * b2), a0 * b1 - a1 * b0)
    elif nb == 2:
        a2 = a[..., 2]
        parts = (-(a2 * b1), a2 * b0, a0 * b1 - a1 * b0)
    else:
        a2, b2 = a[..., 2], b[..., 2]
        parts = (a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0)
    return np.moveaxis(np.stack(np.broadcast_arrays(*parts), axis=-1), -1, axisc)


__all__ += ["kron", "cross"]
