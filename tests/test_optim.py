"""tg.optim: update rules against hand-computed steps, and the optimizer objects."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import optim

W = np.array([1.0, -2.0])
DW1 = np.array([0.5, -1.0])
DW2 = np.array([-1.0, 0.25])


def read_only(array):
    array = np.array(array)
    array.flags.writeable = False  # the rules must not write into w
    return array


def test_sgd_steps():
    w1, config = optim.sgd(read_only(W), DW1, {"learning_rate": 0.1})
    np.testing.assert_allclose(w1, [0.95, -1.9])
    w2, _ = optim.sgd(w1, DW2, config)
    np.testing.assert_allclose(w2, [1.05, -1.925])


def test_sgd_momentum_steps():
    config = {"learning_rate": 0.1}
    w1, config = optim.sgd_momentum(read_only(W), DW1, config)
    # v1 = -0.1 * dw1 = [-0.05, 0.1]
    np.testing.assert_allclose(config["velocity"], [-0.05, 0.1])
    np.testing.assert_allclose(w1, [0.95, -1.9])
    w2, config = optim.sgd_momentum(w1, DW2, config)
    # v2 = 0.9 * v1 - 0.1 * dw2 = [-0.045 + 0.1, 0.09 - 0.025]
    np.testing.assert_allclose(config["velocity"], [0.055, 0.065])
    np.testing.assert_allclose(w2, [1.005, -1.835])


def test_rmsprop_steps():
    config = {"learning_rate": 0.1}
    w1, config = optim.rmsprop(read_only(W), DW1, config)
    # cache1 = 0.01 * dw1**2 = [0.0025, 0.01]; step = 0.1 * dw1 / sqrt(cache1) = [0.1*10, -0.1*10]
    np.testing.assert_allclose(config["cache"], [0.0025, 0.01])
    np.testing.assert_allclose(w1, [0.0, -1.0], atol=1e-6)
    w2, config = optim.rmsprop(w1, DW2, config)
    # cache2 = 0.99 * cache1 + 0.01 * dw2**2 = [0.012475, 0.010525]
    np.testing.assert_allclose(config["cache"], [0.012475, 0.010525])
    expected = w1 - 0.1 * DW2 / (np.sqrt([0.012475, 0.010525]) + 1e-8)
    np.testing.assert_allclose(w2, expected)
    np.testing.assert_allclose(w2, [0.8953, -1.2437], atol=1e-4)


def test_adam_steps_with_bias_correction():
    config = {"learning_rate": 0.1}
    w1, config = optim.adam(read_only(W), DW1, config)
    # After bias correction the first step is lr * dw / |dw| (up to epsilon).
    assert config["t"] == 1
    np.testing.assert_allclose(config["m"], 0.1 * DW1)
    np.testing.assert_allclose(config["v"], 0.001 * DW1**2)
    np.testing.assert_allclose(w1, [0.9, -1.9], atol=1e-6)
    w2, config = optim.adam(w1, DW2, config)
    # m2 = 0.9 * 0.05 + 0.1 * (-1) = -0.055, v2 = 0.999 * 0.00025 + 0.001 * 1 = 0.00124975;
    # m_hat = -0.055 / 0.19, v_hat = 0.00124975 / 0.001999;
    # step = 0.1 * m_hat / sqrt(v_hat) = -0.0366101 (first coordinate).
    assert config["t"] == 2
    np.testing.assert_allclose(config["m"][0], -0.055)
    np.testing.assert_allclose(config["v"][0], 0.00124975)
    np.testing.assert_allclose(w2[0], 0.9 + 0.0366101, atol=1e-6)


def test_constant_gradient_moves_adam_by_the_learning_rate_each_step():
    w, config = np.zeros(3), {"learning_rate": 0.01}
    for _ in range(5):
        w, config = optim.adam(w, np.array([3.0, -0.2, 1e3]), config)
    np.testing.assert_allclose(w, [-0.05, 0.05, -0.05], rtol=1e-6)


@pytest.mark.parametrize(
    ("rule", "defaults"),
    [
        (optim.sgd, {"learning_rate": 1e-2}),
        (optim.sgd_momentum, {"learning_rate": 1e-2, "momentum": 0.9}),
        (optim.rmsprop, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}),
        (optim.adam, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
    ],
)
def test_defaults_and_config_returned(rule, defaults):
    config = {}
    w1, returned = rule(W, DW1, config)
    assert returned is config
    for key, value in defaults.items():
        assert config[key] == value
    w_none, _ = rule(W, DW1)
    np.testing.assert_array_equal(w1, w_none)


@pytest.mark.parametrize("rule", [optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam])
def test_float32_stays_float32(rule):
    w = W.astype(np.float32)
    config = {}
    for _ in range(2):
        w, config = rule(w, DW1.astype(np.float32), config)
    assert w.dtype == np.float32


# -- optimizer objects ------------------------------------------------------------------

CLASSES = [
    (optim.SGD, optim.sgd),
    (optim.Momentum, optim.sgd_momentum),
    (optim.RMSProp, optim.rmsprop),
    (optim.Adam, optim.adam),
]


@pytest.mark.parametrize(("cls", "rule"), CLASSES)
def test_optimizer_object_follows_its_rule(cls, rule):
    p = tg.tensor(W.copy(), requires_grad=True)
    q = tg.tensor(np.array([[3.0]]), requires_grad=True)
    opt = cls([p, q], learning_rate=0.05)
    expected, config = W.copy(), {"learning_rate": 0.05}
    for dw in (DW1, DW2, DW1):
        p.grad = dw
        opt.step()
        expected, config = rule(expected, dw, config)
        np.testing.assert_allclose(p.data, expected, rtol=1e-12)
    np.testing.assert_array_equal(q.data, [[3.0]])  # no .grad: skipped
    opt.zero_grad()
    assert p.grad is None and q.grad is None


@pytest.mark.parametrize(("cls", "rule"), CLASSES)
def test_optimizer_minimizes_a_quadratic_through_the_tape(cls, rule):
    target = np.array([1.0, -2.0, 0.5])
    p = tg.tensor(np.zeros(3), requires_grad=True)
    opt = cls([p], learning_rate=0.1 if cls is not optim.Momentum else 0.05)
    for _ in range(300):
        opt.zero_grad()
        loss = np.sum((p - target) ** 2)
        loss.backward()
        opt.step()
    np.testing.assert_allclose(p.data, target, atol=0.05)
    assert p.requires_grad and p.is_leaf


def test_learning_rate_is_settable_for_every_parameter():
    params = [tg.tensor(np.ones(2), requires_grad=True) for _ in range(3)]
    opt = optim.Adam(params)
    assert opt.learning_rate == 1e-3
    opt.learning_rate = 0.5
    assert all(config["learning_rate"] == 0.5 for config in opt.configs)


def test_optimizer_rejects_bad_parameters():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([])
    with pytest.raises(ValueError, match=r"parameter 0 .*requires_grad"):
        optim.SGD([tg.tensor(np.ones(2))])
    with pytest.raises(TypeError, match="momentun"):
        optim.Momentum([tg.tensor(np.ones(2), requires_grad=True)], momentun=0.5)


# -- pytrees of parameters ---------------------------------------------------------------


def test_a_dict_of_parameters_trains_like_a_list():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
    start = {"w": rng.standard_normal(3), "b": np.array(0.1)}

    def loss(p):
        return tg.mean((x @ p["w"] + p["b"] - y) ** 2)

    as_dict = {k: tg.tensor(v, requires_grad=True) for k, v in start.items()}
    as_list = [tg.tensor(start["b"], requires_grad=True), tg.tensor(start["w"], requires_grad=True)]
    opt_dict, opt_list = (
        optim.Adam(as_dict, learning_rate=0.1),
        optim.Adam(as_list, learning_rate=0.1),
    )
    for _ in range(5):
        for opt, params in ((opt_dict, as_dict), (opt_list, {"b": as_list[0], "w": as_list[1]})):
            opt.zero_grad()
            loss(params).backward()
            opt.step()
    np.testing.assert_allclose(as_dict["w"].data, as_list[1].data, rtol=1e-14)
    np.testing.assert_allclose(as_dict["b"].data, as_list[0].data, rtol=1e-14)
    assert not np.allclose(as_dict["w"].data, start["w"])


def test_step_takes_gradients_shaped_like_the_parameters():
    params = {
        "layers": [tg.tensor([1.0, 2.0], requires_grad=True)],
        "s": tg.tensor(3.0, requires_grad=True),
    }
    opt = optim.SGD(params, learning_rate=0.5)

    def loss(p):
        return tg.sum(p["layers"][0] ** 2) + p["s"] ** 2

    plain = tg.tree_map(lambda t: t.data, params)
    grads = tg.grad(loss)(plain)  # arrays, in the parameters' structure
    opt.step(grads)
    np.testing.assert_allclose(params["layers"][0].data, [0.0, 0.0])
    np.testing.assert_allclose(params["s"].data, 0.0)
    with pytest.raises(ValueError, match="structure"):
        opt.step([np.ones(2), np.ones(())])


def test_a_generator_of_parameters_still_works():
    params = [tg.tensor(np.ones(2), requires_grad=True) for _ in range(2)]
    opt = optim.SGD(p for p in params)
    assert len(opt.params) == 2 and opt.params[1] is params[1]
