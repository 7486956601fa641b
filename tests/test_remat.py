"""tg.checkpoint: same values and gradients, forward recomputed in backward, memory freed."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

RNG = np.random.default_rng(11)
W = tg.tensor(RNG.standard_normal((4, 4)) / 2, requires_grad=True)


def block(x):
    return tg.tanh(x @ W) * tg.sigmoid(x)


def test_values_and_gradients_match_the_plain_function():
    x = RNG.standard_normal((3, 4))
    plain_value, plain_grad = tg.value_and_grad(lambda x: tg.sum(block(block(x))))(x)
    ckpt = tg.checkpoint(block)
    value, grad = tg.value_and_grad(lambda x: tg.sum(ckpt(ckpt(x))))(x)
    assert value == plain_value
    np.testing.assert_allclose(grad, plain_grad, rtol=1e-14)


def test_closed_over_parameters_get_their_gradient():
    x = RNG.standard_normal((3, 4))
    W.grad = None
    tg.sum(block(tg.tensor(x)) ** 2).backward()
    expected = W.grad
    W.grad = None
    tg.sum(tg.checkpoint(block)(tg.tensor(x)) ** 2).backward()
    np.testing.assert_allclose(W.grad, expected, rtol=1e-14)
    W.grad = None


def test_forward_runs_again_in_backward_only():
    calls = []

    def f(x):
        calls.append(1)
        return tg.exp(x) * x

    x = tg.tensor([0.5, 1.0], requires_grad=True)
    y = tg.checkpoint(f)(x)
    assert len(calls) == 1
    tg.sum(y).backward()
    assert len(calls) == 2
    np.testing.assert_allclose(x.grad, np.exp([0.5, 1.0]) * (np.array([0.5, 1.0]) + 1.0))
    with tg.no_grad():
        tg.checkpoint(f)(x)
    assert len(calls) == 3


def test_intermediates_are_not_kept():
    kept = []

    def f(x):
        h = tg.exp(x) + 1.0
        kept.append(weakref.ref(h.data))
        return tg.log(h)

    x = tg.tensor(RNG.standard_normal(5), requires_grad=True)
    y_plain = f(x)
    y_ckpt = tg.checkpoint(f)(x)
    gc.collect()
    assert kept[0]() is not None  # the plain graph holds h for log's rule
    assert kept[1]() is None  # the checkpointed one let it go
    tg.sum(y_plain + y_ckpt).backward()
    np.testing.assert_allclose(x.grad, 2 / (1 + np.exp(-x.data)), rtol=1e-14)


def test_memory_held_by_a_deep_chain_is_smaller():
    def layer(x):
        for _ in range(4):
            x = tg.sin(x) * 1.01
        return x

    def held_after_forward(step):
        x = tg.tensor(np.ones(20_000), requires_grad=True)
        gc.collect()
        tracemalloc.start()
        y = x
        for _ in range(10):
            y = step(y)
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        tg.sum(y).backward()
        return held, x.grad

    plain_bytes, plain_grad = held_after_forward(layer)
    ckpt_bytes, ckpt_grad = held_after_forward(tg.checkpoint(layer))
    np.testing.assert_allclose(ckpt_grad, plain_grad, rtol=1e-13)
    assert ckpt_bytes < plain_bytes / 3


def test_second_order_and_forward_mode_through_checkpoint():
    x = RNG.standard_normal(4)
    ckpt = tg.checkpoint(lambda x: tg.sin(x) * x**2)

    def loss(x):
        return tg.sum(ckpt(x))

    # d2/dx2 sin(x) x^2 = (2 - x^2) sin x + 4 x cos x
    expected = (2 - x**2) * np.sin(x) + 4 * x * np.cos(x)
    np.testing.assert_allclose(tg.hessian(loss)(x), np.diag(expected), rtol=1e-12, atol=1e-15)
    t = RNG.standard_normal(4)
    _, t_out = tg.jvp(ckpt, (x,), (t,))
    np.testing.assert_allclose(t_out, (np.cos(x) * x**2 + 2 * x * np.sin(x)) * t, rtol=1e-13)
    check_grads(ckpt, x, order=2, modes=("rev", "fwd"))


def test_pytrees_keyword_arguments_and_untouched_outputs():
    def f(p, scale=1.0):
        return {"y": p["a"] * p["b"] * scale, "same": p["a"], "n": 3}

    ckpt = tg.checkpoint(f)

    def loss(p):
        out = ckpt(p, scale=2.0)
        assert out["n"] == 3
        return tg.sum(out["y"]) + tg.sum(out["same"] ** 2)

    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    g = tg.grad(loss)(p)
    np.testing.assert_allclose(g["a"], 2 * p["b"] + 2 * p["a"])
    np.testing.assert_allclose(g["b"], 2 * p["a"])


def test_numpy_global_random_state_is_replayed():
    def noisy(x):
        return x * np.random.standard_normal(x.shape)

    np.random.seed(0)
    x = tg.tensor(np.ones(3), requires_grad=True)
    y = tg.checkpoint(noisy)(x)
    np.random.standard_normal(10)  # moves the global state before backward
    tg.sum(y).backward()
    np.testing.assert_array_equal(x.grad, y.data)


def test_a_function_that_changes_between_forward_and_backward_is_an_error():
    def fresh_noise(x):
        return x * np.random.default_rng().standard_normal(x.shape)

    x = tg.tensor(np.ones(3), requires_grad=True)
    y = tg.checkpoint(fresh_noise)(x)
    with pytest.raises(RuntimeError, match="deterministic"):
        tg.sum(y).backward()


def test_outputs_of_a_multi_output_primitive_as_arguments():
    a = RNG.standard_normal((3, 3))
    x0 = a + a.T

    def loss(x, ckpt):
        w, v = np.linalg.eigh(x)
        return tg.sum(ckpt(w, v) ** 2)

    def mix(w, v):
        return tg.tanh(v * w)

    plain = tg.grad(loss)(x0, mix)
    np.testing.assert_allclose(tg.grad(loss)(x0, tg.checkpoint(mix)), plain, rtol=1e-12)
    # ckpt(ckpt(x)): the first one's outputs feed the second.
    twice = tg.checkpoint(lambda x: tg.sin(x) * 2.0)
    g = tg.grad(lambda x: tg.sum(twice(twice(x))))(np.array([0.3, 1.0]))
    x = np.array([0.3, 1.0])
    np.testing.assert_allclose(g, np.cos(2 * np.sin(x)) * 2 * np.cos(x) * 2, rtol=1e-14)


def test_closure_over_one_output_of_a_multi_output_primitive():
    # The segment stops at one output of eigh's node; the gradient reaches x through it.
    a0 = np.array([[2.0, 0.5], [0.5, 1.0]])

    def loss(a, y):
        w, _ = np.linalg.eigh(a)
        return tg.sum(tg.checkpoint(lambda v: v * w)(y))

    y0 = np.array([1.0, 3.0])
    got = tg.grad(loss, argnums=(0, 1))(a0, y0)
    plain = tg.grad(lambda a, y: tg.sum(y * np.linalg.eigh(a)[0]), argnums=(0, 1))(a0, y0)
    for g, p in zip(got, plain):
        np.testing.assert_allclose(g, p, rtol=1e-12)
    tg.testing.check_grads(lambda a: loss(a, y0), a0, order=1)
