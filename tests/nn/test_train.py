"""Solver: minibatch training with the tape, histories, best parameters, progress bar."""

import io

import numpy as np
import pytest

from tapegrad import optim
from tapegrad.nn import FullyConnectedNet, Solver
from tapegrad.nn.train import ProgressBar


def blobs(seed=0, N=300, D=6, C=3):
    """C well separated Gaussian clusters: a net should classify them almost perfectly."""
    rng = np.random.default_rng(seed)
    centers = 3.0 * rng.standard_normal((C, D))
    y = rng.integers(0, C, size=N)
    X = centers[y] + rng.standard_normal((N, D))
    return X, y


def make_solver(epochs=4, **options):
    X, y = blobs()
    data = {"X_train": X[:240], "y_train": y[:240], "X_val": X[240:], "y_val": y[240:]}
    model = FullyConnectedNet(
        [16], input_dim=6, num_classes=3, normalization="batchnorm", dropout=0.1, seed=0
    )
    options = {
        "update_rule": "adam",
        "optim_config": {"learning_rate": 1e-2},
        "batch_size": 32,
        "num_epochs": epochs,
        "verbose": False,
        "seed": 0,
        **options,
    }
    return Solver(model, data, **options)


def test_training_lowers_the_loss_and_learns():
    solver = make_solver(epochs=5).train()
    per_epoch = len(solver.loss_history) // 5
    assert len(solver.loss_history) == 5 * 8 and per_epoch == 8
    first, last = np.mean(solver.loss_history[:4]), np.mean(solver.loss_history[-4:])
    assert last < 0.5 * first
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 5
    assert solver.best_val_acc >= 0.9


def test_best_parameters_are_restored():
    solver = make_solver(epochs=3).train()
    assert solver.best_val_acc == max(solver.val_acc_history)
    for name, value in solver.best_params.items():
        np.testing.assert_array_equal(solver.model.state_dict()[name], value)
    assert solver.check_accuracy(solver.X_val, solver.y_val) == solver.best_val_acc


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "rmsprop", "adam", optim.Adam])
def test_each_update_rule_and_learning_rate_decay(rule):
    solver = make_solver(epochs=2, update_rule=rule, lr_decay=0.5)
    start = solver.optimizer.learning_rate
    solver.train()
    assert solver.optimizer.learning_rate == pytest.approx(start * 0.25)
    assert np.all(np.isfinite(solver.loss_history))


def test_verbose_prints_one_line_per_epoch():
    stream = io.StringIO()
    make_solver(epochs=2, verbose=True, stream=stream).train()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("(epoch 2 / 2)") and "val acc" in lines[1]


def test_bad_solver_arguments():
    X, y = blobs(N=20)
    model = FullyConnectedNet([4], input_dim=6, num_classes=3)
    data = {"X_train": X, "y_train": y[:10], "X_val": X, "y_val": y}
    with pytest.raises(ValueError, match="matching N"):
        Solver(model, data)
    data["y_train"] = y
    with pytest.raises(ValueError, match="update_rule 'adagrad'"):
        Solver(model, data, update_rule="adagrad")


def test_text_progress_bar_without_tqdm(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    stream = io.StringIO()
    bar = ProgressBar(20, "training", stream=stream)
    for i in range(20):
        bar.update(1, f"loss {i}")
    bar.close()
    lines = stream.getvalue().splitlines()
    # Not a terminal: one line per tenth, ending full.
    assert len(lines) == 10
    assert lines[-1] == "training [" + "#" * 30 + "] 20/20 loss 19"
    assert lines[0].startswith("training [###...")


def test_a_model_missing_part_of_the_protocol_is_named_when_the_solver_is_built():
    class Half:
        def parameters(self):
            return []

        def loss(self, X, y=None):
            return None

    data = {"X_train": np.zeros((4, 2)), "y_train": np.zeros(4, int)}
    data |= {"X_val": np.zeros((2, 2)), "y_val": np.zeros(2, int)}
    with pytest.raises(TypeError, match="lacks predict, state_dict, load_state_dict"):
        Solver(Half(), data)


def test_print_every_prints_the_loss_like_cs231n(capsys):
    rng = np.random.default_rng(0)
    data = {
        "X_train": rng.standard_normal((40, 4)),
        "y_train": rng.integers(0, 3, 40),
        "X_val": rng.standard_normal((10, 4)),
        "y_val": rng.integers(0, 3, 10),
    }
    model = FullyConnectedNet([5], input_dim=4, num_classes=3, seed=0)
    Solver(model, data, batch_size=10, num_epochs=2, print_every=3, verbose=True).train()
    lines = [line for line in capsys.readouterr().out.splitlines() if "Iteration" in line]
    assert [line.split(")")[0] for line in lines] == ["(Iteration 3 / 8", "(Iteration 6 / 8"]


def test_the_progress_bar_ends_on_the_last_epochs_figures():
    stream = io.StringIO()
    bar = ProgressBar(4, "training", stream=stream)
    bar._tqdm = None  # the text bar (tqdm draws its own)
    for _ in range(4):
        bar.update(1, "val acc 0.100")
    bar.update(0, "val acc 0.900")  # what Solver.train does once an epoch's figures are in
    assert stream.getvalue().splitlines()[-1].endswith("val acc 0.900")
