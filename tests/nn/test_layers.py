"""tg.nn.layers: the seed's functions on ndarrays, against closed forms and finite differences."""

import numpy as np
import pytest

from tapegrad.nn import layers


def numeric_gradient(f, x, dout, eps=1e-6):
    """Central differences of ``sum(f(x) * dout)`` with respect to every element of ``x``."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += eps
        minus[index] -= eps
        grad[index] = np.sum((f(plus) - f(minus)) * dout) / (2 * eps)
    return grad


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# -- affine -------------------------------------------------------------------------


def test_affine_forward_flattens_each_example(rng):
    x = rng.standard_normal((2, 3, 4))
    w = rng.standard_normal((12, 5))
    b = rng.standard_normal(5)
    out, cache = layers.affine_forward(x, w, b)
    expected = np.einsum("nij,ijm->nm", x, w.reshape(3, 4, 5)) + b
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert cache[0] is x and cache[1] is w and cache[2] is b


def test_affine_backward_matches_finite_differences(rng):
    x = rng.standard_normal((3, 2, 2))
    w = rng.standard_normal((4, 5))
    b = rng.standard_normal(5)
    dout = rng.standard_normal((3, 5))
    dx, dw, db = layers.affine_backward(dout, layers.affine_forward(x, w, b)[1])
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    np.testing.assert_allclose(
        dx, numeric_gradient(lambda v: layers.affine_forward(v, w, b)[0], x, dout), rtol=1e-6
    )
    np.testing.assert_allclose(
        dw, numeric_gradient(lambda v: layers.affine_forward(x, v, b)[0], w, dout), rtol=1e-6
    )
    np.testing.assert_allclose(db, dout.sum(axis=0), rtol=1e-12)


def test_affine_keeps_float32(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = np.zeros(4, np.float32)
    out, cache = layers.affine_forward(x, w, b)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layers.affine_backward(out, cache))


# -- relu ---------------------------------------------------------------------------


def test_relu_forward_and_backward_closed_form():
    x = np.array([[-2.0, -0.0, 0.0, 0.5, 3.0]])
    out, cache = layers.relu_forward(x)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 0.0, 0.5, 3.0]])
    dout = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    # The kink takes derivative 0: the seed's `x > 0`.
    np.testing.assert_array_equal(layers.relu_backward(dout, cache), [[0.0, 0.0, 0.0, 4.0, 5.0]])


# -- batchnorm ------------------------------------------------------------------------


def test_batchnorm_train_normalizes_each_column(rng):
    x = 3.0 + 5.0 * rng.standard_normal((200, 4))
    gamma, beta = np.array([1.0, 2.0, 0.5, 1.0]), np.array([0.0, -1.0, 3.0, 0.0])
    out, _ = layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-10)
    # Uncorrected variance: the normalized columns have population std exactly ~1.
    np.testing.assert_allclose(out.std(axis=0), gamma * np.sqrt(x.var(0) / (x.var(0) + 1e-5)))


def test_batchnorm_running_statistics_over_several_steps(rng):
    bn_param = {"mode": "train"}
    gamma, beta = np.ones(3), np.zeros(3)
    running_mean, running_var = np.zeros(3), np.zeros(3)  # the seed starts at zero
    for _ in range(4):
        x = rng.standard_normal((10, 3)) * 2.0 + 1.0
        layers.batchnorm_forward(x, gamma, beta, bn_param)
        running_mean = 0.9 * running_mean + 0.1 * x.mean(axis=0)
        running_var = 0.9 * running_var + 0.1 * x.var(axis=0)
        np.testing.assert_allclose(bn_param["running_mean"], running_mean, rtol=1e-12)
        np.testing.assert_allclose(bn_param["running_var"], running_var, rtol=1e-12)


def test_batchnorm_custom_momentum_and_eps(rng):
    x = rng.standard_normal((6, 2))
    bn_param = {"mode": "train", "momentum": 0.5, "eps": 1.0}
    out, _ = layers.batchnorm_forward(x, np.ones(2), np.zeros(2), bn_param)
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1.0))
    np.testing.assert_allclose(bn_param["running_mean"], 0.5 * x.mean(0))


def test_batchnorm_test_mode_uses_running_statistics(rng):
    x = rng.standard_normal((5, 3))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    bn_param = {"mode": "test", "running_mean": mean, "running_var": var}
    out, cache = layers.batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out, gamma * (x - mean) / np.sqrt(var + 1e-5) + beta)
    assert bn_param["running_mean"] is mean  # test mode leaves the statistics alone
    dout = rng.standard_normal((5, 3))
    dx, dgamma, dbeta = layers.batchnorm_backward(dout, cache)
    np.testing.assert_allclose(dx, dout * gamma / np.sqrt(var + 1e-5))
    np.testing.assert_allclose(dgamma, np.sum(dout * (x - mean) / np.sqrt(var + 1e-5), 0))
    np.testing.assert_allclose(dbeta, dout.sum(0))


def test_batchnorm_train_backward_matches_finite_differences(rng):
    x = rng.standard_normal((5, 3))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    dout = rng.standard_normal((5, 3))

    def forward(x=x, gamma=gamma, beta=beta):
        return layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})[0]

    dx, dgamma, dbeta = layers.batchnorm_backward(
        dout, layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})[1]
    )
    np.testing.assert_allclose(dx, numeric_gradient(lambda v: forward(x=v), x, dout), rtol=1e-5)
    np.testing.assert_allclose(
        dgamma, numeric_gradient(lambda v: forward(gamma=v), gamma, dout), rtol=1e-6
    )
    np.testing.assert_allclose(
        dbeta, numeric_gradient(lambda v: forward(beta=v), beta, dout), rtol=1e-6
    )


def test_batchnorm_keeps_float32_statistics(rng):
    x = rng.standard_normal((4, 2)).astype(np.float32)
    bn_param = {"mode": "train"}
    out, _ = layers.batchnorm_forward(x, np.ones(2, np.float32), np.zeros(2, np.float32), bn_param)
    assert out.dtype == np.float32
    assert bn_param["running_mean"].dtype == np.float32


# -- dropout ------------------------------------------------------------------------------


def test_dropout_seed_is_deterministic_and_leaves_global_state_alone():
    x = np.ones((50, 40))
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    out1, _ = layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    out2, _ = layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    out3, _ = layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 8})
    np.testing.assert_array_equal(out1, out2)
    assert not np.array_equal(out1, out3)
    assert np.random.random() == expected_next


def test_dropout_drops_p_and_preserves_the_mean():
    x = np.full((400, 500), 2.0)
    for p in (0.1, 0.5, 0.8):
        out, (_, mask) = layers.dropout_forward(x, {"p": p, "mode": "train", "seed": 1})
        dropped = np.mean(out == 0)
        # 200,000 Bernoulli draws: the standard error is below 0.0012.
        assert abs(dropped - p) < 0.006
        assert abs(out.mean() - 2.0) < 0.03 * 2.0
        np.testing.assert_allclose(np.unique(out), [0.0, 2.0 / (1 - p)])
        np.testing.assert_array_equal(out, x * mask)


def test_dropout_p_zero_and_test_mode_are_the_identity(rng):
    x = rng.standard_normal((3, 4))
    out, _ = layers.dropout_forward(x, {"p": 0.0, "mode": "train", "seed": 0})
    np.testing.assert_array_equal(out, x)
    out, cache = layers.dropout_forward(x, {"p": 0.7, "mode": "test"})
    np.testing.assert_array_equal(out, x)
    assert cache[1] is None
    np.testing.assert_array_equal(layers.dropout_backward(x, cache), x)


def test_dropout_backward_is_the_mask(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    out, cache = layers.dropout_forward(x, {"p": 0.4, "mode": "train", "seed": 3})
    dout = rng.standard_normal((4, 5)).astype(np.float32)
    dx = layers.dropout_backward(dout, cache)
    assert out.dtype == np.float32 and dx.dtype == np.float32
    kept = out != 0
    np.testing.assert_allclose(dx[kept], dout[kept] / 0.6, rtol=1e-6)
    assert np.all(dx[~kept] == 0)


# -- losses ------------------------------------------------------------------------------


def test_svm_loss_closed_form():
    x = np.array([[3.0, 1.0, 2.5], [0.0, 2.0, 1.0]])
    y = np.array([0, 2])
    loss, dx = layers.svm_loss(x, y)
    # row 0: margins max(0, 1 - 3 + 1) = 0, max(0, 2.5 - 3 + 1) = 0.5
    # row 1: max(0, 0 - 1 + 1) = 0 (at the kink: no contribution), max(0, 2 - 1 + 1) = 2
    assert loss == pytest.approx((0.5 + 2.0) / 2)
    np.testing.assert_allclose(dx, [[-0.5, 0.0, 0.5], [0.0, 0.5, -0.5]])


def test_svm_loss_gradient_matches_finite_differences(rng):
    x = 0.3 * rng.integers(-10, 11, size=(4, 5)) + rng.standard_normal((4, 1))
    y = np.array([0, 4, 2, 2])
    _, dx = layers.svm_loss(x, y)
    np.testing.assert_allclose(
        dx, numeric_gradient(lambda v: layers.svm_loss(v, y)[0], x, 1.0), atol=1e-8
    )


def test_softmax_loss_closed_form():
    C = 7
    loss, dx = layers.softmax_loss(np.zeros((3, C)), np.array([0, 3, 6]))
    assert loss == pytest.approx(np.log(C))
    expected = np.full((3, C), 1 / C)
    expected[[0, 1, 2], [0, 3, 6]] -= 1
    np.testing.assert_allclose(dx, expected / 3)


def test_softmax_loss_gradient_matches_finite_differences(rng):
    x = 2.0 * rng.standard_normal((4, 5))
    y = np.array([1, 0, 4, 4])
    _, dx = layers.softmax_loss(x, y)
    np.testing.assert_allclose(
        dx, numeric_gradient(lambda v: layers.softmax_loss(v, y)[0], x, 1.0), rtol=1e-6
    )


def test_softmax_loss_is_stable_for_huge_scores():
    x = np.array([[1e4, 0.0, -1e4], [5e3, 5e3, 0.0]])
    loss, dx = layers.softmax_loss(x, np.array([0, 1]))
    assert loss == pytest.approx(np.log(2) / 2)
    assert np.all(np.isfinite(dx))


def test_losses_keep_float32(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = np.array([0, 1, 3])
    for loss_fn in (layers.svm_loss, layers.softmax_loss):
        loss, dx = loss_fn(x, y)
        assert np.result_type(loss) == np.float32
        assert dx.dtype == np.float32
