"""numpy's protocols on Tensors: np.NAME records like tg.NAME, and nothing is lost silently.

* np.exp(t), np.sum(t, axis=0), np.concatenate([t, a]), np.einsum(...) record
  and give the same gradients as the tg.* spellings;
* a numpy function without a rule, on a Tensor that requires grad, is a
  TypeError naming the function; ``out=`` is a TypeError;
* ndarrays and Python scalars work in every operand position;
* the no-gradient functions return plain ndarrays.
"""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 3))
B = rng.standard_normal((3, 3))


# (id, numpy spelling, tapegrad spelling)
SAME = [
    ("exp", lambda x: np.exp(x), lambda x: tg.exp(x)),
    ("sum-axis", lambda x: np.sum(x, axis=0), lambda x: tg.sum(x, axis=0)),
    ("sum-positional", lambda x: np.sum(x, 1), lambda x: x.sum(1)),
    ("concatenate", lambda x: np.concatenate([x, A]), lambda x: tg.concatenate([x, A])),
    ("stack", lambda x: np.stack([A, x], axis=1), lambda x: tg.stack([A, x], axis=1)),
    ("einsum", lambda x: np.einsum("ij,jk->ki", x, A), lambda x: tg.einsum("ij,jk->ki", x, A)),
    ("matmul", lambda x: np.matmul(A, x), lambda x: A @ x),
    ("dot", lambda x: np.dot(x, A), lambda x: x.dot(A)),
    ("transpose", lambda x: np.transpose(x), lambda x: x.T),
    ("reshape", lambda x: np.reshape(x, (9,)), lambda x: x.reshape(9)),
    ("inv", lambda x: np.linalg.inv(x + 3 * np.eye(3)), lambda x: tg.linalg.inv(x + 3 * np.eye(3))),
    ("norm", lambda x: np.linalg.norm(x, axis=1), lambda x: tg.linalg.norm(x, axis=1)),
    ("take", lambda x: np.take(x, [2, 2, 0]), lambda x: x.take([2, 2, 0])),
]


@pytest.mark.parametrize(("numpy_form", "tg_form"), [c[1:] for c in SAME], ids=[c[0] for c in SAME])
def test_numpy_spelling_records_like_the_tapegrad_one(numpy_form, tg_form):
    x = tg.tensor(B, requires_grad=True)
    out = numpy_form(x)
    assert isinstance(out, tg.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, tg_form(x).data)
    np.testing.assert_allclose(out.data, numpy_form(B))  # and numpy agrees on plain arrays
    np.testing.assert_allclose(tg.grad(_weighted(numpy_form))(B), tg.grad(_weighted(tg_form))(B))
    check_grads(numpy_form, B, order=2)


def _weighted(fun):
    def weighted(x):
        out = fun(x)
        return np.sum(out * np.cos(np.arange(out.size)).reshape(out.shape))

    return weighted


# -- nothing lost silently ------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda t: np.lib.stride_tricks.sliding_window_view(t, 2), "np.lib.stride_tricks"),
        (lambda t: np.unwrap(t), "unwrap"),
        (lambda t: np.i0(t), "i0"),
        (lambda t: np.linalg.matrix_rank(t), "matrix_rank"),
    ],
    ids=["sliding_window_view", "unwrap", "i0", "matrix_rank"],
)
def test_a_function_without_a_rule_is_a_type_error_naming_it(call, name):
    t = tg.tensor(B, requires_grad=True)
    with pytest.raises(TypeError, match=name):
        call(t)


def test_a_function_without_a_rule_runs_when_no_gradient_is_needed():
    out = np.roots(tg.tensor(B[0]))
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, np.roots(B[0]))


def test_ufunc_out_is_a_type_error():
    t = tg.tensor(B, requires_grad=True)
    with pytest.raises(TypeError, match="out"):
        np.exp(t, out=np.empty((3, 3)))
    with pytest.raises(TypeError, match="out"):
        np.concatenate([t, t], out=np.empty((6, 3)))
    with pytest.raises(TypeError, match="out"):
        np.dot(t, t, out=np.empty((3, 3)))


