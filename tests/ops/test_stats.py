"""Statistics: values against numpy for every axis form, keepdims, NaNs and empty
inputs; gradients to second order against finite differences (to the data and,
for average, the weights); the conventions of order statistics."""

import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

RNG = np.random.default_rng(21)
X = RNG.standard_normal((3, 4, 5))
# NaN where differentiation must skip: added to a NaN-free X, so finite
# differences never step on a NaN input (whose gradient is zero).
NAN = np.zeros_like(X)
NAN[0, 1, 2] = NAN[1, :, 3] = NAN[2, 0, :] = np.nan
AXES = [None, 0, -1, (0, 2)]

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def assert_numpys(out, expected, exact=True):
    data = out.data if isinstance(out, tg.Tensor) else np.asarray(out)
    assert data.shape == np.shape(expected), (data.shape, np.shape(expected))
    assert data.dtype == np.asarray(expected).dtype
    if exact:
        np.testing.assert_array_equal(data, expected)
    else:
        np.testing.assert_allclose(data, expected, rtol=1e-13, atol=1e-15)


# -- average, ptp, median ------------------------------------------------------------------


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_unweighted_reductions_equal_numpys(axis, keepdims):
    t = tg.tensor(X)
    for f in (np.average, np.ptp, np.median):
        assert_numpys(f(t, axis=axis, keepdims=keepdims), f(X, axis=axis, keepdims=keepdims))


def test_average_with_weights_is_differentiable_in_the_weights_too():
    w = RNG.random(5) + 0.1
    expected, scale = np.average(X, axis=-1, weights=w, returned=True)
    out, out_scale = np.average(tg.tensor(X), axis=-1, weights=tg.tensor(w), returned=True)
    assert_numpys(out, expected)
    assert_numpys(out_scale, scale)
    check_grads(lambda x, w: np.average(x, axis=2, weights=w), X, w, order=2)
    check_grads(lambda x, w: np.average(x, weights=w), X, RNG.random(X.shape), order=2)
    with pytest.raises(ZeroDivisionError):
        np.average(tg.tensor(X), axis=-1, weights=np.zeros(5))


def test_median_gives_the_middle_element_its_gradient_or_half_to_each_of_two():
    odd = tg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    np.median(odd).backward()
    np.testing.assert_array_equal(odd.grad, [0.0, 0.0, 1.0])
    even = tg.tensor([4.0, 1.0, 3.0, 2.0], requires_grad=True)
    np.median(even).backward()
    np.testing.assert_array_equal(even.grad, [0.0, 0.0, 0.5, 0.5])
    check_grads(lambda x: np.median(x, axis=1), X, order=2)
    check_grads(lambda x: np.median(x[:, :3], axis=(0, 2)), X, order=2)


def test_ptp_shares_ties_like_max_and_min():
    t = tg.tensor([1.0, 3.0, 3.0, 0.0], requires_grad=True)
    np.ptp(t).backward()
    np.testing.assert_array_equal(t.grad, [0.0, 0.5, 0.5, -1.0])


# -- quantiles ----------------------------------------------------------------------------

