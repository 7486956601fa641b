"""FullyConnectedNet: shapes, a loss the tape differentiates, regularization, save/load."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import FullyConnectedNet, functional


def small_batch(seed=0, N=6, D=4, C=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, D)), rng.integers(0, C, size=N)


def test_parameters_names_shapes_and_dtype():
    model = FullyConnectedNet([5, 6], input_dim=4, num_classes=3, normalization="batchnorm")
    shapes = {name: p.shape for name, p in model.params.items()}
    assert shapes == {
        "W1": (4, 5),
        "b1": (5,),
        "gamma1": (5,),
        "beta1": (5,),
        "W2": (5, 6),
        "b2": (6,),
        "gamma2": (6,),
        "beta2": (6,),
        "W3": (6, 3),
        "b3": (3,),
    }
    assert all(p.dtype == np.float32 and p.requires_grad for p in model.parameters())
    np.testing.assert_array_equal(model.params["gamma1"].data, np.ones(5))


def test_scores_without_labels_and_a_loss_tensor_with_them():
    X, y = small_batch()
    model = FullyConnectedNet([5], input_dim=4, num_classes=3, dtype=np.float64, seed=0)
    scores = model.loss(X)
    assert isinstance(scores, np.ndarray) and scores.shape == (6, 3)
    loss = model.loss(X, y)
    assert isinstance(loss, tg.Tensor) and loss.shape == ()
    # The same number from the layers by hand.
    p = {name: t.data for name, t in model.params.items()}
    hidden = np.maximum(0, X @ p["W1"] + p["b1"])
    expected = functional.softmax_loss(hidden @ p["W2"] + p["b2"], y)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(scores, hidden @ p["W2"] + p["b2"], rtol=1e-12)


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_tape_gradients_match_finite_differences(normalization):
    X, y = small_batch(N=8)
    model = FullyConnectedNet(
        [5, 4],
        input_dim=4,
        num_classes=3,
        normalization=normalization,
        reg=0.3,
        weight_scale=0.5,
        dtype=np.float64,
        seed=1,
    )
    loss, grads = model.loss_and_grads(X, y)
    assert set(grads) == set(model.params)
    eps = 1e-6
    for name, p in model.params.items():
        original = p.data
        numeric = np.zeros_like(original)
        for index in np.ndindex(original.shape):
            values = []
            for step in (eps, -eps):
                shifted = np.array(original)
                shifted[index] += step
                p.data = shifted
                values.append(model.loss(X, y).item())
            numeric[index] = (values[0] - values[1]) / (2 * eps)
        p.data = original
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)
    assert model.loss(X, y).item() == pytest.approx(loss, rel=1e-12)


def test_regularization_adds_half_reg_times_squared_weights():
    X, y = small_batch()
    plain = FullyConnectedNet([5], input_dim=4, num_classes=3, dtype=np.float64, seed=3)
    regularized = FullyConnectedNet(
        [5], input_dim=4, num_classes=3, reg=0.7, dtype=np.float64, seed=3
    )
    penalty = 0.5 * 0.7 * sum(np.sum(plain.params[w].data ** 2) for w in ("W1", "W2"))
    assert regularized.loss(X, y).item() == pytest.approx(plain.loss(X, y).item() + penalty)


def test_dropout_masks_are_fixed_by_the_seed_and_off_in_test_mode():
    X, y = small_batch()
    a = FullyConnectedNet([20], input_dim=4, num_classes=3, dropout=0.5, seed=4)
    b = FullyConnectedNet([20], input_dim=4, num_classes=3, dropout=0.5, seed=4)
    assert a.loss(X, y).item() == b.loss(X, y).item()
    losses = {a.loss(X, y).item() for _ in range(5)}
    assert len(losses) > 1  # each training step draws a new mask
    np.testing.assert_array_equal(a.loss(X), a.loss(X))  # test mode: no dropout


def test_batchnorm_running_statistics_are_updated_in_train_mode_only():
    X, y = small_batch()
    model = FullyConnectedNet([5], input_dim=4, num_classes=3, normalization="batchnorm", seed=0)
    model.loss(X)  # test mode before any training uses (and keeps) no statistics
    assert "running_mean" in model.bn_params[0]
    np.testing.assert_array_equal(model.bn_params[0]["running_mean"], np.zeros(5))
    model.loss(X, y)
    assert np.any(model.bn_params[0]["running_mean"] != 0)


def test_save_and_load_round_trip(tmp_path):
    X, y = small_batch(N=10)
    model = FullyConnectedNet(
        [5, 4], input_dim=4, num_classes=3, normalization="batchnorm", dropout=0.2, seed=0
    )
    for _ in range(3):
        model.loss(X, y)  # move the running statistics away from zero
    path = tmp_path / "params.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == set(model.state_dict())
    other = FullyConnectedNet(
        [5, 4], input_dim=4, num_classes=3, normalization="batchnorm", dropout=0.2, seed=9
    )
    assert not np.array_equal(other.loss(X), model.loss(X))
    other.load(path)
    np.testing.assert_array_equal(other.loss(X), model.loss(X))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[name], value)
    assert all(p.requires_grad and p.dtype == np.float32 for p in other.parameters())


def test_load_rejects_a_different_architecture(tmp_path):
    path = tmp_path / "params.npz"
    FullyConnectedNet([5], input_dim=4, num_classes=3).save(path)
    with pytest.raises(ValueError, match=r"W1 has shape \(4, 5\).*\(4, 6\)"):
        FullyConnectedNet([6], input_dim=4, num_classes=3).load(path)
    with pytest.raises(ValueError, match=r"missing.*W3"):
        FullyConnectedNet([5, 5], input_dim=4, num_classes=3).load(path)


def test_bad_model_options():
    with pytest.raises(ValueError, match="normalization"):
        FullyConnectedNet([5], input_dim=4, num_classes=3, normalization="layernorm")
    with pytest.raises(ValueError, match="dropout"):
        FullyConnectedNet([5], input_dim=4, num_classes=3, dropout=1.0)


def _trained_bn_model(seed):
    model = FullyConnectedNet([5], input_dim=4, num_classes=3, normalization="batchnorm", seed=seed)
    X, y = small_batch(seed)
    model.loss(X, y)  # fills the running statistics
    return model


def test_a_failed_load_leaves_the_model_as_it_was():
    model = _trained_bn_model(0)
    before = model.state_dict()
    bad = _trained_bn_model(1).state_dict()
    bad["bn1.running_var"] = np.ones(7)  # wrong shape, checked after the parameters
    with pytest.raises(ValueError, match=r"bn1\.running_var"):
        model.load_state_dict(bad)
    after = model.state_dict()
    assert before.keys() == after.keys()
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])


def test_load_refuses_complex_values():
    model = FullyConnectedNet([5], input_dim=4, num_classes=3)
    state = model.state_dict()
    state["W1"] = state["W1"] + 1j
    with pytest.raises(TypeError, match="complex"):
        model.load_state_dict(state)


def test_save_and_load_take_the_same_path_with_or_without_npz(tmp_path):
    model = FullyConnectedNet([5], input_dim=4, num_classes=3, seed=0)
    model.save(tmp_path / "model")
    assert (tmp_path / "model.npz").exists()
    other = FullyConnectedNet([5], input_dim=4, num_classes=3, seed=1)
    other.load(tmp_path / "model")
    np.testing.assert_array_equal(other.params["W1"].data, model.params["W1"].data)


def test_a_save_that_fails_part_way_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = FullyConnectedNet([5], input_dim=4, num_classes=3, seed=0)
    model.save(tmp_path / "model.npz")
    saved = (tmp_path / "model.npz").read_bytes()

    def disk_full(file, **arrays):
        file.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space"):
        FullyConnectedNet([5], input_dim=4, num_classes=3, seed=1).save(tmp_path / "model.npz")
    assert (tmp_path / "model.npz").read_bytes() == saved
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no partial file left
