"""check_primitive catches real mistakes, points at them, and shrinks the example.

Each wrong primitive below is an unregistered ``Primitive`` (the registry and
tests/core/test_registry.py never see it). The expected failure must name the
check that failed and the argument at fault, and the example hypothesis hands
back must be small.
"""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import Domain, Primitive
from tapegrad.testing import PrimitiveCheckError, check_primitive, primitive_test

MAX_EXAMPLES = 30


def make(fun, rule, **options):
    prim = Primitive(fun, **options)
    prim.defvjp(rule)
    return prim


def failure(prim, **options):
    with pytest.raises(PrimitiveCheckError) as info:
        check_primitive(prim, MAX_EXAMPLES, seed=0, **options)
    return info.value


def example_size(error):
    return sum(np.size(a) for a in error.example_args if isinstance(a, np.ndarray))


# -- correct primitives pass --------------------------------------------------


def _softplus(x):
    return np.logaddexp(0.0, x)


def _softplus_vjp(g, ans, x):
    return (g / (1.0 + np.exp(-x)),)


def _hypot(x, y):
    return np.sqrt(x * x + y * y)


def _hypot_vjp(g, ans, x, y):
    return g * x / ans, g * y / ans


def test_a_correct_unregistered_primitive_passes_and_reports_its_errors():
    softplus = make(_softplus, _softplus_vjp, domain=Domain(("real",)), elementwise=True)
    report = check_primitive(softplus, MAX_EXAMPLES, seed=0)
    assert report.passed
    assert report.examples == MAX_EXAMPLES
    assert 0.0 <= report.worst[1] < 1e-3
    assert 0.0 <= report.worst[2] < 1e-2
    assert softplus.name not in tg.primitives()  # unregistered, yet checkable


def test_a_correct_binary_primitive_with_broadcasting_passes():
    hypot = make(
        _hypot,
        _hypot_vjp,
        domain=Domain(("nonzero", "nonzero"), shapes="broadcast"),
        numpy=np.hypot,
    )
    assert check_primitive(hypot, MAX_EXAMPLES, seed=0).passed


def test_primitive_test_makes_a_pytest_test_that_passes_or_raises():
    good = make(_softplus, _softplus_vjp, domain=Domain(("real",)))
    test = primitive_test(good, max_examples=10, seed=0)
    assert test.__name__ == "test__softplus"
    test()
    bad = make(_softplus, _flipped_softplus_vjp, domain=Domain(("real",)))
    with pytest.raises(AssertionError):
        primitive_test(bad, max_examples=10, seed=0)()


# -- a flipped sign -----------------------------------------------------------


def _flipped_softplus_vjp(g, ans, x):
    return (-g / (1.0 + np.exp(-x)),)


def test_flipped_sign_is_caught_on_a_one_element_example():
    prim = make(_softplus, _flipped_softplus_vjp, domain=Domain(("real",)))
    error = failure(prim)
    assert error.check == "gradient"
    message = str(error)
    assert "first-order derivative with respect to argument 0 (x)" in message
    assert "worst element" in message and "analytic" in message and "numeric" in message
    assert "example: x=" in message
    assert example_size(error) == 1


# -- a missing factor of 2 ------------------------------------------------------


def _square(x):
    return x * x


def _square_missing_two_vjp(g, ans, x):
    return (g * x,)


def test_missing_factor_two_is_caught_and_the_report_shows_both_values():
    prim = make(_square, _square_missing_two_vjp, domain=Domain(("real",)), elementwise=True)
    error = failure(prim)
    assert error.check == "gradient"
    assert "relative error 5.000e-01" in str(error)  # analytic is half the numeric
    assert example_size(error) == 1


# -- a wrong axis in a reduction's VJP -------------------------------------------


def _sum(x, axis=None, keepdims=False):
    return np.sum(x, axis=axis, keepdims=keepdims)


def _sum_wrong_axis_vjp(g, ans, x, axis=None, keepdims=False):
    # Restores the reduced axis at the front whatever `axis` was.
    if not keepdims and np.ndim(g) < np.ndim(x):
        g = np.expand_dims(g, 0)
    return (np.broadcast_to(g, np.shape(x)),)


