"""Reductions and scans: values against numpy over every kind of axis,
derivatives to second order against finite differences, closed forms for the
cases with conventions (zeros in prod/cumprod, ties in max/min), and the
numpy / method spellings against the tg.* route."""

import itertools

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

RNG = np.random.default_rng(30)
X = RNG.standard_normal((2, 3, 4))

AXES = [None, 0, 1, -1, (0, 2), (-1, 0)]
AXIS_IDS = ["None", "0", "1", "-1", "(0,2)", "(-1,0)"]

# name, tapegrad op, numpy reference, extra options
REDUCTIONS = [
    ("sum", tg.sum, np.sum, {}),
    ("mean", tg.mean, np.mean, {}),
    ("prod", tg.prod, np.prod, {}),
    ("max", tg.max, np.max, {}),
    ("min", tg.min, np.min, {}),
    ("amax", tg.amax, np.amax, {}),
    ("amin", tg.amin, np.amin, {}),
    ("var", tg.var, np.var, {}),
    ("var-ddof1", tg.var, np.var, {"ddof": 1}),
    ("std", tg.std, np.std, {}),
    ("std-ddof1", tg.std, np.std, {"ddof": 1}),
    ("logsumexp", tg.logsumexp, None, {}),
]
REDUCTION_IDS = [r[0] for r in REDUCTIONS]


def reference_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


@pytest.mark.parametrize(("name", "op", "reference", "options"), REDUCTIONS, ids=REDUCTION_IDS)
@pytest.mark.parametrize("axis", AXES, ids=AXIS_IDS)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_values_and_second_order(name, op, reference, options, axis, keepdims):
    reference = reference or reference_logsumexp
    kwargs = dict(options, axis=axis, keepdims=keepdims)
    expected = reference(X, **kwargs)
    out = op(X, **kwargs)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13)

    def f(x):
        return op(x, **kwargs)

    check_grads(f, X, order=2)


@pytest.mark.parametrize(("name", "op", "reference", "options"), REDUCTIONS, ids=REDUCTION_IDS)
def test_reduction_of_a_0d_array_and_float32(name, op, reference, options):
    scalar = np.array(0.7)
    if "ddof" not in options:  # ddof=1 on one element divides by zero, as in numpy
        check_grads(lambda x: op(x, **options), scalar, order=2)
    x32 = X.astype(np.float32)
    assert op(x32, axis=1, **options).dtype == np.float32
    grad = tg.grad(lambda x: tg.sum(op(x, axis=1, **options)))(x32)
    assert grad.dtype == np.float32
    check_grads(lambda x: op(x, axis=(0, 2), **options), x32, order=2)


# -- the numpy and method spellings record and agree with tg.* ----------------------------

SPELLINGS = [
    ("np.sum(t, axis=0)", lambda t: np.sum(t, axis=0), lambda t: tg.sum(t, axis=0)),
    ("np.sum(t, 0)", lambda t: np.sum(t, 0), lambda t: tg.sum(t, axis=0)),
    ("t.sum(0)", lambda t: t.sum(0), lambda t: tg.sum(t, axis=0)),
    ("t.sum()", lambda t: t.sum(), tg.sum),
    ("t.mean(axis=-1)", lambda t: t.mean(axis=-1), lambda t: tg.mean(t, axis=-1)),
    ("np.mean(t, (0, 1))", lambda t: np.mean(t, (0, 1)), lambda t: tg.mean(t, axis=(0, 1))),
    ("t.prod(1)", lambda t: t.prod(1), lambda t: tg.prod(t, axis=1)),
    (
        "t.max(axis=1, keepdims=True)",
        lambda t: t.max(axis=1, keepdims=True),
        lambda t: tg.max(t, axis=1, keepdims=True),
    ),
    ("np.amax(t, 2)", lambda t: np.amax(t, 2), lambda t: tg.max(t, axis=2)),
    ("t.min(0)", lambda t: t.min(0), lambda t: tg.min(t, axis=0)),
    ("np.amin(t)", np.amin, tg.min),
    ("t.var(ddof=1)", lambda t: t.var(ddof=1), lambda t: tg.var(t, ddof=1)),
    ("np.std(t, 1)", lambda t: np.std(t, 1), lambda t: tg.std(t, axis=1)),
    ("t.cumsum(0)", lambda t: t.cumsum(0), lambda t: tg.cumsum(t, axis=0)),
    ("np.cumsum(t)", np.cumsum, tg.cumsum),
    ("t.cumprod(axis=-1)", lambda t: t.cumprod(axis=-1), lambda t: tg.cumprod(t, axis=-1)),
]