# Every tapegrad function that takes numpy's `out` parameter refuses it when
# called directly too, by keyword and (where numpy has it there) by position.
# (op, keyword call, positional call or None)
T = tg.tensor(B, requires_grad=True)
BUF = np.empty((3, 3))
OUT_CALLS = [
    ("clip", lambda: tg.clip(T, 0.0, 1.0, out=BUF), lambda: tg.clip(T, 0.0, 1.0, BUF)),
    ("conjugate", lambda: tg.conjugate(T, out=BUF), lambda: tg.conjugate(T, BUF)),
    ("fabs", lambda: tg.fabs(T, out=BUF), lambda: tg.fabs(T, BUF)),
    ("take", lambda: tg.take(T, [0], out=BUF), lambda: tg.take(T, [0], None, BUF)),
    ("concatenate", lambda: tg.concatenate([T, T], out=BUF), lambda: tg.concatenate([T], 0, BUF)),
    ("stack", lambda: tg.stack([T, T], out=BUF), lambda: tg.stack([T], 0, BUF)),
    ("dot", lambda: tg.dot(T, T, out=BUF), lambda: tg.dot(T, T, BUF)),
    ("outer", lambda: tg.outer(T, T, out=BUF), lambda: tg.outer(T, T, BUF)),
    ("trace", lambda: tg.trace(T, out=BUF), lambda: tg.trace(T, 0, 0, 1, None, BUF)),
    ("einsum", lambda: tg.einsum("ij->ji", T, out=BUF), None),
    ("sum", lambda: tg.sum(T, out=BUF), lambda: tg.sum(T, None, None, BUF)),
    ("mean", lambda: tg.mean(T, out=BUF), lambda: tg.mean(T, None, None, BUF)),
    ("var", lambda: tg.var(T, out=BUF), lambda: tg.var(T, None, None, BUF)),
    ("std", lambda: tg.std(T, out=BUF), lambda: tg.std(T, None, None, BUF)),
    ("prod", lambda: tg.prod(T, out=BUF), lambda: tg.prod(T, None, None, BUF)),
    ("max", lambda: tg.max(T, out=BUF), lambda: tg.max(T, None, BUF)),
    ("min", lambda: tg.min(T, out=BUF), lambda: tg.min(T, None, BUF)),
    ("cumsum", lambda: tg.cumsum(T, out=BUF), lambda: tg.cumsum(T, None, None, BUF)),
    ("cumprod", lambda: tg.cumprod(T, out=BUF), lambda: tg.cumprod(T, None, None, BUF)),
    ("ptp", lambda: tg.ptp(T, out=BUF), lambda: tg.ptp(T, None, BUF)),
    ("median", lambda: tg.median(T, out=BUF), lambda: tg.median(T, None, BUF)),
    ("nanmedian", lambda: tg.nanmedian(T, out=BUF), lambda: tg.nanmedian(T, None, BUF)),
    ("quantile", lambda: tg.quantile(T, 0.5, out=BUF), lambda: tg.quantile(T, 0.5, None, BUF)),
    ("percentile", lambda: tg.percentile(T, 5, out=BUF), lambda: tg.percentile(T, 5, None, BUF)),
    ("nanquantile", lambda: tg.nanquantile(T, 0.5, out=BUF), None),
    ("nanpercentile", lambda: tg.nanpercentile(T, 5, out=BUF), None),
    ("nansum", lambda: tg.nansum(T, out=BUF), lambda: tg.nansum(T, None, None, BUF)),
    ("nanprod", lambda: tg.nanprod(T, out=BUF), lambda: tg.nanprod(T, None, None, BUF)),
    ("nanmean", lambda: tg.nanmean(T, out=BUF), lambda: tg.nanmean(T, None, None, BUF)),
    ("nanvar", lambda: tg.nanvar(T, out=BUF), lambda: tg.nanvar(T, None, None, BUF)),
    ("nanstd", lambda: tg.nanstd(T, out=BUF), lambda: tg.nanstd(T, None, None, BUF)),
    ("nanmax", lambda: tg.nanmax(T, out=BUF), lambda: tg.nanmax(T, None, BUF)),
    ("nanmin", lambda: tg.nanmin(T, out=BUF), lambda: tg.nanmin(T, None, BUF)),
    ("nancumsum", lambda: tg.nancumsum(T, out=BUF), lambda: tg.nancumsum(T, None, None, BUF)),
    ("nancumprod", lambda: tg.nancumprod(T, out=BUF), lambda: tg.nancumprod(T, None, None, BUF)),
    ("cumulative_sum", lambda: tg.cumulative_sum(T, axis=0, out=BUF), None),
    ("cumulative_prod", lambda: tg.cumulative_prod(T, axis=0, out=BUF), None),
    ("multi_dot", lambda: tg.linalg.multi_dot([T, T], out=BUF), None),
]


