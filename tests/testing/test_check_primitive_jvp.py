"""check_primitive checks forward mode too: a wrong JVP rule is caught, with a small example.

A JVP rule is checked against central differences along a random tangent
and against the primitive's own VJP by the dot-product test
``<v, J t> == <J^T v, t>``. Every primitive is checked this way, whether its
forward mode comes from a hand-written rule, its ``linear`` declaration, its
VJP rule (elementwise) or the transposed VJP (the fallback).
"""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import Domain, Primitive
from tapegrad.testing import PrimitiveCheckError, check_grads, check_primitive

MAX_EXAMPLES = 30


def _softplus(x):
    return np.logaddexp(0.0, x)


def _softplus_vjp(g, ans, x):
    return (g / (1.0 + np.exp(-x)),)


def softplus_with(jvp_rule, **options):
    prim = Primitive(_softplus, domain=Domain(("real",)), **options)
    prim.defvjp(_softplus_vjp)
    if jvp_rule is not None:
        prim.defjvp(jvp_rule)
    return prim


def failure(prim):
    with pytest.raises(PrimitiveCheckError) as info:
        check_primitive(prim, MAX_EXAMPLES, seed=0)
    return info.value


def example_size(error):
    return sum(np.size(a) for a in error.example_args if isinstance(a, np.ndarray))


def test_a_correct_jvp_rule_passes_and_is_the_one_used():
    calls = []

    def softplus_jvp(tangents, ans, x):
        calls.append(1)
        return tangents[0] / (1.0 + np.exp(-x))

    prim = softplus_with(softplus_jvp)
    assert check_primitive(prim, MAX_EXAMPLES, seed=0).passed
    assert calls  # forward mode went through the rule, not a fallback


def test_a_wrong_jvp_rule_is_caught_with_a_one_element_counterexample():
    def wrong_jvp(tangents, ans, x):
        return tangents[0] / (1.0 + np.exp(x))  # sigmoid(-x): the sign of x flipped

    error = failure(softplus_with(wrong_jvp))
    assert error.check == "jvp"
    message = str(error)
    assert "forward-mode first-order derivative" in message
    assert "analytic" in message and "numeric" in message
    assert "example: x=array(" in message
    assert example_size(error) == 1  # shrunk to a single element
    (x,) = error.example_args
    assert x.flat[0] != 0  # at 0 the wrong rule happens to be right


def test_a_jvp_rule_wrong_by_a_constant_factor_is_caught():
    def half_jvp(tangents, ans, x):
        return 0.5 * tangents[0] / (1.0 + np.exp(-x))

    assert failure(softplus_with(half_jvp)).check == "jvp"


def test_a_primitive_wrongly_declared_linear_is_caught():
    # softplus is not linear: declared so, forward mode applies softplus to the tangent.
    error = failure(softplus_with(None, linear=True))
    assert error.check == "jvp"
    assert example_size(error) == 1


def test_the_fallback_and_the_elementwise_route_pass_without_a_rule():
    assert check_primitive(softplus_with(None), MAX_EXAMPLES, seed=0).passed  # transposed VJP
    elementwise = softplus_with(None, elementwise=True)
    assert check_primitive(elementwise, MAX_EXAMPLES, seed=0).passed  # VJP rule on the tangent


def test_a_wrong_jvp_rule_of_a_multi_output_primitive_is_caught():
    # Two outputs: the sum and the elementwise square; the square's tangent is wrong.
    def sum_and_square(x):
        return np.sum(x), x * x

    def vjp(g, ans, x):
        g_sum, g_square = g
        total = np.zeros_like(x)
        if g_sum is not None:
            total = total + g_sum
        if g_square is not None:
            total = total + 2.0 * x * g_square
        return (total,)

    def wrong_jvp(tangents, ans, x):
        (t,) = tangents
        return np.sum(t), x * t  # should be 2 x t

    prim = Primitive(sum_and_square, domain=Domain(("real",)))
    prim.defvjp(vjp)
    good = Primitive(sum_and_square, domain=Domain(("real",)))
    good.defvjp(vjp)
    assert check_primitive(good, MAX_EXAMPLES, seed=0).passed  # the fallback
    prim.defjvp(wrong_jvp)
    error = failure(prim)
    assert error.check == "jvp"
    assert "outputs" in str(error)


def test_forward_mode_alone_passes_a_right_jvp_beside_a_wrong_vjp():
    # Each mode is judged on its own: the JVP rule is right, the VJP is not.
    def right_jvp(tangents, ans, x):
        return tangents[0] / (1.0 + np.exp(-x))

    prim = softplus_with(right_jvp)
    x = np.array([0.3, -1.2, 2.0])
    check_grads(prim, x, modes=("fwd",))
    prim.defvjp(lambda g, ans, x: (1.5 * g / (1.0 + np.exp(-x)),))
    with pytest.raises(AssertionError, match="first-order derivative"):
        check_grads(prim, x, modes=("rev", "fwd"))


def test_check_grads_names_the_worst_output_element_of_a_wrong_jvp():
    def wrong_jvp(tangents, ans, x):
        t = tangents[0] / (1.0 + np.exp(-x))
        return t * np.array([1.0, 1.0, 3.0])  # wrong in the last element only

    prim = softplus_with(wrong_jvp)
    with pytest.raises(AssertionError) as info:
        check_grads(prim, np.array([0.3, -1.2, 2.0]), modes=("fwd",))
    message = str(info.value)
    assert "worst output element (2,)" in message
    assert "disagrees with central finite differences along t" in message


def test_the_registry_wide_check_covers_a_builtin_jvp_rule():
    # The registry test runs check_primitive on every built-in; sabotaging
    # one built-in JVP rule must make that check fail.
    saved = tg.tanh.jvp
    tg.tanh.defjvp(lambda tangents, ans, x: tangents[0] * (1.0 - ans))
    try:
        with pytest.raises(PrimitiveCheckError) as info:
            check_primitive(tg.tanh, 10, seed=0)
    finally:
        tg.tanh.defjvp(saved)
    assert info.value.check == "jvp"
    assert check_primitive(tg.tanh, 10, seed=0).passed


def test_forward_mode_is_checked_at_first_order_only_by_check_primitive():
    # The second-order forward check would run other primitives' rules
    # (those inside the VJP); each of those is checked on its own.
    calls = []

    def counting_jvp(tangents, ans, x):
        calls.append(1)
        return tangents[0] / (1.0 + np.exp(-x))

    prim = softplus_with(counting_jvp)
    check_primitive(prim, 5, seed=0, order=2)
    first_order = len(calls)
    assert 0 < first_order <= 5 * 3  # a JVP per example (a few more on retries)
