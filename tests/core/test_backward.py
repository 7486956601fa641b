"""The tape and backward: accumulation, retain/create graph, grad modes, freeing, depth."""

import gc
import threading
import weakref

import numpy as np
import pytest

import tapegrad as tg


def test_scalar_output_default_cotangent_is_one():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tg.sum(x * x).backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)


def test_gradients_accumulate_across_calls_until_reset():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        tg.sum(x * 3.0).backward()
    np.testing.assert_allclose(x.grad, [9.0, 9.0])
    x.grad = None
    tg.sum(x * 3.0).backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_accumulation_does_not_write_into_the_previous_grad_array():
    x = tg.tensor([1.0], requires_grad=True)
    tg.sum(x * 2.0).backward()
    first = x.grad
    tg.sum(x * 2.0).backward()
    np.testing.assert_allclose(first, [2.0])
    np.testing.assert_allclose(x.grad, [4.0])


def test_non_scalar_output_needs_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(ValueError, match=r"non-scalar output of shape \(2,\)"):
        y.backward()
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [2.0, 20.0])


def test_backward_grad_of_wrong_shape_or_dtype():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(ValueError, match=r"grad has shape \(3,\).*shape \(2,\)"):
        y.backward(np.ones(3))
    with pytest.raises(TypeError, match="floating point"):
        y.backward(np.ones(2, dtype=int))


def test_backward_on_a_constant_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.sum(tg.tensor([1.0]) * 2.0).backward()


def test_second_backward_through_freed_graph_mentions_retain_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.sum(tg.exp(x))
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.sum(tg.exp(x))
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp(x.data))


def test_create_graph_makes_grad_a_differentiable_tensor():
    x = tg.tensor([0.5, -1.0], requires_grad=True)
    y = tg.sum(x**3)
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, tg.Tensor) and g.requires_grad
    np.testing.assert_allclose(g.data, 3 * x.data**2)
    x.grad = None
    tg.sum(g).backward()
    np.testing.assert_allclose(x.grad, 6 * x.data)  # d/dx sum(3 x^2)


def test_shared_subexpression_gets_both_contributions():
    x = tg.tensor(2.0, requires_grad=True)
    y = x * x
    z = y * y + y  # x^4 + x^2
    z.backward()
    assert x.grad == pytest.approx(4 * 8 + 2 * 2)


def test_broadcast_cotangents_are_summed_back():
    x = tg.tensor(np.ones((3, 1)), requires_grad=True)
    b = tg.tensor(np.arange(4.0), requires_grad=True)
    s = tg.tensor(2.0, requires_grad=True)
    tg.sum((x + b) * s).backward()
    np.testing.assert_allclose(x.grad, np.full((3, 1), 2.0 * 4))
    np.testing.assert_allclose(b.grad, np.full(4, 2.0 * 3))
    assert s.grad.shape == () and s.grad == pytest.approx(np.sum(1.0 + np.arange(4.0)) * 3)


def test_only_operations_with_an_input_requiring_grad_are_recorded():
    a = tg.tensor([1.0, 2.0])
    b = tg.exp(a) * 2.0
    assert b._node is None and not b.requires_grad


def test_no_grad_records_nothing_and_works_as_decorator():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2.0
        with tg.enable_grad():
            z = x * 2.0
    assert tg.is_grad_enabled()
    assert not y.requires_grad and z.requires_grad

    @tg.no_grad()
    def f(t):
        return t * 2.0

    assert not f(x).requires_grad
    assert tg.is_grad_enabled()


def test_no_grad_is_thread_local():
    x = tg.tensor([1.0], requires_grad=True)
    inside = threading.Event()
    release = threading.Event()
    seen = {}

    def worker():
        with tg.no_grad():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    seen["main"] = (x * 2.0).requires_grad  # the other thread is inside no_grad
    release.set()
    thread.join()

    def other():
        seen["fresh"] = tg.is_grad_enabled()

    with tg.no_grad():
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen == {"main": True, "fresh": True}


def test_deep_chain_has_no_recursion_limit():
    x = tg.tensor(np.array([0.5]), requires_grad=True)
    y = x
    n = 200_000
    for _ in range(n):
        y = y + 1e-6
    tg.sum(y).backward()
    np.testing.assert_allclose(x.grad, [1.0])


def test_saved_intermediates_are_freed_after_backward():
    x = tg.tensor(np.ones(1000), requires_grad=True)
    refs = []

    def loss():
        h = tg.exp(x)
        refs.append(weakref.ref(h.data))
        h2 = h * h
        refs.append(weakref.ref(h2.data))
        return tg.sum(h2)

    out = loss()
    gc.collect()
    assert all(r() is not None for r in refs)  # alive: the graph holds them
    out.backward()
    gc.collect()
    assert all(r() is None for r in refs)


def test_retained_graph_keeps_intermediates():
    x = tg.tensor(np.ones(10), requires_grad=True)
    h = tg.exp(x)
    ref = weakref.ref(h.data)
    out = tg.sum(h * h)
    del h
    out.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None


