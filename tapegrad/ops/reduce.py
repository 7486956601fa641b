"""Reductions over axes (None, int, negative int or tuple; keepdims) and scans.

Forwards take numpy's positional order (``np.sum(x, 0)`` passes axis
positionally and the engine maps it by name), so each signature lists numpy's
options up to the ones we support (``out`` included: it is refused, see
the recorder). Rules give the cotangent back its reduced
axes (``restore_reduced``) and let broadcasting spread it.
"""

import functools
import math

import numpy as np

from ..domain import Domain
from ._common import conjugated, implements, primitive

KEEPDIMS = {"keepdims": (False, True)}
_NO_VALUE = np._NoValue  # numpy's "not given" for `initial`
REDUCE = Domain(("real",), shapes="reduce", kwargs=KEEPDIMS)
# No ties: finite differences cannot see a gradient split between equal elements.
REDUCE_DISTINCT = Domain(("distinct",), shapes="reduce", kwargs=KEEPDIMS)
# Pairwise distinct values keep std away from 0, where its second derivative
# blows up. ddof = 1 on a group of one element is NaN, and skipped, as numpy's.
MOMENT = Domain(("distinct",), shapes="reduce", kwargs={**KEEPDIMS, "ddof": (0, 1)})
# Exact zeros among the factors: the rules must not divide by an element.
PRODUCT = Domain(("withzeros",), shapes="reduce", kwargs=KEEPDIMS)


def normalize_axis(axis, ndim):
    """``axis`` as a sorted tuple of non-negative ints (None: every axis)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(sorted(int(a) % ndim if ndim else int(a) for a in axis))


def restore_reduced(g, shape, axis, keepdims):
    """Give ``g`` (a reduction's output cotangent) back the reduced axes as size 1."""
    if keepdims or not shape or axis is None:
        return g  # already broadcastable: keepdims kept them, or g is 0-d
    return np.reshape(g, reduced_shape(shape, axis))


def reduced_shape(shape, axis):
    axes = normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduced_count(shape, axis):
    """How many elements of an input of ``shape`` go into each reduced one."""
    return math.prod(shape[a] for a in normalize_axis(axis, len(shape)))


def rounds_to_integers(dtype):
    """True when a ``dtype=`` option makes the result integer (or bool): then
    the elements are rounded first, a piecewise constant step with no gradient."""
    return dtype is not None and np.dtype(dtype).kind not in "fc"


# -- sums and means -----------------------------------------------------------------


# Below this many elements a sum's cotangent is materialized, not broadcast.
_SMALL = 4096


@primitive(numpy=np.sum, domain=REDUCE)
def sum(x, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):  # noqa: A001
    if where is not True or initial is not _NO_VALUE:
        return np.sum(x, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)
    # np.sum is a Python wrapper around this call; on small arrays it is
    # half the cost of the whole reduction. (Dask arrays take np.sum.)
    if type(x) is not np.ndarray:
        return np.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)
    return np.add.reduce(x, axis=axis, dtype=dtype, keepdims=keepdims)


@sum.defvjp
def _sum_vjp(
    g, ans, x, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE, where=True
):
    # `initial` is a constant added once: no gradient of its own.
    if dtype is not None and rounds_to_integers(dtype):
        return (None,)
    shape = x.shape  # ndarray or Tensor alike
    g = restore_reduced(g, shape, axis, keepdims)
    if where is not True:  # elements left out of the sum get nothing
        return (np.where(where, g, np.zeros(shape, dtype=g.dtype)),)
    if x.size <= _SMALL:
        # np.broadcast_to costs ~1.8 us of Python; on small inputs adding
        # zeros is cheaper and gives an owned array.
        return (g + np.zeros(shape, dtype=g.dtype),)
    return (np.broadcast_to(g, shape),)


@sum.defjvp
def _sum_jvp(
    tangents, ans, x, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE, where=True
):
    # Linear but for `initial`, a constant offset with no tangent.
    (t,) = tangents
    if dtype is not None and rounds_to_integers(dtype):
        return None
    reduce = sum if type(t) is not np.ndarray else sum.fun  # (arrays: no recorder)
    return reduce(t, axis=axis, dtype=dtype, keepdims=keepdims, where=where)