def test_wrong_axis_in_a_reduction_vjp_is_caught_on_a_small_matrix():
    prim = make(
        _sum,
        _sum_wrong_axis_vjp,
        domain=Domain(("real",), shapes="reduce", kwargs={"keepdims": (False,)}),
        numpy=np.sum,
    )
    error = failure(prim)
    assert error.check == "gradient"
    assert "axis=" in str(error)
    (x,) = error.example_args
    assert x.ndim >= 2 and x.size <= 4


# -- a cotangent summed over the wrong axes (not unbroadcast) --------------------


def _multiply(x, y):
    return x * y


def _multiply_wrong_unbroadcast_vjp(g, ans, x, y):
    gx = g * y
    # Wrong: the broadcast axes are the leading ones, this sums trailing ones.
    while np.ndim(gx) > np.ndim(x):
        gx = np.sum(gx, axis=-1)
    return gx, g * x


def test_cotangent_summed_over_the_wrong_axes_is_caught():
    prim = make(
        _multiply,
        _multiply_wrong_unbroadcast_vjp,
        domain=Domain(("real", "real"), shapes="broadcast"),
    )
    error = failure(prim)
    assert error.check == "gradient"
    message = str(error)
    # Either the engine refuses the shape or finite differences refuse the values;
    # both name the first input.
    assert "argument 0 (x)" in message or "for an input of shape" in message
    x, y = error.example_args
    assert x.ndim < y.ndim
    assert example_size(error) <= 8


def _multiply_unsummable_vjp(g, ans, x, y):
    # Wrong: the cotangent of x has y's shape, which cannot be summed to x's.
    return g * y, np.sum(g * x, axis=0)


def test_cotangent_of_a_shape_that_cannot_be_summed_back_is_caught():
    prim = make(_multiply, _multiply_unsummable_vjp, domain=Domain(("real", "real"), shapes="same"))
    error = failure(prim)
    assert error.check == "gradient"
    assert "cotangent of shape" in str(error)
    assert example_size(error) <= 4


# -- right to first order, wrong second derivative --------------------------------


def _cube(x):
    return x * x * x


def _cube_off_tape_vjp(g, ans, x):
    # np.asarray takes x off the tape: right values, but the rule is a
    # constant to the second-order pass.
    return (g * 3.0 * np.asarray(x) ** 2,)


def test_a_rule_that_leaves_the_tape_fails_at_second_order_only():
    prim = make(_cube, _cube_off_tape_vjp, domain=Domain(("real",)), elementwise=True)
    first = check_primitive(prim, MAX_EXAMPLES, seed=0, order=1)
    assert first.passed
    error = failure(prim)
    message = str(error)
    assert "second-order derivative" in message
    assert "leave the tape" in message
    assert example_size(error) == 1


def _half_square(x):
    return x * x


def _half_square_vjp(g, ans, x):
    return (g * x,)  # wrong on purpose: the helper's own rule misses a factor 2


HALF_SQUARE = make(_half_square, _half_square_vjp, domain=Domain(("real",)))


def _cube_via_helper_vjp(g, ans, x):
    # Right values (3 x**2), but differentiating it goes through a wrong rule.
    return (g * 3.0 * HALF_SQUARE(x),)


def test_a_rule_built_on_a_wrongly_differentiated_helper_fails_at_second_order():
    prim = make(_cube, _cube_via_helper_vjp, domain=Domain(("real",)), elementwise=True)
    assert check_primitive(prim, MAX_EXAMPLES, seed=0, order=1).passed
    error = failure(prim)
    assert "second-order derivative" in str(error)
    assert "leave the tape" not in str(error)
    assert example_size(error) == 1


# -- a forward that changes dtype ---------------------------------------------------


def _tanh_to_float64(x):
    return np.tanh(x).astype(np.float64)


def _tanh_vjp(g, ans, x):
    return (g * (1.0 - ans * ans),)


@pytest.mark.parametrize("reference", [np.tanh, None], ids=["with-reference", "no-reference"])
def test_forward_that_changes_dtype_is_caught_on_a_float32_example(reference):
    prim = make(_tanh_to_float64, _tanh_vjp, domain=Domain(("real",)), numpy=reference)
    error = failure(prim)
    assert error.check == "dtype"
    assert "float64" in str(error) and "float32" in str(error)
    (x,) = error.example_args
    assert x.dtype == np.float32 and x.size <= 1


