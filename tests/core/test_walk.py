"""The backward walk: per-walk state, threads, all-or-nothing, what it returns."""

import threading

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.core.primitive import Primitive


def test_two_graphs_run_backward_in_two_threads_at_once():
    # Each thread's rule waits until the other thread is inside its own rule:
    # the two walks must overlap, which a process-wide backward lock forbids.
    both_inside = threading.Barrier(2, timeout=10)
    prim = Primitive(lambda x: x * 3.0, name="meet_in_backward_test")

    @prim.defvjp
    def _(g, ans, x):
        both_inside.wait()
        return (g * 3.0,)

    results = {}

    def work(name, x0):
        x = tg.tensor(x0, requires_grad=True)
        tg.sum(prim(x) ** 2).backward()
        results[name] = x.grad

    threads = [
        threading.Thread(target=work, args=(name, np.full(4, v)))
        for name, v in (("a", 1.0), ("b", 2.0))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads)
    np.testing.assert_allclose(results["a"], np.full(4, 18.0))  # d/dx (3x)^2 = 18x
    np.testing.assert_allclose(results["b"], np.full(4, 36.0))


def test_a_rule_may_run_a_gradient_in_a_helper_thread():
    prim = Primitive(lambda x: x * 2.0, name="helper_thread_rule_test")

    @prim.defvjp
    def _(g, ans, x):
        out = {}
        worker = threading.Thread(target=lambda: out.update(g=tg.grad(tg.sum)(x)))
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive(), "the inner gradient deadlocked"
        return (g * 2.0 * out["g"],)

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    tg.sum(prim(x)).backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_threads_sharing_a_parameter_add_every_contribution():
    w = tg.tensor(np.ones(3), requires_grad=True)

    def work():
        for _ in range(50):
            tg.sum(w * 2.0).backward()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(w.grad, np.full(3, 400.0))


def _failing_once():
    prim = Primitive(lambda x: x * 5.0, name="fails_once_test")
    calls = []

    @prim.defvjp
    def _(g, ans, x):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt  # an interrupt mid-backward, not only errors
        return (g * 5.0,)

    return prim


def test_a_failed_backward_leaves_grads_and_graph_as_they_were():
    prim = _failing_once()
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 4.0], requires_grad=True)
    # y's branch is processed first (later on the tape), then the rule fails.
    loss = tg.sum(prim(x)) + tg.sum(y * y)
    with pytest.raises(KeyboardInterrupt):
        loss.backward()
    assert x.grad is None and y.grad is None  # nothing half-accumulated
    loss.backward()  # the retry works: the graph was not freed
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])
    np.testing.assert_array_equal(y.grad, [6.0, 8.0])


@pytest.mark.parametrize(
    "route",
    ["backward", "grad", "value_and_grad", "vjp"],
)
def test_every_gradient_of_a_0d_input_is_a_0d_array(route):
    def f(x):
        return x * x + x

    if route == "backward":
        x = tg.tensor(0.5, requires_grad=True)
        f(x).backward()
        g = x.grad
    elif route == "grad":
        g = tg.grad(f)(0.5)
    elif route == "value_and_grad":
        g = tg.value_and_grad(f)(0.5)[1]
    else:
        g = tg.vjp(f, np.float64(0.5))[1](np.float64(1.0))[0]
    assert type(g) is np.ndarray and g.shape == () and g.dtype == np.float64
    assert g == 2.0


def test_returned_gradients_are_writeable_arrays_of_their_own():
    ga, gb = tg.grad(lambda a, b: tg.sum(a + b), argnums=(0, 1))(np.ones(3), np.ones(3))
    assert ga is not gb and not np.shares_memory(ga, gb)
    ga *= 2.0
    np.testing.assert_array_equal(gb, np.ones(3))
    mean_grad = tg.grad(tg.mean)(np.ones((50, 50)))
    assert mean_grad.flags.writeable and mean_grad.flags.owndata
    cotangent = np.ones(3)
    (back,) = tg.vjp(lambda a: a * 1.0 + 0.0, np.ones(3))[1](cotangent)
    assert not np.shares_memory(back, cotangent) and back.flags.writeable


def test_a_transform_does_not_consume_the_graph_it_closes_over():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0  # an outer graph
    inner = tg.grad(lambda a: tg.sum(a * y))(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(inner, [3.0, 6.0])
    tg.sum(y).backward()  # the outer graph is intact
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    assert x.grad is not None


def test_a_transform_visits_only_nodes_that_lead_to_its_arguments():
    calls = []
    prim = Primitive(lambda x: x * 2.0, name="outer_only_test")

    @prim.defvjp
    def _(g, ans, x):
        calls.append(1)
        return (g * 2.0,)

    x = tg.tensor([1.0], requires_grad=True)
    outer = prim(x)
    tg.grad(lambda a: tg.sum(a * outer))(np.array([1.0]))
    assert calls == []  # the outer node is not a path to `a`: its rule never ran


def test_rules_declared_with_needs_grad_get_one_bool_per_input():
    seen = []
    prim = Primitive(lambda x, y, z: x * y * z, name="needs_three_test")

    @prim.defvjp(needs_grad=True)
    def _(g, ans, x, y, z, needs_grad):
        seen.append(needs_grad)
        return tuple(g * ans / v if need else None for v, need in zip((x, y, z), needs_grad))

    a = tg.tensor([2.0], requires_grad=True)
    tg.sum(prim(a, tg.tensor([3.0]), a)).backward()
    assert seen == [(True, False, True)]
    np.testing.assert_allclose(a.grad, [12.0])  # d/da of 3 a^2


def test_a_target_may_be_one_output_of_a_multi_output_node():
    from tapegrad.core.backward import run_backward

    x = tg.tensor(np.array([[2.0, 0.5], [0.5, 1.0]]), requires_grad=True)
    values, vectors = np.linalg.eigh(x)
    loss = tg.sum(values * 3.0)
    (ct,) = run_backward([loss.node], [np.ones(())], targets=[values.node])
    np.testing.assert_array_equal(ct, [3.0, 3.0])  # stops at the target, unchanged
    # The walk stopped there: eigh's node (beyond the target) still has its values.
    assert values.node.node.values is not None
    tg.sum(vectors).backward()
    assert x.grad is not None