@pytest.mark.parametrize(
    ("keyword", "positional"), [c[1:] for c in OUT_CALLS], ids=[c[0] for c in OUT_CALLS]
)
def test_out_given_to_a_tapegrad_function_is_a_type_error(keyword, positional):
    before = BUF.copy()
    with pytest.raises(TypeError, match=r"\(\.\.\., out=\.\.\.\) on a Tensor"):
        keyword()
    if positional is not None:
        with pytest.raises(TypeError, match=r"\(\.\.\., out=\.\.\.\) on a Tensor"):
            positional()
    np.testing.assert_array_equal(BUF, before)


def test_every_function_taking_out_is_in_the_table():
    import inspect

    namespace = {**vars(tg), **{n: getattr(tg.linalg, n) for n in tg.linalg.__all__}}
    takes_out = set()
    for name, value in namespace.items():
        if name.startswith("_") or not callable(value) or isinstance(value, type):
            continue
        try:
            parameters = inspect.signature(value).parameters
        except (TypeError, ValueError):
            continue
        if "out" in parameters:
            takes_out.add(value.__name__.lstrip("_"))
    assert takes_out == {c[0] for c in OUT_CALLS}


def test_ufunc_method_without_a_rule_is_a_type_error():
    t = tg.tensor(B, requires_grad=True)
    with pytest.raises(TypeError, match="accumulate"):
        np.maximum.accumulate(t)


# -- ndarrays and scalars in every position ----------------------------------------------

MIXED = [
    ("concatenate-middle", lambda x: np.concatenate([A, x, A])),
    ("concatenate-last", lambda x: np.concatenate((A, x), axis=1)),
    ("stack-first", lambda x: np.stack([x, A])),
    ("hstack", lambda x: np.hstack([A, x])),
    ("vstack", lambda x: np.vstack([A, x, A])),
    ("einsum-first", lambda x: np.einsum("ij,jk", x, A)),
    ("einsum-second", lambda x: np.einsum("ij,jk", A, x)),
    ("einsum-scalar", lambda x: np.einsum(",ij", 2.0, x)),
    ("matmul-left", lambda x: A @ x),
    ("matmul-right", lambda x: x @ A),
    ("matmul-ufunc-left", lambda x: np.matmul(A, x)),
    ("dot-left", lambda x: np.dot(A, x)),
    ("dot-scalar", lambda x: np.dot(2.0, x)),
    ("vdot-left", lambda x: np.vdot(A, x)),
    ("inner-left", lambda x: np.inner(A, x)),
    ("outer-left", lambda x: np.outer(A[0], x)),
    ("tensordot-left", lambda x: np.tensordot(A, x)),
    ("solve-a", lambda x: np.linalg.solve(x + 3 * np.eye(3), A)),
    ("solve-b", lambda x: np.linalg.solve(A + 3 * np.eye(3), x)),
    ("take-indices-tensor", lambda x: np.take(x, tg.tensor(np.array([1, 1])), axis=1)),
    ("broadcast-to", lambda x: np.broadcast_to(x[0], (2, 3))),
    ("setitem-into-array", lambda x: tg.setitem(tg.tensor(A), (0, slice(None)), x[1])),
    ("setitem-array-value", lambda x: tg.setitem(x * 1.0, 1, A[0])),
    ("pad", lambda x: np.pad(x, 1, constant_values=2.0)),
]