def test_dropped_leaf_is_not_an_error():
    x = tg.tensor([1.0], requires_grad=True)
    y = tg.sum(x * 2.0)
    del x
    gc.collect()
    y.backward()  # nobody can read the grad; nothing to do


def test_inplace_on_leaf_requiring_grad_is_refused_outside_no_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w += 1.0
    with tg.no_grad():
        w -= 0.5
    assert w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.data, [0.5, 1.5])


def test_inplace_on_intermediate_rebinds_and_keeps_earlier_uses_correct():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    z = y * y  # uses y before the in-place change
    y *= 2.0  # y is now x * 6
    tg.sum(z + y).backward()
    np.testing.assert_allclose(x.grad, 2 * 9 * x.data + 6.0)


def test_inplace_keeps_dtype():
    w = tg.tensor(np.ones(2, dtype=np.float32))
    w += np.ones(2)  # float64 operand
    assert w.dtype == np.float32


def test_error_in_a_rule_leaves_no_stale_cotangents():
    from tapegrad.core.primitive import Primitive

    def broken_rule(g, ans, x):
        raise ArithmeticError("boom")

    broken = Primitive(lambda x: x * 1.0, name="broken")
    broken.defvjp(broken_rule)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    shared = x * 3.0
    with pytest.raises(ArithmeticError) as info:
        tg.sum(broken(shared) + shared).backward()
    assert any("broken" in note for note in info.value.__notes__)
    tg.sum(shared * 2.0).backward()
    np.testing.assert_allclose(x.grad, [6.0, 6.0])  # nothing left over from the failed pass


def test_inplace_with_a_wider_operand_records_the_cast():
    x = tg.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    y = x * 2.0
    y += tg.tensor(np.array([0.5, 1.5]), requires_grad=True)  # float64 operand
    assert y.dtype == np.float32
    tg.sum(y * y).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, 2 * 2 * np.array([2.5, 3.5]))


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_zero_cotangent_masks_nan_partials_for_every_rank(shape):
    # The engine's NaN probe takes a different route for 0-d, 1-d and n-d.
    x0 = np.zeros(shape)
    g = tg.grad(lambda x: tg.sum(tg.where(x > 0, tg.sqrt(x), 0.0)))(x0)
    np.testing.assert_array_equal(g, np.zeros(shape))
    g = tg.grad(lambda x: tg.sum(tg.sqrt(x)))(x0)  # an unmasked kink stays infinite
    assert np.all(np.isinf(g))


def test_leaf_gradients_are_owned_writeable_and_unshared():
    x = tg.tensor(np.ones(3), requires_grad=True)
    y = tg.tensor(np.ones(3), requires_grad=True)
    big = tg.tensor(np.ones(5000), requires_grad=True)
    tg.sum(x + y).backward()  # add hands the same cotangent to both
    tg.sum(big).backward()  # a broadcast (read-only) view for large inputs
    assert x.grad is not y.grad
    x.grad *= 0.5
    np.testing.assert_array_equal(y.grad, np.ones(3))
    big.grad[0] = 7.0  # writeable
    cotangent = np.ones(3)
    z = tg.tensor(np.ones(3), requires_grad=True)
    np.copy(z).backward(cotangent)  # identity: its rule returns the cotangent itself
    cotangent[:] = 5.0  # the caller's array is not z.grad
    np.testing.assert_array_equal(z.grad, np.ones(3))


def test_trace_origins_points_backward_errors_at_user_code():
    from tapegrad.core.primitive import Primitive

    def broken_rule(g, ans, x):
        raise ArithmeticError("boom")

    broken = Primitive(lambda x: x * 1.0, name="broken_again")
    broken.defvjp(broken_rule)
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(ArithmeticError) as untraced:
        tg.sum(broken(x)).backward()
    assert any("trace_origins" in n for n in untraced.value.__notes__)
    with tg.trace_origins():
        y = broken(x)  # the line the note must name
        line = __import__("inspect").currentframe().f_lineno - 1
    with pytest.raises(ArithmeticError) as traced:
        tg.sum(y).backward()
    assert any(
        f"test_backward.py:{line} in test_trace_origins" in n for n in traced.value.__notes__
    )
    assert type((x * 2.0)._node).__name__ == "Node"  # off again outside the block


def _ten_layer_loss(v):
    h = v
    for _ in range(10):
        h = tg.tanh(h * 0.5) + 0.1
    return tg.sum(h + v)


def test_concurrent_backward_on_shared_parameters_loses_nothing():
    import sys

    w = tg.tensor(np.ones(4), requires_grad=True)

    def work():
        for _ in range(50):
            _ten_layer_loss(w).backward()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    once = tg.grad(_ten_layer_loss)(np.ones(4))
    np.testing.assert_allclose(w.grad, 200 * once, rtol=1e-12)
