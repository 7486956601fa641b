"""tg.nn.functional: fused primitives vs the same formulas composed from elementary ops,
both against finite differences to second order."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import functional, layers
from tapegrad.testing import check_grads

RNG = np.random.default_rng(42)
LABELS = np.array([1, 0, 4, 4])


def one_hot(y, C):
    return (np.arange(C) == y[:, None]).astype(np.float64)


# -- the same formulas from elementary tapegrad ops --------------------------------------


def affine_composite(x, w, b):
    return np.reshape(x, (np.shape(x)[0], np.shape(w)[0])) @ w + b


def relu_composite(x):
    return np.maximum(x, 0.0)


def batchnorm_train_composite(x, gamma, beta):
    return gamma * (x - np.mean(x, axis=0)) / np.sqrt(np.var(x, axis=0) + 1e-5) + beta


BN_MEAN = RNG.standard_normal(3)
BN_VAR = RNG.uniform(0.5, 2.0, 3)


def batchnorm_test_composite(x, gamma, beta):
    return gamma * (x - BN_MEAN) / np.sqrt(BN_VAR + 1e-5) + beta


def dropout_composite(x):
    keep = np.random.default_rng(11).random(np.shape(x)) >= 0.3
    return x * (keep / 0.7)


def svm_composite(x):
    N, C = np.shape(x)
    correct = x[np.arange(N), LABELS]
    margins = np.maximum(0.0, x - np.reshape(correct, (N, 1)) + 1.0)
    return np.sum(margins * (1.0 - one_hot(LABELS, C))) / N


def softmax_composite(x):
    N = np.shape(x)[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs[np.arange(N), LABELS]) / N


# -- the fused primitives, as functions of their float inputs ------------------------------


def batchnorm_train_fused(x, gamma, beta):
    return functional.batchnorm(x, gamma, beta, {"mode": "train"})


def batchnorm_test_fused(x, gamma, beta):
    bn_param = {"mode": "test", "running_mean": BN_MEAN, "running_var": BN_VAR}
    return functional.batchnorm(x, gamma, beta, bn_param)


def dropout_fused(x):
    return functional.dropout(x, {"p": 0.3, "mode": "train", "seed": 11})


def svm_fused(x):
    return functional.svm_loss(x, LABELS)


def softmax_fused(x):
    return functional.softmax_loss(x, LABELS)


def kinkfree(shape):
    x = RNG.standard_normal(shape)
    return np.where(x >= 0, x + 0.1, x - 0.1)


CASES = {
    "affine": (
        functional.affine,
        affine_composite,
        [RNG.standard_normal((3, 2, 2)), RNG.standard_normal((4, 5)), RNG.standard_normal(5)],
    ),
    "relu": (functional.relu, relu_composite, [kinkfree((3, 4))]),
    "batchnorm_train": (
        batchnorm_train_fused,
        batchnorm_train_composite,
        [RNG.standard_normal((5, 3)), RNG.standard_normal(3), RNG.standard_normal(3)],
    ),
    "batchnorm_test": (
        batchnorm_test_fused,
        batchnorm_test_composite,
        [RNG.standard_normal((5, 3)), RNG.standard_normal(3), RNG.standard_normal(3)],
    ),
    "dropout": (dropout_fused, dropout_composite, [RNG.standard_normal((4, 6))]),
    # Scores on a 0.3 grid plus a row shift: every margin is >= 0.1 from the hinge.
    "svm_loss": (
        svm_fused,
        svm_composite,
        [0.3 * RNG.integers(-10, 11, size=(4, 5)) + RNG.standard_normal((4, 1))],
    ),
    "softmax_loss": (softmax_fused, softmax_composite, [2.0 * RNG.standard_normal((4, 5))]),
}


def cotangent_for(out):
    return np.random.default_rng(5).standard_normal(np.shape(out))


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_and_composite_agree_in_value_and_gradient(case):
    fused, composite, args = CASES[case]
    fused_out, fused_vjp = tg.vjp(fused, *args)
    composite_out, composite_vjp = tg.vjp(composite, *args)
    np.testing.assert_allclose(fused_out, composite_out, rtol=1e-10, atol=1e-12)
    cotangent = cotangent_for(fused_out)
    for fused_grad, composite_grad in zip(fused_vjp(cotangent), composite_vjp(cotangent)):
        np.testing.assert_allclose(fused_grad, composite_grad, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_matches_finite_differences_to_second_order(case):
    fused, _, args = CASES[case]
    check_grads(fused, *args, order=2)


@pytest.mark.parametrize("case", sorted(CASES))
def test_composite_matches_finite_differences_to_second_order(case):
    _, composite, args = CASES[case]
    check_grads(composite, *args, order=2)


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_stays_float32(case):
    fused, _, args = CASES[case]
    args32 = [tg.tensor(a.astype(np.float32), requires_grad=True) for a in args]
    out = fused(*args32)
    assert out.dtype == np.float32
    (out * cotangent_for(out).astype(np.float32)).sum().backward()
    assert all(a.grad.dtype == np.float32 for a in args32)


@pytest.mark.parametrize(
    ("primitive", "backward_name"),
    [
        ("affine", "affine_backward"),
        ("relu", "relu_backward"),
        ("batchnorm_op", "batchnorm_backward"),
        ("dropout_op", "dropout_backward"),
    ],
)
def test_rules_call_the_layers_backward(monkeypatch, primitive, backward_name):
    calls = []
    original = getattr(layers, backward_name)

    def counting(*args, **kwargs):
        calls.append(backward_name)
        return original(*args, **kwargs)

    monkeypatch.setattr(layers, backward_name, counting)
    case = {"affine": "affine", "relu": "relu", "batchnorm_op": "batchnorm_train"}.get(
        primitive, "dropout"
    )
    fused, _, args = CASES[case]
    tg.grad(lambda *xs: np.sum(fused(*xs) ** 2))(*args)
    assert calls == [backward_name]


# -- state, seeds and higher order -----------------------------------------------------------


def test_losses_are_0d_tensors_and_labels_get_no_gradient():
    scores = tg.tensor(RNG.standard_normal((4, 5)), requires_grad=True)
    for loss_fn in (functional.svm_loss, functional.softmax_loss):
        loss = loss_fn(scores, LABELS)
        assert isinstance(loss, tg.Tensor) and loss.shape == ()
        assert loss.item() == pytest.approx(float(getattr(layers, loss_fn.name)(
            scores.data, LABELS)[0]))  # fmt: skip
    grads = tg.grad(functional.softmax_loss, argnums=0)(scores.data, LABELS)
    assert grads.shape == (4, 5)


def test_batchnorm_updates_running_statistics_once_per_forward():
    x = tg.tensor(RNG.standard_normal((6, 3)), requires_grad=True)
    gamma = tg.tensor(np.ones(3), requires_grad=True)
    beta = tg.tensor(np.zeros(3), requires_grad=True)
    bn_param = {"mode": "train"}
    out = functional.batchnorm(x, gamma, beta, bn_param)
    expected_mean = 0.1 * x.data.mean(axis=0)
    np.testing.assert_allclose(bn_param["running_mean"], expected_mean)
    # Rebuilding the cache for second order must not touch the statistics again.
    np.sum(out * out * out).backward(create_graph=True)
    np.sum(x.grad * x.grad).backward()
    np.testing.assert_allclose(bn_param["running_mean"], expected_mean)
    np.testing.assert_allclose(bn_param["running_var"], 0.1 * x.data.var(axis=0))


def test_batchnorm_second_order_uses_the_statistics_of_its_own_forward():
    x = RNG.standard_normal((5, 3))
    gamma, beta = RNG.standard_normal(3), RNG.standard_normal(3)
    bn_param = {"mode": "test", "running_mean": BN_MEAN, "running_var": BN_VAR}
    xt = tg.tensor(x, requires_grad=True)
    out = functional.batchnorm(xt, gamma, beta, bn_param)
    # The same dict goes on to train mode before the backward pass.
    functional.batchnorm(10.0 * x + 3.0, gamma, beta, {**bn_param, "mode": "train"})
    bn_param["running_var"] = 100 * BN_VAR
    np.sum(out**3).backward(create_graph=True)
    hvp_direction = RNG.standard_normal((5, 3))
    first = xt.grad
    xt.grad = None
    np.sum(first * hvp_direction).backward()
    # Closed form of the test-mode Hessian: out = a * x + c, d/dx sum(out**3) = 3 a out**2,
    # whose derivative along v is 6 a**2 out v.
    a = gamma / np.sqrt(BN_VAR + 1e-5)
    np.testing.assert_allclose(first.data, 3 * a * out.data**2, rtol=1e-10)
    np.testing.assert_allclose(xt.grad, 6 * a**2 * out.data * hvp_direction, rtol=1e-10)


def test_hessian_vector_products_through_a_batchnorm_net():
    X = RNG.standard_normal((6, 4))
    y = np.array([0, 1, 2, 0, 1, 2])

    def net_loss(W1, gamma, W2):
        h = functional.affine(X, W1, np.zeros(5))
        h = functional.batchnorm(h, gamma, np.zeros(5), {"mode": "train"})
        h = functional.relu(h)
        return functional.softmax_loss(functional.affine(h, W2, np.zeros(3)), y)

    W1 = RNG.standard_normal((4, 5))
    gamma = RNG.uniform(0.5, 1.5, 5)
    W2 = RNG.standard_normal((5, 3))
    # No pre-activation may sit at relu's kink for finite differences.
    h = layers.batchnorm_forward(X @ W1, gamma, np.zeros(5), {"mode": "train"})[0]
    assert np.min(np.abs(h)) > 1e-3
    check_grads(net_loss, W1, gamma, W2, order=2)


def test_dropout_without_seed_is_fresh_each_call_and_differentiable_twice():
    x = tg.tensor(RNG.standard_normal((20, 30)) + 5.0, requires_grad=True)
    state = np.random.get_state()
    out = functional.dropout(x, {"p": 0.5, "mode": "train"})
    other = functional.dropout(x, {"p": 0.5, "mode": "train"})
    assert not np.array_equal(out.data, other.data)
    assert np.array_equal(np.random.get_state()[1], state[1])
    mask = out.data / x.data  # x is far from 0
    np.sum(out * out).backward(create_graph=True)
    first = x.grad
    np.testing.assert_allclose(first.data, 2 * mask**2 * x.data, rtol=1e-10)
    direction = RNG.standard_normal((20, 30))
    x.grad = None
    np.sum(first * direction).backward()
    # The rebuilt mask is the forward's mask: the Hessian is diag(2 mask**2).
    np.testing.assert_allclose(x.grad, 2 * mask**2 * direction, rtol=1e-10)


def test_dropout_test_mode_is_the_identity_with_identity_gradient():
    x = tg.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    out = functional.dropout(x, {"p": 0.9, "mode": "test"})
    np.testing.assert_array_equal(out.data, x.data)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((3, 4)))


# -- the domains the registry-wide property test draws from -----------------------------------

NN_PRIMITIVES = ["affine", "relu", "batchnorm_op", "dropout_op", "svm_loss", "softmax_loss"]


@pytest.mark.parametrize("name", NN_PRIMITIVES)
def test_each_primitive_is_registered_with_a_domain(name):
    prim = tg.primitives()[name]
    assert prim.domain is not None and prim.vjp is not None


@pytest.mark.parametrize("name", [n for n in NN_PRIMITIVES if n != "relu"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_domain_samples_pass_second_order_checks(name, dtype):
    prim = tg.primitives()[name]
    rng = np.random.default_rng(0)
    for _ in range(6):
        args, kwargs = prim.domain.sample(rng, np.dtype(dtype))
        again, _ = prim.domain.sample(np.random.default_rng(1), np.dtype(dtype))
        states = [a for a in args if isinstance(a, dict)]
        assert all(s is not t for s in states for t in again)  # a fresh dict per sample
        floats = [
            i
            for i, a in enumerate(args)
            if isinstance(a, np.ndarray) and a.dtype.kind == "f" and i not in prim.nondiff
        ]
        assert all(args[i].dtype == dtype for i in floats)

        def f(*xs, args=args, floats=floats, kwargs=kwargs):
            full = list(args)
            for i, x in zip(floats, xs):
                full[i] = x
            return prim(*full, **kwargs)

        first = np.asarray(f(*[args[i] for i in floats]))
        second = np.asarray(f(*[args[i] for i in floats]))
        np.testing.assert_array_equal(first, second)  # repeated calls agree
        check_grads(f, *[args[i] for i in floats], order=2)


def test_affine_skips_dx_for_a_constant_input_and_keeps_dw_db():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    wt, bt = tg.tensor(w, requires_grad=True), tg.tensor(b, requires_grad=True)
    tg.sum(functional.affine(x, wt, bt) ** 2).backward()
    out = x @ w + b
    np.testing.assert_allclose(wt.grad, x.T @ (2 * out))
    np.testing.assert_allclose(bt.grad, (2 * out).sum(0))
    _, _, db = tg.nn.layers.affine_backward(2 * out, (x, w, b), need_dx=False)
    assert tg.nn.layers.affine_backward(2 * out, (x, w, b), need_dx=False)[0] is None
    np.testing.assert_allclose(db, bt.grad)


@pytest.mark.parametrize("order", [1, 2])
def test_changing_dropout_param_after_the_forward_does_not_change_the_gradient(order):
    x = tg.tensor(np.full((4, 5), 2.0), requires_grad=True)
    param = {"p": 0.5, "mode": "train", "seed": 3}
    out = functional.dropout(x, param)
    mask = out.data / 2.0
    param["mode"] = "test"
    param["seed"] = 7
    if order == 1:
        tg.sum(out).backward()
        np.testing.assert_array_equal(x.grad, mask)
    else:
        np.sum(out * out).backward(create_graph=True)
        first = x.grad
        x.grad = None
        tg.sum(first).backward()
        np.testing.assert_array_equal(x.grad, 2.0 * mask**2)
