"""``python -m tapegrad demo``: train the seed's layers on handwritten digits.

A batchnorm + dropout net learns scikit-learn's bundled 8x8 digits (no
download), the curves go to a PNG, and the seed's primitives are checked
against finite differences. Needs the ``demo`` extra (scikit-learn and
matplotlib): ``pip install -e ".[demo]"`` in a tapegrad checkout.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

import numpy as np

from ..core.tensor import Tensor
from . import functional
from .models import FullyConnectedNet
from .train import Solver

__all__ = ["main", "fit", "load_digits_split", "plot_curves", "gradient_check_table"]

ACCURACY_BAR = 0.95
MISSING_EXTRA = (
    "the demo needs scikit-learn and matplotlib (the 'demo' extra); in a tapegrad checkout:\n"
    '    pip install -e ".[demo]"\n'
    "or: pip install scikit-learn matplotlib"
)


def load_digits_split(val_fraction=0.2, seed=0):
    """scikit-learn's digits as (X_train, y_train, X_val, y_val), scaled to [0, 1] and centered."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data.astype(np.float32) / 16.0
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    n_val = round(val_fraction * len(X))
    val, train = order[:n_val], order[n_val:]
    mean = X[train].mean(axis=0)
    return X[train] - mean, y[train], X[val] - mean, y[val]


def fit(
    X_train,
    y_train,
    X_val,
    y_val,
    *,
    hidden_dims=(128, 64),
    dropout=0.1,
    reg=1e-4,
    epochs=20,
    batch_size=64,
    learning_rate=5e-3,
    lr_decay=0.95,
    seed=0,
    progress=True,
    verbose=False,
    compile=True,  # noqa: A002  (Solver's option)
):
    """Train a batchnorm + dropout FullyConnectedNet with Adam; returns the trained Solver.

    ``compile``: each training step runs through ``tg.compile`` (the same
    parameters as eager steps; see :func:`step_speed`).
    """
    X_train = np.asarray(X_train, dtype=np.float32)
    num_classes = int(max(np.max(y_train), np.max(y_val))) + 1
    model = FullyConnectedNet(
        hidden_dims,
        input_dim=X_train.shape[1],
        num_classes=num_classes,
        dropout=dropout,
        normalization="batchnorm",
        reg=reg,
        dtype=np.float32,
        seed=seed,
    )
    data = {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}
    solver = Solver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": learning_rate},
        lr_decay=lr_decay,
        batch_size=batch_size,
        num_epochs=epochs,
        num_train_samples=1000,
        progress=progress,
        verbose=verbose,
        seed=seed,
        compile=compile,
    )
    return solver.train()


def step_speed(model, X, y, repeats=30):
    """``(eager_ms, compiled_ms, identical)`` for one forward+backward of ``model`` on a batch.

    Both run from the same parameters, batchnorm statistics and dropout
    generator state; ``identical`` says whether the loss and every gradient
    came out bit for bit the same.
    """
    import copy

    from ..compile import compile as tg_compile
    from ..transforms import value_and_grad

    # Two copies of the model (parameters, batchnorm statistics, dropout
    # generator), one per route, each taking the same steps.
    eager_model, compiled_model = copy.deepcopy(model), copy.deepcopy(model)
    eager = value_and_grad(lambda params, X, y: eager_model.loss(X, y, params=params))
    compiled = tg_compile(
        value_and_grad(lambda params, X, y: compiled_model.loss(X, y, params=params))
    )
    arrays = {k: np.array(p.data) for k, p in model.params.items()}
    eager(arrays, X, y)
    compiled(arrays, X, y)  # the trace (an eager step itself)
    eager_result, compiled_result = eager(arrays, X, y), compiled(arrays, X, y)
    identical = eager_result[0] == compiled_result[0] and all(
        np.array_equal(eager_result[1][k], compiled_result[1][k]) for k in arrays
    )
    times = {}
    for name, step in (("eager", eager), ("compiled", compiled)):
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            step(arrays, X, y)
            samples.append(time.perf_counter() - start)
        times[name] = 1e3 * float(np.median(samples))
    return times["eager"], times["compiled"], identical


