"""Seeing the tape from the engine's side: hooks, retain_grad, nodes, detect_anomaly."""

import threading

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.core import recorder
from tapegrad.core.primitive import Primitive
from tapegrad.core.tape import Node


def test_retain_grad_keeps_the_gradient_of_a_non_leaf():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    assert h.retains_grad
    tg.sum(h * h).backward()
    np.testing.assert_array_equal(h.grad, [6.0, 12.0])  # d/dh sum(h^2) = 2h
    np.testing.assert_array_equal(x.grad, [18.0, 36.0])


def test_without_retain_grad_a_non_leaf_has_no_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    tg.sum(h).backward()
    assert h.grad is None and not h.retains_grad


def test_a_hook_sees_the_total_gradient_and_may_replace_it():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()))
    h.register_hook(lambda g: g * 10.0)
    h.retain_grad()  # .grad is the value after every hook, as in PyTorch
    loss = tg.sum(h) + tg.sum(h * h)  # two uses: the hook sees their sum once
    loss.backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], 1.0 + 2.0 * np.array([3.0, 6.0]))
    np.testing.assert_array_equal(h.grad, 10.0 * seen[0])
    np.testing.assert_array_equal(x.grad, 30.0 * seen[0])


def test_a_hook_on_a_leaf_runs_before_accumulation_and_can_be_removed():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 0.5)
    tg.sum(x * 4.0).backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    handle.remove()
    x.grad = None
    tg.sum(x * 4.0).backward()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])


def test_a_hook_that_changes_the_shape_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: np.ones(3))
    with pytest.raises(ValueError, match="hooks must keep the shape"):
        tg.sum(x * 2.0).backward()


def test_hooks_need_a_tensor_on_the_tape():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.tensor([1.0]).register_hook(print)
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.tensor([1.0]).retain_grad()


def test_node_introspection():
    x = tg.tensor([1.0], requires_grad=True)
    y = tg.tanh(x * 2.0)
    assert y.node.primitive.name == "tanh"
    (parent,) = y.node.parents
    assert parent.primitive.name == "multiply"
    assert parent.parents[0] is x.node and parent.parents[1] is None
    assert x.node.primitive is None and y.node.sequence > parent.sequence
    assert tg.tensor([1.0]).node is None


def test_detect_anomaly_names_the_first_primitive_making_a_nan():
    x = tg.tensor([-1.0, 4.0], requires_grad=True)
    with tg.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        y = tg.exp(x)
        tg.log(-y)  # the line to blame
    message = str(info.value)
    assert "'log'" in message and "float64[2]" in message
    assert "test_hooks_and_anomalies.py" in message


def test_detect_anomaly_lets_nan_in_nan_out_pass_forward():
    x = tg.tensor([np.nan, 1.0], requires_grad=True)
    with tg.detect_anomaly():
        y = tg.exp(x) * 2.0  # NaN in, NaN out: not where the NaN was made
    assert np.isnan(y.data[0])


def test_detect_anomaly_catches_a_rule_returning_nan():
    prim = Primitive(lambda x: x * 2.0, name="nan_rule_test")
    prim.defvjp(lambda g, ans, x: (g * np.nan,))
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.detect_anomaly():
        y = prim(x)
        with pytest.raises(FloatingPointError, match="nan_rule_test"):
            tg.sum(y * 3.0).backward()
    # Outside anomaly mode the NaN goes through silently, as in PyTorch.
    z = prim(x)
    tg.sum(z * 3.0).backward()
    assert np.isnan(x.grad).all()


def test_detect_anomaly_does_not_flag_masked_zero_cotangents():
    w = tg.tensor([0.0, 4.0], requires_grad=True)
    with tg.detect_anomaly():
        tg.sum(tg.where(w > 0, tg.sqrt(w), 0.0)).backward()
    np.testing.assert_array_equal(w.grad, [0.0, 0.25])


def test_detect_anomaly_is_a_decorator_and_switches_off_on_exit():
    @tg.detect_anomaly()
    def f():
        return recorder.Node

    assert f() is not Node
    assert recorder.Node is Node


def test_overlapping_debug_modes_in_threads_end_with_the_plain_node():
    inside = threading.Barrier(2, timeout=10)

    def work(mode):
        with mode():
            inside.wait()
            inside.wait()

    threads = [
        threading.Thread(target=work, args=(m,)) for m in (tg.trace_origins, tg.detect_anomaly)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert recorder.Node is Node
