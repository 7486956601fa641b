"""Solver: minibatch training of a classifier whose loss is a Tensor.

The model needs ``parameters()``, ``loss(X, y) -> loss Tensor``,
``loss(X) -> scores`` and ``state_dict()`` / ``load_state_dict()`` (as
:class:`tapegrad.nn.FullyConnectedNet` has). Each iteration: a shuffled
minibatch, ``loss.backward()``, one optimizer step. After each epoch the
learning rate is multiplied by ``lr_decay`` and train/val accuracy are
recorded; the parameters with the best validation accuracy are restored at
the end.
"""

from __future__ import annotations

import sys

import numpy as np

from .. import optim

__all__ = ["Solver", "ProgressBar"]

OPTIMIZERS = {
    "sgd": optim.SGD,
    "sgd_momentum": optim.Momentum,
    "rmsprop": optim.RMSProp,
    "adam": optim.Adam,
}


class ProgressBar:
    """tqdm when it is installed, else a text bar on ``stream`` (stderr by default).

    On a terminal the text bar redraws one line; elsewhere (a log file, CI)
    it prints a line at every tenth of the way, so logs stay short.
    """

    def __init__(self, total, desc="", stream=None, width=30):
        self.total, self.desc, self.width = max(int(total), 1), desc, width
        self.stream = sys.stderr if stream is None else stream
        self.count = 0
        self._printed_tenths = 0
        self._interactive = getattr(self.stream, "isatty", lambda: False)()
        try:
            from tqdm import tqdm
        except ImportError:
            self._tqdm = None
        else:
            self._tqdm = tqdm(total=self.total, desc=desc, file=self.stream)

    def update(self, n=1, postfix=""):
        """Advance by ``n`` (0: only show new figures) with ``postfix`` after the bar."""
        self.count = min(self.count + n, self.total)
        if self._tqdm is not None:
            self._tqdm.set_postfix_str(postfix, refresh=n == 0)
            self._tqdm.update(n)
            return
        tenths = 10 * self.count // self.total
        if self._interactive:
            self.stream.write("\r" + self._line(postfix))
        elif tenths > self._printed_tenths or (n == 0 and self.count == self.total):
            self._printed_tenths = tenths
            self.stream.write(self._line(postfix) + "\n")
        self.stream.flush()

    def _line(self, postfix):
        filled = self.width * self.count // self.total
        bar = "#" * filled + "." * (self.width - filled)
        return f"{self.desc} [{bar}] {self.count}/{self.total} {postfix}".rstrip()

    def close(self):
        if self._tqdm is not None:
            self._tqdm.close()
        elif self._interactive:
            self.stream.write("\n")
            self.stream.flush()


# What the Solver calls on a model (tapegrad.nn.FullyConnectedNet has all of it).
MODEL_PROTOCOL = {
    "parameters": "parameters() -> the Tensors to optimize",
    "loss": "loss(X, y) -> a 0-d loss Tensor (and loss(X) -> scores)",
    "predict": "predict(X, batch_size=...) -> labels",
    "state_dict": "state_dict() -> {name: ndarray} (to keep the best parameters)",
    "load_state_dict": "load_state_dict(state) (to restore them at the end)",
}


def _compiled_step(model):
    from ..compile import compile as tg_compile
    from ..transforms import value_and_grad

    def loss(params, X, y):
        return model.loss(X, y, params=params)

    return tg_compile(value_and_grad(loss))


def _check_model(model):
    missing = [n for n in MODEL_PROTOCOL if not callable(getattr(model, n, None))]
    if missing:
        wanted = "; ".join(MODEL_PROTOCOL[n] for n in missing)
        raise TypeError(
            f"Solver: the model {type(model).__name__} lacks {', '.join(missing)}: {wanted}. "
            "See docs/nn.md (the model protocol), or tapegrad.nn.FullyConnectedNet"
        )


