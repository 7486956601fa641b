"""Gradients at non-differentiable points, one test per row of
docs/conventions.md, and masking without NaN: a zero cotangent contributes
exactly zero, even where the local partial is infinite or NaN, to first and
second order."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn.functional import relu
from tapegrad.testing import check_grads

# Forward passes below evaluate sqrt/log outside their domain in branches
# that are masked away; numpy warns about those values, which is expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def grad_of_sum(f):
    def total(x):
        return tg.sum(f(x))

    return tg.grad(total)


def second_derivative_of_sum(f):
    """d/dx of sum(d/dx sum(f)): the diagonal of the Hessian for elementwise f."""
    first = grad_of_sum(f)

    def total_first(x):
        return tg.sum(first(x))

    return tg.grad(total_first)


# -- masking without NaN ---------------------------------------------------------------------

X = np.array([-1.0, 0.0, 0.25, 4.0])


def sqrt_where_positive(x):
    return tg.where(x > 0, tg.sqrt(x), 0.0)


def sqrt_times_mask(x):
    return tg.sqrt(x) * (x.data > 0)


def log_where_positive(x):
    return tg.where(x > 0, tg.log(x), 0.0)


def log_times_mask(x):
    return tg.log(x) * (x.data > 0)


def sqrt_via_exp_log_where_positive(x):
    # A chain of elementwise ops: the zero cotangent must stay zero through each.
    return tg.where(x > 0, tg.exp(0.5 * tg.log(x)), 0.0)


WHERE_POINTS = np.array([-1.0, 0.0, 0.25, 4.0])  # where() hides the whole x <= 0 side
MASK_POINTS = np.array([0.0, 0.25, 4.0])  # x * mask is NaN for x < 0 in the forward already

# f, points, its first derivative, its second derivative (where x > 0; 0 elsewhere)
MASKED = [
    (
        "where-sqrt",
        sqrt_where_positive,
        WHERE_POINTS,
        lambda x: 0.5 / np.sqrt(x),
        lambda x: -0.25 * x**-1.5,
    ),
    (
        "sqrt*mask",
        sqrt_times_mask,
        MASK_POINTS,
        lambda x: 0.5 / np.sqrt(x),
        lambda x: -0.25 * x**-1.5,
    ),
    ("where-log", log_where_positive, WHERE_POINTS, lambda x: 1 / x, lambda x: -1 / x**2),
    ("log*mask", log_times_mask, MASK_POINTS, lambda x: 1 / x, lambda x: -1 / x**2),
    (
        "where-exp-log",
        sqrt_via_exp_log_where_positive,
        WHERE_POINTS,
        lambda x: 0.5 / np.sqrt(x),
        lambda x: -0.25 * x**-1.5,
    ),
]
MASKED_IDS = [m[0] for m in MASKED]


def masked_expected(derivative, x):
    positive = x > 0
    return np.where(positive, derivative(np.where(positive, x, 1.0)), 0.0)


@pytest.mark.parametrize(("name", "f", "x", "d1", "d2"), MASKED, ids=MASKED_IDS)
def test_masked_gradient_is_zero_not_nan(name, f, x, d1, d2):
    np.testing.assert_allclose(grad_of_sum(f)(x), masked_expected(d1, x), rtol=1e-14)


@pytest.mark.parametrize(("name", "f", "x", "d1", "d2"), MASKED, ids=MASKED_IDS)
def test_masked_second_derivative_is_zero_not_nan(name, f, x, d1, d2):
    np.testing.assert_allclose(second_derivative_of_sum(f)(x), masked_expected(d2, x), rtol=1e-14)


@pytest.mark.parametrize(("name", "f", "x", "d1", "d2"), MASKED, ids=MASKED_IDS)
def test_masked_function_matches_finite_differences_away_from_the_kink(name, f, x, d1, d2):
    away = np.where(x == 0, 0.5, x)
    check_grads(f, away, order=2)


def test_masking_with_a_broadcast_mask_and_float32():
    x = np.array([[0.0, 1.0, 4.0], [0.0, -1.0, 9.0]], dtype=np.float32)
    mask = np.array([[True], [False]])

    def f(t):
        return tg.sum(tg.where(mask & (t > 0), tg.sqrt(t), 0.0))

    grad = tg.grad(f)(x)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, [[0.0, 0.5, 0.25], [0.0, 0.0, 0.0]])


def test_masking_inside_a_larger_expression():
    # The masked branch feeds a reduction and a product before reaching the loss.
    x = np.array([0.0, 1.0, 4.0])
    w = np.array([2.0, 3.0, 5.0])

    def f(t):
        return tg.logsumexp(tg.where(t > 0, tg.sqrt(t), -1.0) * w)

    grad = tg.grad(f)(x)
    assert np.all(np.isfinite(grad))
    assert grad[0] == 0.0
    check_grads(f, np.array([0.5, 1.0, 4.0]), order=2)


def test_masking_does_not_hide_a_gradient_that_reaches_the_loss():
    # Only a zero cotangent is masked: a NaN or inf that reaches the loss stays.
    assert np.isnan(tg.grad(tg.sqrt)(-1.0))
    assert tg.grad(tg.sqrt)(0.0) == np.inf
    assert np.isnan(tg.grad(lambda x: tg.where(x > 0, 0.0, tg.sqrt(x)))(-1.0))


# -- conventions at non-differentiable points (docs/conventions.md) ----------------------------


def test_convention_relu_at_zero_is_zero():
    np.testing.assert_array_equal(grad_of_sum(relu)(np.array([-1.0, 0.0, 2.0])), [0, 0, 1])


def test_convention_abs_at_zero_is_zero():
    np.testing.assert_array_equal(grad_of_sum(tg.absolute)(np.array([-1.0, 0.0, 2.0])), [-1, 0, 1])
    np.testing.assert_array_equal(grad_of_sum(abs)(np.array([0.0])), [0.0])


def test_convention_sqrt_at_zero_is_inf():
    np.testing.assert_array_equal(grad_of_sum(tg.sqrt)(np.array([0.0, 4.0])), [np.inf, 0.25])


@pytest.mark.parametrize("op", [tg.maximum, tg.minimum, tg.fmax, tg.fmin])
def test_convention_binary_max_min_ties_split_evenly(op):
    x, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0])
    gx, gy = tg.grad(lambda a, b: tg.sum(op(a, b)), argnums=(0, 1))(x, y)
    assert (gx[0], gy[0]) == (0.5, 0.5)
    np.testing.assert_array_equal(gx + gy, np.ones(3))  # the whole cotangent, once


@pytest.mark.parametrize("op", [tg.max, tg.min, tg.amax, tg.amin])
def test_convention_max_min_reduction_ties_share_evenly(op):
    x = np.array([[2.0, 2.0, 2.0, 2.0], [5.0, 5.0, 1.0, 1.0]])
    grad = tg.grad(lambda t: tg.sum(op(t, axis=1)))(x)
    np.testing.assert_allclose(grad.sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(grad[0], [0.25] * 4)
    expected = [0.5, 0.5, 0.0, 0.0] if op in (tg.max, tg.amax) else [0.0, 0.0, 0.5, 0.5]
    np.testing.assert_allclose(grad[1], expected)


def test_convention_clip_at_its_bounds_is_one():
    x = np.array([-1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(grad_of_sum(lambda t: tg.clip(t, -1.0, 1.0))(x), [1, 1, 1, 0])
    lo, hi = np.array(-1.0), np.array(1.0)
    _, glo, ghi = tg.grad(lambda a, b, c: tg.sum(tg.clip(a, b, c)), argnums=(0, 1, 2))(x, lo, hi)
    assert (float(glo), float(ghi)) == (0.0, 1.0)  # a bound gets g only where it wins strictly


def test_convention_where_with_nan_in_the_unselected_branch_is_zero():
    # For x > 0 the unselected branch sqrt(-x) is NaN, and so is its partial.
    x = np.array([-4.0, 0.5, 2.0])

    def f(t):
        return tg.where(t > 0, t, tg.sqrt(-t))

    assert np.all(np.isfinite(f(x).data))
    np.testing.assert_array_equal(grad_of_sum(f)(x), [-0.25, 1.0, 1.0])
    np.testing.assert_array_equal(second_derivative_of_sum(f)(x), [-1 / 32, 0.0, 0.0])


def test_convention_hypot_and_std_at_zero_are_zero():
    gx, gy = tg.grad(tg.hypot, argnums=(0, 1))(0.0, 0.0)
    assert (gx, gy) == (0.0, 0.0)
    np.testing.assert_array_equal(tg.grad(tg.std)(np.full(3, 2.0)), np.zeros(3))


def test_convention_power_at_zero_base():
    assert tg.grad(tg.power, argnums=(0, 1))(0.0, 2.0) == (0.0, 0.0)
    assert tg.grad(tg.power, argnums=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    assert np.isnan(tg.grad(tg.power, argnums=1)(-2.0, 2.0))


def test_convention_prod_with_zeros_is_the_product_of_the_others():
    np.testing.assert_array_equal(tg.grad(tg.prod)(np.array([2.0, 0.0, 3.0])), [0.0, 6.0, 0.0])
    np.testing.assert_array_equal(tg.grad(tg.prod)(np.array([0.0, 0.0, 3.0])), [0.0, 0.0, 0.0])
