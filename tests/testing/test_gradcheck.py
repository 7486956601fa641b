"""check_grads: finite differences in float64, projections for large inputs, readable reports."""

import re
import subprocess
import sys

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import Domain, Primitive
from tapegrad.testing import check_grads, gradcheck


def _square(x):
    return x * x


def _square_missing_two_vjp(g, ans, x):
    return (g * x,)


def _square_off_by_one_element_vjp(g, ans, x):
    # Right everywhere except the last element: a bug a projection must still see.
    wrong = np.zeros(np.shape(x))
    wrong = np.where(np.arange(np.size(x)).reshape(np.shape(x)) == np.size(x) - 1, 1.0, wrong)
    return (g * 2.0 * x * (1.0 + wrong),)


def wrong_square(rule=_square_missing_two_vjp):
    prim = Primitive(_square, domain=Domain(("real",)))
    prim.defvjp(rule)
    return prim


def tanh_affine(x, w):
    return tg.tanh(x @ w)


def test_correct_gradients_pass_to_second_order_and_report_small_errors():
    rng = np.random.default_rng(0)
    worst = check_grads(
        tanh_affine, rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), order=2
    )
    assert set(worst) == {1, 2}
    assert worst[1] < 1e-6 and worst[2] < 1e-6


def test_float32_inputs_pass_with_float32_tolerances():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    w = rng.standard_normal((4, 2)).astype(np.float32)
    worst = check_grads(tanh_affine, x, w, order=2)
    assert worst[1] < 1e-3


def test_the_failure_report_names_argument_shape_dtype_element_values_and_tolerances():
    x = np.array([[0.5, -1.0, 2.0]])
    with pytest.raises(AssertionError) as info:
        check_grads(wrong_square(), x)
    message = str(info.value)
    assert "first-order derivative with respect to argument 0" in message
    assert "shape (1, 3), dtype float64" in message
    worst = re.search(r"worst element \((\d+), (\d+)\): analytic (\S+), numeric (\S+)", message)
    assert worst is not None
    # The worst element is the largest |x|: there the missing factor 2 costs most.
    assert (int(worst.group(1)), int(worst.group(2))) == (0, 2)
    assert float(worst.group(4)) == pytest.approx(2 * float(worst.group(3)), rel=1e-6)
    assert "max abs error" in message and "relative to the largest derivative" in message
    assert "rtol=1.0e-05" in message and "atol=" in message


def test_argnames_and_name_label_the_report():
    with pytest.raises(AssertionError, match=r"^sq: .* argument weights \(shape \(2,\)"):
        check_grads(wrong_square(), np.ones(2), name="sq", argnames=["weights"])


def test_non_float_arguments_are_passed_through_not_differentiated():
    index = np.array([2, 0])
    worst = check_grads(lambda x, i: x[i] * 2.0, np.arange(3.0), index, order=2)
    assert worst[1] < 1e-6


class CountingSquare:
    """x -> x**2 (elementwise), counting forward evaluations."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return x * x


def test_large_inputs_are_checked_along_a_few_random_directions():
    f = CountingSquare()
    check_grads(f, np.linspace(-2.0, 2.0, 1000))
    # One traced call, the base value, and two evaluations per direction.
    assert f.calls <= 2 + 2 * gradcheck.PROJECTIONS
    small = CountingSquare()
    check_grads(small, np.linspace(-2.0, 2.0, 10))
    assert small.calls >= 2 * 10  # small inputs: both sides of every element


def test_a_wrong_rule_on_a_large_input_is_caught_and_localized():
    x = np.linspace(0.5, 2.0, 300)
    with pytest.raises(AssertionError) as info:
        check_grads(wrong_square(_square_off_by_one_element_vjp), x)
    assert "worst element (299,)" in str(info.value)


def test_a_wrong_rule_on_an_input_too_large_to_localize_still_fails():
    x = np.linspace(0.5, 2.0, gradcheck.LOCALIZE_LIMIT + 1)
    with pytest.raises(AssertionError, match="along random directions"):
        check_grads(wrong_square(), x)


@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1.0, 1e3])
def test_steps_follow_the_magnitude_of_the_inputs(scale):
    # A fixed step of 1e-6 would be larger than x itself at the small scales.
    x = np.array([0.5, 1.0, 1.5]) * scale
    check_grads(lambda t: tg.tanh(t / scale) * t, x, order=2)
    with pytest.raises(AssertionError):
        check_grads(wrong_square(), x)


def test_differences_are_taken_in_float64_for_float32_inputs():
    seen = []

    def f(x):
        seen.append(x.dtype)
        return tg.exp(x)

    check_grads(f, np.array([0.3, -1.2], dtype=np.float32))
    assert seen[0] == np.float32  # the traced, analytic call
    assert set(seen[1:]) == {np.dtype(np.float64)}


def test_output_entries_that_are_not_finite_are_left_out():
    def masked_sqrt(x):
        return tg.sqrt(x) * (x.data > 0)

    with np.errstate(invalid="ignore"):
        worst = check_grads(masked_sqrt, np.array([-2.0, 0.3, 1.7]), order=2)
    assert worst[1] < 1e-6


def test_a_function_without_float_arguments_is_a_type_error():
    with pytest.raises(TypeError, match="no floating point argument"):
        check_grads(lambda i: i, np.array([1, 2]))


def test_importing_tapegrad_does_not_import_hypothesis():
    code = "import sys, tapegrad; print('hypothesis' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
    code = "import sys, tapegrad, tapegrad.testing; print('hypothesis' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"