@pytest.mark.parametrize("fun", [f for _, f in MIXED], ids=[n for n, _ in MIXED])
def test_ndarray_operands_in_every_position(fun):
    out = fun(tg.tensor(B, requires_grad=True))
    assert isinstance(out, tg.Tensor) and out.requires_grad
    check_grads(fun, B, order=2)


# -- no gradient, but accepted --------------------------------------------------------

NO_GRAD = [
    ("sign", lambda x: np.sign(x)),
    ("floor", lambda x: np.floor(x)),
    ("ceil", lambda x: np.ceil(x)),
    ("round", lambda x: np.round(x, 1)),
    ("round-method", lambda x: x.round()),
    ("argmax", lambda x: np.argmax(x, axis=0)),
    ("argmin-method", lambda x: x.argmin()),
    ("argsort", lambda x: np.argsort(x)),
    ("isnan", lambda x: np.isnan(x)),
    ("isfinite", lambda x: np.isfinite(x)),
    ("nonzero", lambda x: np.nonzero(x > 0)[0]),
    ("less", lambda x: x < 0),
    ("equal", lambda x: x == x),
    ("shape", lambda x: np.asarray(np.shape(x))),
    ("zeros_like", lambda x: np.zeros_like(x)),
    ("tg-sign", lambda x: tg.sign(x)),
    ("tg-argmax", lambda x: tg.argmax(x)),
    ("tg-floor", lambda x: tg.floor(x)),
    ("tg-isnan", lambda x: tg.isnan(x)),
]


@pytest.mark.parametrize("fun", [f for _, f in NO_GRAD], ids=[n for n, _ in NO_GRAD])
def test_no_gradient_functions_return_plain_arrays(fun):
    out = fun(tg.tensor(B, requires_grad=True))
    assert not isinstance(out, tg.Tensor)
    np.testing.assert_array_equal(out, fun(B))


def test_no_gradient_functions_agree_with_numpy():
    t = tg.tensor(B, requires_grad=True)
    for ours, theirs in [
        (np.sign(t), np.sign(B)),
        (tg.argmax(t, axis=1), np.argmax(B, axis=1)),
        (np.argsort(t, axis=0), np.argsort(B, axis=0)),
        (tg.round(t, 2), np.round(B, 2)),
        (np.shape(t), B.shape),
        (np.ndim(t), 2),
        (np.size(t), 9),
    ]:
        np.testing.assert_array_equal(ours, theirs)


def test_a_constant_from_a_tensor_cuts_the_gradient_where_it_should():
    # sign(x) * x == |x|: the gradient flows through x only, sign is a constant.
    x = tg.tensor(np.array([-2.0, 3.0]), requires_grad=True)
    np.sum(np.sign(x) * x).backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 1.0])


def test_methods_mirror_ndarray():
    t = tg.tensor(B, requires_grad=True)
    for ours, theirs in [
        (t.swapaxes(0, 1), B.swapaxes(0, 1)),
        (t.squeeze(), B.squeeze()),
        (t.ravel(), B.ravel()),
        (t.diagonal(1), B.diagonal(1)),
        (t.trace(), B.trace()),
        (t.repeat(2, axis=1), B.repeat(2, axis=1)),
        (t.mT, np.swapaxes(B, -1, -2)),
    ]:
        assert isinstance(ours, tg.Tensor)
        np.testing.assert_array_equal(ours.data, theirs)


@pytest.mark.parametrize("name", ["add", "multiply", "exp", "tanh", "sqrt"])
def test_out_given_to_a_ufunc_primitive_is_a_type_error(name):
    # Recorded or not, `out` would be written (or silently left untouched): refuse it.
    before = BUF.copy()
    args = (T,) * tg.primitives()[name].n_inputs
    for inputs in (args, tuple(t.detach() for t in args)):
        with pytest.raises(TypeError, match=r"\(\.\.\., out=\.\.\.\) on a Tensor"):
            getattr(tg, name)(*inputs, out=BUF)
    np.testing.assert_array_equal(BUF, before)
