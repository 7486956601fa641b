"""The demo's parts on synthetic data (the digits run needs the optional extra: run it by hand)."""

import sys

import numpy as np

from tapegrad.__main__ import main as tapegrad_main
from tapegrad.nn import demo


def digit_like_blobs(seed=0, N=400, D=16, C=4):
    rng = np.random.default_rng(seed)
    centers = 2.0 * rng.standard_normal((C, D))
    y = rng.integers(0, C, size=N)
    X = (centers[y] + rng.standard_normal((N, D))).astype(np.float32)
    return X[:320], y[:320], X[320:], y[320:]


def test_fit_reaches_high_accuracy_on_separable_data():
    X_train, y_train, X_val, y_val = digit_like_blobs()
    solver = demo.fit(
        X_train, y_train, X_val, y_val, hidden_dims=(32, 16), epochs=10, progress=False
    )
    assert solver.model.normalization == "batchnorm" and solver.model.use_dropout
    assert solver.check_accuracy(X_val, y_val) >= 0.95
    assert np.mean(solver.loss_history[-5:]) < 0.5 * np.mean(solver.loss_history[:5])


def test_fit_is_reproducible_with_a_seed():
    data = digit_like_blobs(seed=1)
    first = demo.fit(*data, hidden_dims=(8,), epochs=1, progress=False, seed=3)
    second = demo.fit(*data, hidden_dims=(8,), epochs=1, progress=False, seed=3)
    assert first.loss_history == second.loss_history


def test_gradient_check_table_covers_every_seed_primitive():
    rows = demo.gradient_check_table(seed=0)
    assert {name for name, _, _ in rows} == {
        "affine",
        "relu",
        "batchnorm",
        "dropout",
        "svm_loss",
        "softmax_loss",
    }
    assert [(name, arg) for name, arg, _ in rows if name in ("affine", "batchnorm")] == [
        ("affine", "x"),
        ("affine", "w"),
        ("affine", "b"),
        ("batchnorm", "x"),
        ("batchnorm", "gamma"),
        ("batchnorm", "beta"),
    ]
    assert all(0 <= error < 1e-6 for _, _, error in rows)
    table = demo.format_table(rows)
    assert table.count("yes") == len(rows) and "NO" not in table


def test_format_table_flags_a_large_error():
    table = demo.format_table([("affine", "x", 1e-9), ("relu", "x", 0.5)])
    assert table.splitlines()[-1].split() == ["relu", "x", "5.00e-01", "NO"]


def test_missing_extra_exits_2_with_the_install_command(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    assert tapegrad_main(["demo", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert 'pip install -e ".[demo]"' in err