def plot_curves(solver, path):
    """Write the loss (per iteration) and accuracy (per epoch) curves to ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    loss = np.asarray(solver.loss_history)
    iterations = np.arange(1, len(loss) + 1)
    ax_loss.plot(iterations, loss, color="tab:blue", alpha=0.35, linewidth=0.8, label="minibatch")
    window = max(1, len(loss) // 40)
    if len(loss) >= window:
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax_loss.plot(iterations[window - 1 :], smooth, color="tab:blue", label="moving average")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("training loss (cross entropy + L2)")
    ax_loss.set_title("Loss")
    ax_loss.legend()
    epochs = np.arange(1, len(solver.val_acc_history) + 1)
    ax_acc.plot(epochs, solver.train_acc_history, marker="o", markersize=3, label="train")
    ax_acc.plot(epochs, solver.val_acc_history, marker="o", markersize=3, label="validation")
    ax_acc.axhline(ACCURACY_BAR, color="gray", linestyle="--", linewidth=0.8, label="0.95")
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_title("Accuracy")
    ax_acc.legend(loc="lower right")
    fig.suptitle("tapegrad: batchnorm + dropout net on scikit-learn digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- gradient self-check: fused primitives against central differences -----------------


def _numeric_gradient(f, args, position, eps=1e-6):
    x = np.array(args[position], dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        shifted = list(args)
        plus, minus = x.copy(), x.copy()
        plus[index] += eps
        minus[index] -= eps
        shifted[position] = plus
        f_plus = f(*shifted)
        shifted[position] = minus
        f_minus = f(*shifted)
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def _relative_error(analytic, numeric):
    # Relative to the largest derivative: elementwise ratios blow up on
    # entries that are zero up to rounding.
    scale = max(float(np.max(np.abs(numeric))), 1e-12)
    return float(np.max(np.abs(analytic - numeric))) / scale


def _check_cases(rng):
    """(name, function of float64 arrays -> Tensor, inputs, names of the float inputs)."""
    x4 = rng.standard_normal((4, 5))
    labels = rng.integers(0, 5, size=4)
    kinkfree = np.where(x4 >= 0, x4 + 0.1, x4 - 0.1)
    grid = 0.3 * rng.integers(-10, 11, size=(4, 5)) + rng.standard_normal((4, 1))

    def affine(x, w, b):
        return functional.affine(x, w, b)

    def batchnorm(x, gamma, beta):
        return functional.batchnorm(x, gamma, beta, {"mode": "train"})

    def dropout(x):
        return functional.dropout(x, {"mode": "train", "p": 0.3, "seed": 7})

    def svm(x):
        return functional.svm_loss(x, labels)

    def softmax(x):
        return functional.softmax_loss(x, labels)

    return [
        ("affine", affine, [rng.standard_normal((3, 2, 2)), x4, rng.standard_normal(5)],
         ["x", "w", "b"]),
        ("relu", functional.relu, [kinkfree], ["x"]),
        ("batchnorm", batchnorm, [x4, rng.standard_normal(5), rng.standard_normal(5)],
         ["x", "gamma", "beta"]),
        ("dropout", dropout, [x4], ["x"]),
        ("svm_loss", svm, [grid], ["scores"]),
        ("softmax_loss", softmax, [x4], ["scores"]),
    ]  # fmt: skip


def gradient_check_table(seed=0):
    """Rows ``(primitive, input, relative error)``: tape gradients vs finite differences.

    The error is the largest absolute difference over the largest derivative.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for name, f, args, input_names in _check_cases(rng):
        out = f(*args)
        cotangent = rng.standard_normal(np.shape(out))

        def projected(*xs, f=f, cotangent=cotangent):
            return float(np.sum(np.asarray(f(*xs)) * cotangent))

        leaves = [Tensor(a, requires_grad=True) for a in args]
        (f(*leaves) * cotangent).sum().backward()
        for position, input_name in enumerate(input_names):
            numeric = _numeric_gradient(projected, args, position)
            rows.append((name, input_name, _relative_error(leaves[position].grad, numeric)))
    return rows


def format_table(rows, tolerance=1e-6):
    lines = [f"{'primitive':<14}{'input':<8}{'rel error':>15}  ok", "-" * 42]
    for name, input_name, error in rows:
        mark = "yes" if error < tolerance else "NO"
        lines.append(f"{name:<14}{input_name:<8}{error:>15.2e}  {mark}")
    return "\n".join(lines)


def _single_threaded_blas():
    """One BLAS thread: the demo's matrices are tiny, and on a busy machine a
    thread pool costs far more than it saves (ten times, measured on 2 cores).
    threadpoolctl comes with scikit-learn."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m tapegrad demo",
        description="Train a batchnorm + dropout net on scikit-learn's digits with tapegrad.",
    )
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    parser.add_argument(
        "--out", default="tapegrad-demo.png", help="PNG file for the curves (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for split, init and dropout")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Run the demo; 0 on success, 1 below the accuracy bar or on a failed check, 2 if unusable."""
    args = _parse(sys.argv[1:] if argv is None else list(argv))
    try:
        import matplotlib  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as error:
        print(f"tapegrad demo: {error}\n{MISSING_EXTRA}", file=sys.stderr)
        return 2
    if args.epochs < 1:
        print("tapegrad demo: --epochs must be at least 1", file=sys.stderr)
        return 2

    start = time.perf_counter()
    X_train, y_train, X_val, y_val = load_digits_split(seed=args.seed)
    print(
        f"digits: {len(X_train)} training and {len(X_val)} validation images of "
        f"{X_train.shape[1]} pixels, 10 classes"
    )
    print("model: affine-batchnorm-relu-dropout x 2 (128, 64 units), softmax; Adam")
    with _single_threaded_blas():
        solver = fit(
            X_train,
            y_train,
            X_val,
            y_val,
            epochs=args.epochs,
            seed=args.seed,
            progress=not args.no_progress,
        )
    accuracy = solver.check_accuracy(X_val, y_val)
    print(f"trained in {time.perf_counter() - start:.1f} s (steps compiled with tg.compile)")
    with _single_threaded_blas():
        eager_ms, compiled_ms, identical = step_speed(solver.model, X_train[:64], y_train[:64])
    print(
        f"one training step (batch 64): eager {eager_ms:.2f} ms, tg.compile {compiled_ms:.2f} ms "
        f"({eager_ms / compiled_ms:.1f}x); same loss and gradients bit for bit: "
        f"{'yes' if identical else 'NO'}"
    )
    best_epoch = int(np.argmax(solver.val_acc_history)) + 1
    print(f"final validation accuracy: {accuracy:.4f} (parameters of epoch {best_epoch}, the best)")
    plot_curves(solver, args.out)
    print(f"loss and accuracy curves written to {args.out}")

    print("\ngradient self-check of the seed primitives (tape vs central differences, float64):")
    rows = gradient_check_table(seed=args.seed)
    print(format_table(rows))
    status = 0
    if accuracy < ACCURACY_BAR:
        print(f"validation accuracy {accuracy:.4f} is below {ACCURACY_BAR}", file=sys.stderr)
        status = 1
    if not identical:
        print("the compiled step differs from the eager one", file=sys.stderr)
        status = 1
    if any(error >= 1e-6 for _, _, error in rows):
        print("a gradient check failed", file=sys.stderr)
        status = 1
    return status