@primitive(numpy=np.mean, domain=REDUCE)
def mean(x, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    if where is not True:
        return np.mean(x, axis=axis, dtype=dtype, keepdims=keepdims, where=where)
    return np.mean(x, axis=axis, dtype=dtype, keepdims=keepdims)


@mean.defvjp
def _mean_vjp(g, ans, x, axis=None, dtype=None, out=None, keepdims=False, where=True):
    if rounds_to_integers(dtype):
        return (None,)
    shape = np.shape(x)
    g = restore_reduced(g, shape, axis, keepdims)
    if where is not True:
        # Each kept element's share is 1 / (kept elements in its group).
        kept = np.broadcast_to(where, shape)
        count = np.sum(kept, axis=axis, keepdims=True)
        return (np.where(kept, g / count, np.zeros((), dtype=g.dtype)),)
    g = g / _reduced_count(shape, axis)
    return (np.broadcast_to(g, shape),)


mean.deflinear()


@primitive(numpy=np.var, domain=MOMENT)
def var(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return np.var(x, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)


@var.defvjp
def _var_vjp(g, ans, x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    if rounds_to_integers(dtype):
        return (None,)
    shape = np.shape(x)
    # numpy's division: an empty group gives inf (then an empty gradient), not an exception.
    scale = restore_reduced(g, shape, axis, keepdims) * 2.0 / (_reduced_count(shape, axis) - ddof)
    return (scale * (x - np.mean(x, axis=axis, keepdims=True)),)


@var.defjvp
def _var_jvp(tangents, ans, x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    if rounds_to_integers(dtype):
        return None
    centered = x - np.mean(x, axis=axis, keepdims=True)
    count = _reduced_count(np.shape(x), axis) - ddof
    # numpy's division: an empty group gives inf or NaN (as the forward), not an exception.
    return np.sum(centered * tangents[0], axis=axis, keepdims=keepdims) * 2.0 / count


@primitive(numpy=np.std, domain=MOMENT)
def std(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return np.std(x, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)


@std.defvjp
def _std_vjp(g, ans, x, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    if rounds_to_integers(dtype):
        return (None,)
    shape = np.shape(x)
    # Where std is exactly 0 every centered element is 0 too: dividing by 1
    # instead gives gradient 0 there (like linalg.norm at 0), not 0 / 0.
    ans = restore_reduced(ans, shape, axis, keepdims)
    scale = restore_reduced(g, shape, axis, keepdims) / (
        (_reduced_count(shape, axis) - ddof) * np.where(ans == 0, 1.0, ans)
    )
    return (scale * (x - np.mean(x, axis=axis, keepdims=True)),)


# -- products -----------------------------------------------------------------------


@primitive(numpy=np.prod, domain=PRODUCT)
def prod(x, axis=None, dtype=None, out=None, keepdims=False):
    return np.prod(x, axis=axis, dtype=dtype, keepdims=keepdims)


@prod.defvjp
def _prod_vjp(g, ans, x, axis=None, dtype=None, out=None, keepdims=False):
    if rounds_to_integers(dtype):
        return (None,)
    # d prod / d x_i is the product of the other elements: ans / x_i unless
    # some element is 0; then products of the elements before and after i.
    shape = np.shape(x)
    g = restore_reduced(g, shape, axis, keepdims)
    if x.dtype.kind == "c":
        # Holomorphic: g * conj(J) = conj(conj(g) * J), the real formula between conjugations.
        return (_holomorphic(_prod_grad, g, ans, x, axis, keepdims),)
    return (_prod_grad(g, ans, x, axis, keepdims),)


def _prod_grad(g, ans, x, axis, keepdims):
    shape = np.shape(x)
    if not (x == 0).any():
        return g * restore_reduced(ans, shape, axis, keepdims) / x
    return g * _product_of_others(x, normalize_axis(axis, len(shape)))


def _holomorphic(grad, g, *args):
    """``grad`` (written as g times the Jacobian) for complex inputs: PyTorch's
    convention wants g times the conjugate Jacobian, which is conj(conj(g) J)."""
    return conjugated(grad(conjugated(g), *args))


def _product_of_others(x, axes):
    """At each element, the product of the other elements of its reduced group.

    No division, so exact with zeros; built from primitives, so its own
    derivative (the second derivative of prod) is right at zeros too.
    """
    shape = np.shape(x)
    kept = [i for i in range(len(shape)) if i not in axes]
    order = kept + list(axes)
    group = math.prod(shape[a] for a in axes)
    rows = np.reshape(np.transpose(x, order), (*(shape[i] for i in kept), group))
    others = _exclusive_cumprod(rows) * _reverse(_exclusive_cumprod(_reverse(rows, -1)), -1)
    others = np.reshape(others, tuple(shape[i] for i in order))
    return np.transpose(others, tuple(int(i) for i in np.argsort(order)))


def _exclusive_cumprod(rows):
    """Along the last axis: out[i] is the product of rows[j] for j < i (1 at i = 0)."""
    n = np.shape(rows)[-1]
    positions = np.arange(n)
    shifted = rows[..., np.maximum(positions - 1, 0)]
    return np.cumprod(np.where(positions == 0, 1.0, shifted), axis=-1)


# -- max and min: ties share the gradient equally ---------------------------------------


def _extremum_vjp(g, ans, x, axis, keepdims):
    # Every element equal to the extremum gets an equal share (as PyTorch's
    # amax/amin): the result is symmetric in tied elements, so is the gradient.
    shape = np.shape(x)
    winners = x == restore_reduced(ans, shape, axis, keepdims)
    share = winners / np.sum(winners, axis=axis, keepdims=True)
    return (restore_reduced(g, shape, axis, keepdims) * share.astype(g.dtype, copy=False),)


def _extremum_jvp(t, ans, x, axis, keepdims):
    # The mean of the tied winners' tangents: the transpose of the equal shares above.
    shape = np.shape(x)
    winners = x == restore_reduced(ans, shape, axis, keepdims)
    count = np.sum(winners, axis=axis, keepdims=keepdims)
    return np.sum(np.where(winners, t, 0.0), axis=axis, keepdims=keepdims) / count


@primitive(numpy=(np.max, np.amax), domain=REDUCE_DISTINCT)
def max(x, axis=None, out=None, keepdims=False):  # noqa: A001  (numpy's name)
    return np.max(x, axis=axis, keepdims=keepdims)


@max.defvjp
def _max_vjp(g, ans, x, axis=None, out=None, keepdims=False):
    return _extremum_vjp(g, ans, x, axis, keepdims)


@max.defjvp
def _max_jvp(tangents, ans, x, axis=None, out=None, keepdims=False):
    return _extremum_jvp(tangents[0], ans, x, axis, keepdims)


@primitive(numpy=(np.min, np.amin), domain=REDUCE_DISTINCT)
def min(x, axis=None, out=None, keepdims=False):  # noqa: A001  (numpy's name)
    return np.min(x, axis=axis, keepdims=keepdims)


@min.defvjp
def _min_vjp(g, ans, x, axis=None, out=None, keepdims=False):
    return _extremum_vjp(g, ans, x, axis, keepdims)


@min.defjvp
def _min_jvp(tangents, ans, x, axis=None, out=None, keepdims=False):
    return _extremum_jvp(tangents[0], ans, x, axis, keepdims)


amax = max
amin = min


@primitive(domain=REDUCE, real_only=True)
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x), axis)), shifted by the maximum so that exp never overflows."""
    shift = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    # An all -inf (or empty) slice has no finite maximum: shift it by 0.
    shift = np.where(np.isfinite(shift), shift, 0.0)
    total = np.sum(np.exp(x - shift), axis=axis, keepdims=keepdims)
    if not keepdims:
        shift = np.reshape(shift, np.shape(total))
    return np.log(total) + shift


@logsumexp.defvjp
def _logsumexp_vjp(g, ans, x, axis=None, keepdims=False):
    # The softmax of x along axis; exp(x - ans) <= 1 never overflows.
    shape = np.shape(x)
    weights = np.exp(x - restore_reduced(ans, shape, axis, keepdims))
    return (restore_reduced(g, shape, axis, keepdims) * weights,)


@logsumexp.defjvp
def _logsumexp_jvp(tangents, ans, x, axis=None, keepdims=False):
    # The softmax-weighted sum of the tangent.
    weights = np.exp(x - restore_reduced(ans, np.shape(x), axis, keepdims))
    return np.sum(weights * tangents[0], axis=axis, keepdims=keepdims)


# -- scans ------------------------------------------------------------------------------


def _reverse(v, axis):
    # Indexing with a negative step (the getitem primitive): differentiable.
    return v[(slice(None),) * (axis % np.ndim(v)) + (slice(None, None, -1),)]


def _reverse_cumsum(v, axis):
    """out[i] = sum of v[k] for k >= i along axis."""
    return _reverse(np.cumsum(_reverse(v, axis), axis=axis), axis)


def _scan_vjp(grad_along_axis, g, ans, x, axis):
    # cumsum/cumprod with axis=None scan the flattened input.
    if x.dtype.kind == "c" and grad_along_axis is _cumprod_grad:
        grad_along_axis = functools.partial(_holomorphic, _cumprod_grad)
    if axis is None:
        flat = grad_along_axis(g, ans, np.reshape(x, (-1,)), 0)
        return (np.reshape(flat, np.shape(x)),)
    return (grad_along_axis(g, ans, x, axis),)


@primitive(numpy=np.cumsum, domain=Domain(("real",), shapes="scan"))
def cumsum(x, axis=None, dtype=None, out=None):
    return np.cumsum(x, axis=axis, dtype=dtype)


def _cumsum_grad(g, ans, x, axis):
    return _reverse_cumsum(g, axis)


@cumsum.defvjp
def _cumsum_vjp(g, ans, x, axis=None, dtype=None, out=None):
    if rounds_to_integers(dtype):
        return (None,)
    return _scan_vjp(_cumsum_grad, g, ans, x, axis)


cumsum.deflinear()


@primitive(numpy=np.cumprod, domain=Domain(("withzeros",), shapes="scan"))
def cumprod(x, axis=None, dtype=None, out=None):
    return np.cumprod(x, axis=axis, dtype=dtype)


def _cumprod_grad(g, ans, x, axis):
    # d ans[k] / d x[i] = ans[k] / x[i] for k >= i, without zeros.
    zero = x == 0
    if not zero.any():
        return _reverse_cumsum(g * ans, axis) / x
    if not isinstance(x, np.ndarray):
        # Recording a derivative (create_graph): a division-free form whose
        # own derivatives are right at zeros too.
        return _cumprod_grad_by_rows(g, x, axis)
    # Along a slice, only elements up to its first zero z have a gradient:
    # before z the formula above holds (ans[k] = 0 for k >= z), and at z it
    # is the sum over k >= z of g[k] * cumprod(x with x[z] set to 1)[k].
    zeros_so_far = np.cumsum(zero, axis=axis)
    before = zeros_so_far == 0
    first = zero & (zeros_so_far == 1)
    grad_before = _reverse_cumsum(g * ans, axis) / np.where(before, x, 1.0)
    skip_first = np.cumprod(np.where(first, 1.0, x), axis=axis)
    grad_first = _reverse_cumsum(g * skip_first, axis)
    return np.where(before, grad_before, np.where(first, grad_first, 0.0))


def _cumprod_grad_by_rows(g, x, axis):
    # Row i of `skip` is the slice with x[i] set to 1: its cumprod at k >= i
    # is d ans[k] / d x[i]. Quadratic in the axis length, used only to record
    # a derivative of cumprod at zeros.
    x = np.swapaxes(x, axis, -1)
    g = np.swapaxes(g, axis, -1)
    n = np.shape(x)[-1]
    skip = np.where(np.eye(n, dtype=bool), 1.0, x[..., None, :])
    partials = np.cumprod(skip, axis=-1)
    later = np.arange(n)[None, :] >= np.arange(n)[:, None]
    grad = np.sum(np.where(later, g[..., None, :] * partials, 0.0), axis=-1)
    return np.swapaxes(grad, axis, -1)


@cumprod.defvjp
def _cumprod_vjp(g, ans, x, axis=None, dtype=None, out=None):
    if rounds_to_integers(dtype):
        return (None,)
    return _scan_vjp(_cumprod_grad, g, ans, x, axis)


def _existing(*names):
    """The numpy functions among ``names`` that this numpy version has."""
    return tuple(getattr(np, n) for n in names if hasattr(np, n))


def _cumulative(scan, initial, x, axis, dtype, include_initial, name):
    # numpy 2.1's array-API scans: axis may be omitted only for a 1-D input.
    ndim = np.ndim(x)
    if ndim == 0:  # numpy reads a 0-d input as one element along axis 0
        x, ndim = np.reshape(x, (1,)), 1
    if axis is None:
        if ndim > 1:
            raise ValueError(
                f"{name}: axis must be specified for an input of more than one dimension"
            )
        axis = 0
    out = scan(x, axis=axis, dtype=dtype)
    if not include_initial:
        return out
    shape = list(np.shape(out))
    shape[int(axis) % ndim] = 1
    start = np.full(shape, initial, dtype=np.result_type(out))
    return np.concatenate([start, out], axis=axis)


@implements(*_existing("cumulative_sum"))
def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """``np.cumulative_sum`` (numpy >= 2.1): ``cumsum``, optionally starting from 0."""
    return _cumulative(cumsum, 0, x, axis, dtype, include_initial, "cumulative_sum")


@implements(*_existing("cumulative_prod"))
def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """``np.cumulative_prod`` (numpy >= 2.1): ``cumprod``, optionally starting from 1."""
    return _cumulative(cumprod, 1, x, axis, dtype, include_initial, "cumulative_prod")


__all__ = [
    "sum",
    "mean",
    "var",
    "std",
    "prod",
    "max",
    "min",
    "amax",
    "amin",
    "logsumexp",
    "cumsum",
    "cumprod",
    "cumulative_sum",
    "cumulative_prod",
]