@pytest.mark.parametrize(
    ("label", "spelling", "tg_route"), SPELLINGS, ids=[s[0] for s in SPELLINGS]
)
def test_numpy_and_method_spellings_record_like_tg(label, spelling, tg_route):
    t = tg.tensor(X, requires_grad=True)
    out = spelling(t)
    assert isinstance(out, tg.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, tg_route(tg.tensor(X)).data, rtol=1e-15)
    weights = RNG.standard_normal(out.shape)
    got = tg.grad(lambda x: tg.sum(spelling(x) * weights))(X)
    expected = tg.grad(lambda x: tg.sum(tg_route(x) * weights))(X)
    np.testing.assert_allclose(got, expected, rtol=1e-15)


@pytest.mark.parametrize("op", [tg.sum, tg.mean, tg.prod, tg.max, tg.cumsum, tg.var])
def test_out_argument_is_refused(op):
    with pytest.raises(TypeError, match="out"):
        op(tg.tensor(X), out=np.empty(()))


# -- prod and cumprod with zeros: exact, no division by an element --------------------------


def product_of_others(x):
    """Brute force: the gradient of prod(x) at each element."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


ZERO_CASES = [
    np.array([2.0, 0.0, 3.0, -1.5]),
    np.array([0.0, 2.0, 0.0, 3.0]),
    np.array([0.0, 0.0, 0.0, 0.5]),
    np.array([1.5, -2.0, 0.5, 3.0]),
]


@pytest.mark.parametrize("x", ZERO_CASES, ids=["one-zero", "two-zeros", "three-zeros", "none"])
def test_prod_gradient_with_zeros_is_the_product_of_the_others(x):
    np.testing.assert_allclose(tg.grad(tg.prod)(x), product_of_others(x), rtol=1e-15)
    check_grads(tg.prod, x, order=2)


def test_prod_with_zeros_over_axes_to_second_order():
    x = RNG.uniform(-1.5, 1.5, size=(3, 4, 2))
    x[0, 1, :] = 0.0
    x[2, 0, 1] = 0.0
    x[2, 3, 1] = 0.0
    for axis, keepdims in itertools.product([None, 0, 1, -1, (0, 2)], [False, True]):
        check_grads(lambda t, a=axis, k=keepdims: tg.prod(t, axis=a, keepdims=k), x, order=2)


def cumprod_jacobian_transpose_times(x, g):
    """Brute force: sum over k >= i of g[k] * prod of x[j], j <= k, j != i."""
    n = x.size
    return np.array(
        [sum(g[k] * np.prod(np.delete(x[: k + 1], i)) for k in range(i, n)) for i in range(n)]
    )


@pytest.mark.parametrize("x", ZERO_CASES, ids=["one-zero", "two-zeros", "three-zeros", "none"])
def test_cumprod_gradient_with_zeros(x):
    g = RNG.standard_normal(x.size)
    got = tg.grad(lambda t: tg.sum(tg.cumprod(t) * g))(x)
    np.testing.assert_allclose(got, cumprod_jacobian_transpose_times(x, g), rtol=1e-13)
    check_grads(tg.cumprod, x, order=2)


def test_cumprod_and_cumsum_along_axes_with_zeros_to_second_order():
    x = RNG.uniform(-1.5, 1.5, size=(3, 4))
    x[1, 1] = x[2, 0] = x[2, 2] = 0.0
    for op, axis in itertools.product([tg.cumprod, tg.cumsum], [None, 0, 1, -1]):
        check_grads(lambda t, f=op, a=axis: f(t, axis=a), x, order=2)


def test_cumsum_closed_form():
    g = RNG.standard_normal(5)
    got = tg.grad(lambda t: tg.sum(tg.cumsum(t) * g))(np.zeros(5))
    np.testing.assert_allclose(got, np.cumsum(g[::-1])[::-1])


# -- max and min: ties share the gradient equally --------------------------------------------


def test_max_ties_share_the_gradient_equally():
    x = np.array([[1.0, 3.0, 3.0, 3.0], [2.0, 0.0, 2.0, -1.0]])
    np.testing.assert_allclose(
        tg.grad(lambda t: tg.sum(tg.max(t, axis=1)))(x),
        [[0, 1 / 3, 1 / 3, 1 / 3], [0.5, 0, 0.5, 0]],
    )
    np.testing.assert_allclose(tg.grad(tg.max)(x), [[0, 1 / 3, 1 / 3, 1 / 3], [0, 0, 0, 0]])
    np.testing.assert_allclose(tg.grad(tg.min)(np.array([0.0, 0.0, 5.0])), [0.5, 0.5, 0.0])


def test_max_gradient_goes_to_the_argmax_without_ties():
    grad = tg.grad(lambda t: tg.sum(tg.max(t, axis=-1, keepdims=True)))(X)
    expected = np.zeros_like(X)
    np.put_along_axis(expected, np.argmax(X, axis=-1)[..., None], 1.0, axis=-1)
    np.testing.assert_array_equal(grad, expected)


# -- var, std, mean, logsumexp closed forms -----------------------------------------------------


@pytest.mark.parametrize("ddof", [0, 1])
def test_var_and_std_closed_forms(ddof):
    x = RNG.standard_normal(6)
    n = x.size
    centered = x - x.mean()
    np.testing.assert_allclose(
        tg.grad(lambda t: tg.var(t, ddof=ddof))(x), 2 * centered / (n - ddof)
    )
    np.testing.assert_allclose(
        tg.grad(lambda t: tg.std(t, ddof=ddof))(x),
        centered / ((n - ddof) * np.std(x, ddof=ddof)),
    )


def test_mean_closed_form_over_a_tuple_of_axes():
    grad = tg.grad(lambda t: tg.sum(tg.mean(t, axis=(0, 2))))(X)
    np.testing.assert_allclose(grad, np.full(X.shape, 1 / 8))


def test_logsumexp_is_stable_and_its_gradient_is_the_softmax():
    x = np.array([[1000.0, 1000.0, 990.0], [-1000.0, -1001.0, -1002.0]])
    with np.errstate(over="raise", invalid="raise"):
        out = tg.logsumexp(x, axis=1).data
    shifted = x - x.max(axis=1, keepdims=True)
    expected = x.max(axis=1) + np.log(np.sum(np.exp(shifted), axis=1))
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    softmax = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    np.testing.assert_allclose(tg.grad(lambda t: tg.sum(tg.logsumexp(t, axis=1)))(x), softmax)


def test_logsumexp_with_minus_infinity():
    x = np.array([[-np.inf, 0.0], [-np.inf, -np.inf]])
    with np.errstate(divide="ignore"):  # log(0) for the all -inf row, as numpy
        out = tg.logsumexp(x, axis=1).data
    assert out[0] == 0.0 and out[1] == -np.inf
    grad = tg.grad(lambda t: tg.logsumexp(t[0]))(x)
    np.testing.assert_array_equal(grad[0], [0.0, 1.0])


def test_size_zero_reductions_give_size_zero_gradients():
    empty = np.zeros((0, 3))
    for op in (tg.sum, tg.prod, tg.cumsum, tg.cumprod):
        grad = tg.grad(lambda t, f=op: tg.sum(f(t, axis=0)))(empty)
        assert grad.shape == (0, 3)


@pytest.mark.parametrize(
    "reduce",
    [np.sum, np.mean, np.prod, np.cumsum, np.cumprod, np.var, np.std],
    ids=["sum", "mean", "prod", "cumsum", "cumprod", "var", "std"],
)
def test_an_integer_dtype_rounds_first_so_there_is_no_gradient(reduce):
    # np.sum(x, dtype=int) sums the rounded elements: piecewise constant. The
    # rules once passed the cotangent through as if there were no rounding.
    x = np.array([1.5, 2.25, 3.75])

    def f(t):
        return tg.sum(reduce(t, dtype=np.int64) * 1.0) + tg.sum(t * 0.0)

    np.testing.assert_array_equal(tg.grad(f)(x), [0.0, 0.0, 0.0])


# -- sum(where=), mean(where=), cumulative_sum, cumulative_prod -------------------------------

MASK = RNG.random(X.shape) > 0.4


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a group with nothing kept: NaN
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)], ids=str)
def test_sum_and_mean_where_leave_the_masked_elements_out_of_value_and_gradient(axis):
    t = tg.tensor(X)
    np.testing.assert_array_equal(
        np.sum(t, axis=axis, where=MASK, initial=1.5).data,
        np.sum(X, axis=axis, where=MASK, initial=1.5),
    )
    np.testing.assert_array_equal(
        np.mean(t, axis=axis, where=MASK).data, np.mean(X, axis=axis, where=MASK)
    )
    check_grads(lambda x: np.sum(x, axis=axis, where=MASK), X, order=2)
    kept = MASK | (np.arange(4) == 0)  # no empty group along the last axis
    check_grads(lambda x: np.mean(x, axis=-1, where=kept, keepdims=True), X, order=2)
    x = tg.tensor(X, requires_grad=True)
    tg.sum(np.mean(x, axis=axis, where=MASK)).backward()
    assert np.all(x.grad[~MASK] == 0)


# numpy >= 2.1 names.
CUMULATIVE = [getattr(np, n) for n in ("cumulative_sum", "cumulative_prod") if hasattr(np, n)]


@pytest.mark.parametrize("function", CUMULATIVE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("include_initial", [False, True])
def test_cumulative_scans_equal_numpys(function, include_initial):
    options = {"include_initial": include_initial}
    np.testing.assert_array_equal(
        function(tg.tensor(X), axis=1, **options).data, function(X, axis=1, **options)
    )
    np.testing.assert_array_equal(
        function(tg.tensor(X[0, 0]), **options).data, function(X[0, 0], **options)
    )
    check_grads(lambda x: function(x, axis=-1, **options), X, order=2)
    with pytest.raises(ValueError, match="axis"):
        function(tg.tensor(X), **options)