# -- forwards that write into inputs or disagree with numpy ---------------------------


def _exp_in_place(x):
    return np.exp(x, out=x)


def _exp_vjp(g, ans, x):
    return (g * ans,)


def test_forward_that_writes_into_its_input_is_caught():
    error = failure(make(_exp_in_place, _exp_vjp, domain=Domain(("real",))))
    assert error.check == "mutation"
    assert "input 0 (x)" in str(error)


def _sinh_slightly_off(x):
    return np.sinh(x) * 1.001


def _sinh_vjp(g, ans, x):
    return (g * np.cosh(x) * 1.001,)


def test_forward_that_disagrees_with_its_numpy_reference_is_caught():
    prim = make(_sinh_slightly_off, _sinh_vjp, domain=Domain(("real",)), numpy=np.sinh)
    error = failure(prim)
    assert error.check == "reference"
    assert "np.sinh" in str(error)


# -- domains ---------------------------------------------------------------------------


def _scale(x, factor):
    return x * factor


def _scale_vjp(g, ans, x, factor):
    return g * factor, None


def test_a_domain_that_does_not_cover_every_input_is_reported():
    prim = make(_scale, _scale_vjp, domain=Domain(("real",)), nondiff=(1,))
    error = failure(prim)
    assert error.check == "domain"
    assert "'factor'" in str(error)


def test_an_input_given_by_kwargs_is_passed_positionally():
    domain = Domain(("real", "any"), kwargs={"factor": (2.0, -0.5)})
    prim = make(_scale, _scale_vjp, domain=domain, nondiff=(1,))
    assert check_primitive(prim, 10, seed=0).passed


def _log_anywhere(x):
    return np.log(x)


def _log_vjp(g, ans, x):
    return (g / x,)


def test_a_domain_too_wide_for_the_forward_is_reported():
    error = failure(make(_log_anywhere, _log_vjp, domain=Domain(("real",))))
    assert error.check == "forward"
    assert "non-finite" in str(error) and "narrow the Domain" in str(error)


def test_a_primitive_without_a_domain_gets_real_arrays_of_one_shape():
    prim = make(_multiply, _multiply_unsummable_vjp)  # no domain: the documented default
    error = failure(prim)
    x, y = error.example_args
    assert x.shape == y.shape and x.dtype == y.dtype


def test_no_vjp_rule_is_reported():
    prim = Primitive(_square, domain=Domain(("real",)))
    error = failure(prim)
    assert "no VJP rule" in str(error)


def _max_of(x, axis=None, keepdims=False):
    return np.max(x, axis=axis, keepdims=keepdims)


def _max_vjp(g, ans, x, axis=None, keepdims=False):
    if not keepdims and axis is not None:
        g, ans = np.expand_dims(g, axis), np.expand_dims(ans, axis)
    return (g * (x == ans),)


def test_examples_numpy_itself_refuses_are_skipped_not_failed():
    # np.max of an empty slice raises in numpy too; those examples are skipped.
    domain = Domain(("distinct",), shapes="reduce", kwargs={"keepdims": (False, True)})
    prim = make(_max_of, _max_vjp, domain=domain, numpy=np.max)
    report = check_primitive(prim, 40, seed=0)
    assert report.passed and report.examples > 0
    assert report.examples + report.rejected >= 40


def test_the_report_is_attached_to_the_failure():
    prim = make(_square, _square_missing_two_vjp, domain=Domain(("real",)))
    error = failure(prim)
    assert error.report is not None and not error.report.passed
    assert error.report.failure == str(error)


SAMPLED_DTYPES = set()


def _recording_sample(rng, dtype):
    SAMPLED_DTYPES.add(np.dtype(dtype))
    return (rng.standard_normal(3).astype(dtype),), {}


def test_dtypes_and_order_can_be_restricted():
    prim = make(np.exp, _exp_vjp, domain=Domain(sample=_recording_sample), name="exp_copy")
    report = check_primitive(prim, 10, seed=0, dtypes=("float32",), order=1)
    assert {np.dtype(np.float32)} == SAMPLED_DTYPES
    assert set(report.worst) == {1}