class Solver:
    """Train ``model`` on ``data`` (``X_train``, ``y_train``, ``X_val``, ``y_val``).

    ``update_rule``: 'sgd', 'sgd_momentum', 'rmsprop', 'adam' or an
    :class:`tapegrad.optim.Optimizer` subclass; ``optim_config`` its
    hyperparameters. ``num_train_samples`` bounds the training subset used to
    measure train accuracy (None: all). ``progress``: show a progress bar;
    ``verbose``: print a line per epoch when there is no bar, and with
    ``print_every`` (CS231n's name) the loss every that many iterations.
    ``seed`` fixes the minibatch order. The model must have the methods in
    ``MODEL_PROTOCOL``; a missing one is named when the Solver is built.
    ``compile=True`` runs each step through ``tg.compile`` (the model needs
    ``params`` and ``loss(X, y, params=...)``): the same parameters as the
    eager steps, faster on small models.

    After :meth:`train`: ``loss_history`` (per iteration),
    ``train_acc_history`` and ``val_acc_history`` (per epoch),
    ``best_val_acc`` and ``best_params`` (a state dict).
    """

    def __init__(
        self,
        model,
        data,
        *,
        update_rule="sgd",
        optim_config=None,
        lr_decay=1.0,
        batch_size=100,
        num_epochs=10,
        num_train_samples=1000,
        num_val_samples=None,
        verbose=True,
        print_every=None,
        progress=False,
        seed=None,
        stream=None,
        compile=False,  # noqa: A002  (named like tg.compile)
    ):
        _check_model(model)
        if compile and not isinstance(getattr(model, "params", None), dict):
            raise TypeError(
                f"Solver(compile=True): the model {type(model).__name__} needs a `params` "
                "dict (name -> Tensor) and loss(X, y, params=...) computing the loss from "
                "given arrays, as tapegrad.nn.FullyConnectedNet has"
            )
        # compile=True: each step is one tg.compile'd value_and_grad of the loss,
        # traced once per batch shape; same parameters as the eager step.
        self.compiled_step = _compiled_step(model) if compile else None
        self.model = model
        self.X_train, self.y_train = np.asarray(data["X_train"]), np.asarray(data["y_train"])
        self.X_val, self.y_val = np.asarray(data["X_val"]), np.asarray(data["y_val"])
        if len(self.X_train) != len(self.y_train) or len(self.X_val) != len(self.y_val):
            raise ValueError(
                f"Solver: X_train {self.X_train.shape} / y_train {self.y_train.shape} and "
                f"X_val {self.X_val.shape} / y_val {self.y_val.shape} must have matching N"
            )
        if isinstance(update_rule, str):
            if update_rule not in OPTIMIZERS:
                raise ValueError(
                    f"Solver: unknown update_rule {update_rule!r}; known: {sorted(OPTIMIZERS)}"
                )
            update_rule = OPTIMIZERS[update_rule]
        self.optimizer = update_rule(model.parameters(), **(optim_config or {}))
        self.lr_decay = lr_decay
        self.batch_size = int(batch_size)
        self.num_epochs = int(num_epochs)
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.verbose = verbose
        self.print_every = None if print_every is None else int(print_every)
        self.progress = progress
        self.stream = sys.stdout if stream is None else stream
        self._rng = np.random.default_rng(seed)

        self.epoch = 0
        self.best_val_acc = -1.0
        self.best_params = None
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []

    def _step(self, X_batch, y_batch):
        self.optimizer.zero_grad()
        if self.compiled_step is not None:
            params = self.model.params
            loss, grads = self.compiled_step(
                {k: p._data for k, p in params.items()}, X_batch, y_batch
            )
            for name, p in params.items():
                p.grad = grads[name]
        else:
            loss = self.model.loss(X_batch, y_batch)
            loss.backward()
        self.optimizer.step()
        value = float(loss)
        self.loss_history.append(value)
        return value

    def check_accuracy(self, X, y, num_samples=None, batch_size=1000):
        """Fraction of correct test-mode predictions (on a random subset of ``num_samples``)."""
        if num_samples is not None and len(X) > num_samples:
            keep = self._rng.choice(len(X), num_samples, replace=False)
            X, y = X[keep], y[keep]
        if len(X) == 0:
            return float("nan")
        return float(np.mean(self.model.predict(X, batch_size=batch_size) == y))

    def train(self):
        N = len(self.X_train)
        batches_per_epoch = max(1, -(-N // self.batch_size))
        bar = None
        if self.progress:
            bar = ProgressBar(batches_per_epoch * self.num_epochs, "training")
        status = ""
        for epoch in range(1, self.num_epochs + 1):
            self.epoch = epoch
            order = self._rng.permutation(N)
            for start in range(0, N, self.batch_size):
                batch = order[start : start + self.batch_size]
                loss = self._step(self.X_train[batch], self.y_train[batch])
                if bar is not None:
                    bar.update(1, f"epoch {epoch}/{self.num_epochs} loss {loss:.4f}{status}")
                elif self.verbose and self.print_every:
                    iteration = len(self.loss_history)
                    if iteration % self.print_every == 0:
                        total = batches_per_epoch * self.num_epochs
                        print(
                            f"(Iteration {iteration} / {total}) loss: {loss:.6f}", file=self.stream
                        )
            self.optimizer.learning_rate = self.optimizer.learning_rate * self.lr_decay
            train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
            val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
            self.train_acc_history.append(train_acc)
            self.val_acc_history.append(val_acc)
            status = f" val acc {val_acc:.3f}"
            if bar is not None:  # the bar shows this epoch's figures, not the last one's
                bar.update(0, f"epoch {epoch}/{self.num_epochs} loss {loss:.4f}{status}")
            if self.verbose and bar is None:
                print(
                    f"(epoch {epoch} / {self.num_epochs}) loss {self.loss_history[-1]:.4f}, "
                    f"train acc {train_acc:.4f}, val acc {val_acc:.4f}",
                    file=self.stream,
                )
            if val_acc > self.best_val_acc:
                self.best_val_acc = val_acc
                self.best_params = self.model.state_dict()
        if bar is not None:
            bar.close()
        if self.best_params is not None:
            self.model.load_state_dict(self.best_params)
        return self