METHODS = [
    "linear",
    "lower",
    "higher",
    "nearest",
    "midpoint",
    "hazen",
    "weibull",
    "median_unbiased",
    "normal_unbiased",
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("axis", AXES)
def test_quantile_equals_numpys_for_every_method(method, axis):
    q = [0.0, 0.1, 0.5, 0.77, 1.0]
    for keepdims in (False, True):
        expected = np.quantile(X, q, axis=axis, method=method, keepdims=keepdims)
        out = np.quantile(tg.tensor(X), q, axis=axis, method=method, keepdims=keepdims)
        assert_numpys(out, expected, exact=False)
    assert_numpys(
        np.percentile(tg.tensor(X), 30, axis=axis, method=method),
        np.percentile(X, 30, axis=axis, method=method),
        exact=False,
    )


def test_quantile_is_piecewise_linear_in_the_data():
    check_grads(lambda x: np.quantile(x, [0.3, 0.8], axis=(0, 2)), X, order=2)
    check_grads(lambda x: np.percentile(x, 37, axis=1, method="midpoint"), X, order=2)
    # q * (n - 1) = 2.4: 40% of the way from the sorted element 2 (3.0) to 3 (4.0).
    t = tg.tensor([5.0, 1.0, 4.0, 2.0, 3.0], requires_grad=True)
    np.quantile(t, 0.6).backward()
    np.testing.assert_allclose(t.grad, [0.0, 0.0, 0.4, 0.0, 0.6])


def test_quantile_refuses_a_differentiated_q_and_weights():
    q = tg.tensor(0.5, requires_grad=True)
    with pytest.raises(TypeError, match="q is a constant"):
        np.quantile(tg.tensor(X), q)
    with pytest.raises(TypeError, match="weights"):
        np.quantile(tg.tensor(X), 0.5, method="inverted_cdf", weights=np.ones_like(X))


def test_a_nan_makes_quantile_and_median_nan_as_in_numpy():
    x = X + NAN
    for axis in AXES:
        assert_numpys(np.median(tg.tensor(x), axis=axis), np.median(x, axis=axis))
        assert_numpys(np.quantile(tg.tensor(x), 0.3, axis=axis), np.quantile(x, 0.3, axis=axis))


@pytest.mark.parametrize("shape", [(0, 3), (2, 0), (0,)])
def test_empty_inputs_give_numpys_result_or_numpys_error(shape):
    a = np.zeros(shape)
    for f in (np.median, np.nanmedian, lambda a, axis: np.nanquantile(a, [0.1, 0.5], axis=axis)):
        for axis in (None, 0, -1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert_numpys(f(tg.tensor(a), axis=axis), f(a, axis=axis))
    if shape == (0, 3):
        with pytest.raises(IndexError):
            np.quantile(a, 0.5, axis=0)
        with pytest.raises(IndexError):
            np.quantile(tg.tensor(a), 0.5, axis=0)


# -- reductions that skip NaN ----------------------------------------------------------------

NAN_REDUCTIONS = [
    np.nansum,
    np.nanmean,
    np.nanmax,
    np.nanmin,
    np.nanprod,
    np.nanvar,
    np.nanstd,
    np.nanmedian,
]
ROUNDED = {np.nanvar, np.nanstd, np.nanmedian}  # computed in another order than numpy's


@pytest.mark.parametrize("f", NAN_REDUCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_nan_reductions_equal_numpys(f, axis, keepdims):
    x = X + NAN
    expected = f(x, axis=axis, keepdims=keepdims)
    assert_numpys(f(tg.tensor(x), axis=axis, keepdims=keepdims), expected, f not in ROUNDED)


@pytest.mark.parametrize(
    "f", [*NAN_REDUCTIONS, np.nancumsum, np.nancumprod], ids=lambda f: f.__name__
)
def test_nan_reductions_give_skipped_nans_zero_gradient_to_second_order(f):
    check_grads(lambda x: f(x + NAN, axis=1), X, order=2)
    t = tg.tensor(X + NAN, requires_grad=True)
    tg.sum(f(t, axis=1)).backward()
    assert np.all(t.grad[np.isnan(NAN)] == 0)


def test_nan_quantiles_equal_numpys_and_differentiate():
    x = X + NAN
    for axis in AXES:
        expected = np.nanquantile(x, [0.2, 0.6], axis=axis)
        assert_numpys(np.nanquantile(tg.tensor(x), [0.2, 0.6], axis=axis), expected, exact=False)
        expected = np.nanpercentile(x, 40, axis=axis, keepdims=True)
        out = np.nanpercentile(tg.tensor(x), 40, axis=axis, keepdims=True)
        assert_numpys(out, expected, exact=False)
    check_grads(lambda x: np.nanquantile(x + NAN, [0.2, 0.7], axis=2), X, order=2)


def test_nanvar_ddof_and_an_all_nan_slice():
    x = X + NAN
    assert_numpys(np.nanvar(tg.tensor(x), axis=1, ddof=1), np.nanvar(x, axis=1, ddof=1), False)
    check_grads(lambda x: np.nanstd(x + NAN, axis=2, ddof=1), X, order=2)
    assert np.isnan(np.nanmax(tg.tensor(x), axis=2).data[2, 0])


def test_nancumsum_and_nancumprod_equal_numpys():
    x = X + NAN
    for axis in (None, 0, -1):
        assert_numpys(np.nancumsum(tg.tensor(x), axis=axis), np.nancumsum(x, axis=axis))
        assert_numpys(np.nancumprod(tg.tensor(x), axis=axis), np.nancumprod(x, axis=axis))
