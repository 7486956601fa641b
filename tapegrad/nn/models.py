"""A fully connected classifier built from the seed's layers; the tape does its backprop."""

from __future__ import annotations

import contextlib
import os
import tempfile

import numpy as np

from ..core.tape import no_grad
from ..core.tensor import Tensor
from . import functional

__all__ = ["FullyConnectedNet"]


class FullyConnectedNet:
    """``{affine - [batchnorm] - relu - [dropout]} x (L - 1) - affine - softmax``.

    ``hidden_dims``: sizes of the hidden layers. ``dropout``: the probability
    of DROPPING a hidden unit (0 disables dropout). ``normalization``: None
    or ``'batchnorm'``. ``reg``: L2 strength, the loss adds
    ``0.5 * reg * sum(W**2)`` over the weight matrices (not the biases nor
    gamma/beta). Weights start as ``weight_scale`` times standard normals,
    biases and betas at 0, gammas at 1. ``seed`` fixes the initialization and
    the dropout masks.

    ``params`` maps names (``W1``, ``b1``, ``gamma1``, ``beta1``, ...) to
    Tensors that require grad. No backprop is written here:
    ``model.loss(X, y)`` is a loss Tensor, and ``.backward()`` fills each
    parameter's ``.grad``.
    """

    def __init__(
        self,
        hidden_dims,
        input_dim=3 * 32 * 32,
        num_classes=10,
        dropout=0.0,
        normalization=None,
        reg=0.0,
        weight_scale=1e-2,
        dtype=np.float32,
        seed=None,
    ):
        if normalization not in (None, "batchnorm"):
            raise ValueError(
                f"FullyConnectedNet: normalization must be None or 'batchnorm', "
                f"got {normalization!r}"
            )
        if not 0 <= dropout < 1:
            raise ValueError(
                f"FullyConnectedNet: dropout (the drop probability) must be in [0, 1), "
                f"got {dropout!r}"
            )
        self.hidden_dims = [int(h) for h in hidden_dims]
        self.input_dim = int(input_dim)
        self.num_classes = int(num_classes)
        self.normalization = normalization
        self.use_dropout = dropout > 0
        self.reg = reg
        self.dtype = np.dtype(dtype)
        self.num_layers = len(self.hidden_dims) + 1
        self._rng = np.random.default_rng(seed)

        dims = [self.input_dim, *self.hidden_dims, self.num_classes]
        arrays = {}
        for i in range(self.num_layers):
            arrays[f"W{i + 1}"] = weight_scale * self._rng.standard_normal((dims[i], dims[i + 1]))
            arrays[f"b{i + 1}"] = np.zeros(dims[i + 1])
            if normalization == "batchnorm" and i < self.num_layers - 1:
                arrays[f"gamma{i + 1}"] = np.ones(dims[i + 1])
                arrays[f"beta{i + 1}"] = np.zeros(dims[i + 1])
        self.params = {
            name: Tensor(value.astype(self.dtype), requires_grad=True)
            for name, value in arrays.items()
        }
        self.dropout_param = {"mode": "train", "p": dropout}
        self.bn_params = [
            {"mode": "train"} for _ in range(self.num_layers - 1 if normalization else 0)
        ]

    def parameters(self):
        """The parameter Tensors (to hand to an optimizer)."""
        return list(self.params.values())

    def scores(self, X, mode="test", params=None):
        """Class scores (N, C) as a Tensor; ``mode`` is 'train' or 'test'.

        ``params`` (name -> array or Tensor) replaces ``self.params``: the
        functional form that ``tg.value_and_grad`` and ``tg.compile`` take.
        """
        if mode not in ("train", "test"):
            raise ValueError(
                f"FullyConnectedNet.scores: mode must be 'train' or 'test', got {mode!r}"
            )
        if isinstance(X, Tensor):  # (inside tg.compile, the batch is a Tensor)
            out = X if X.dtype == self.dtype else X.astype(self.dtype)
        else:
            out = np.asarray(X, dtype=self.dtype)
        p = self.params if params is None else params
        for i in range(1, self.num_layers):
            out = functional.affine(out, p[f"W{i}"], p[f"b{i}"])
            if self.normalization == "batchnorm":
                bn_param = self.bn_params[i - 1]
                bn_param["mode"] = mode
                out = functional.batchnorm(out, p[f"gamma{i}"], p[f"beta{i}"], bn_param, mode=mode)
            out = functional.relu(out)
            if self.use_dropout:
                dropout_param = {**self.dropout_param, "mode": mode}
                if mode == "train":
                    # The dropout forward draws its seed from the model's generator
                    # (so compiled steps draw fresh masks, in the same order).
                    dropout_param["rng"] = self._rng
                out = functional.dropout(out, dropout_param)
        L = self.num_layers
        return functional.affine(out, p[f"W{L}"], p[f"b{L}"])

    def loss(self, X, y=None, params=None):
        """Scores (an ndarray, test mode) when ``y`` is None; else the loss Tensor (train mode).

        The loss is the mean softmax cross entropy plus the L2 penalty.
        ``params`` replaces ``self.params`` (see :meth:`scores`).
        """
        if y is None:
            with no_grad():
                return np.asarray(self.scores(X, mode="test", params=params))
        loss = functional.softmax_loss(self.scores(X, mode="train", params=params), y)
        if self.reg:
            p = self.params if params is None else params
            for i in range(1, self.num_layers + 1):
                W = p[f"W{i}"]
                loss = loss + 0.5 * self.reg * np.sum(W * W)
        return loss

    def loss_and_grads(self, X, y):
        """``(loss, grads)``: a float and a dict of ndarrays shaped like ``params``."""
        for p in self.params.values():
            p.grad = None
        loss = self.loss(X, y)
        loss.backward()
        return float(loss), {name: p.grad for name, p in self.params.items()}

    def predict(self, X, batch_size=1000):
        """Predicted labels (test mode), computed in batches."""
        X = np.asarray(X)
        labels = [
            np.argmax(self.loss(X[start : start + batch_size]), axis=1)
            for start in range(0, len(X), batch_size)
        ]
        return np.concatenate(labels) if labels else np.zeros(0, dtype=np.intp)

    # -- state: parameters and batchnorm running statistics ----------------------------

    def state_dict(self):
        """Name -> ndarray copy: parameters and ``bn{i}.running_mean`` / ``running_var``."""
        state = {name: np.array(p.data) for name, p in self.params.items()}
        for i, bn_param in enumerate(self.bn_params, start=1):
            for key in ("running_mean", "running_var"):
                if key in bn_param:
                    state[f"bn{i}.{key}"] = np.array(bn_param[key])
        return state

    def load_state_dict(self, state):
        """Set parameters and running statistics from ``state``.

        Everything is checked (names, shapes, real numbers) before anything
        is set, so a bad state leaves the model as it was.
        """
        where = "FullyConnectedNet.load_state_dict"
        expected = dict(self._state_shapes())
        missing = [k for k in self.params if k not in state]
        extra = sorted(k for k in state if k not in expected)
        if missing or extra:
            raise ValueError(f"{where}: missing {sorted(missing)}, unexpected {extra}")
        arrays = {}
        for name, value in state.items():
            value = np.array(value)  # a private copy: the caller keeps theirs
            if value.dtype.kind not in "fiu":
                raise TypeError(
                    f"{where}: {name} has dtype {value.dtype}; parameters and running "
                    "statistics must be real numbers (a complex value would be truncated)"
                )
            if value.shape != expected[name]:
                raise ValueError(
                    f"{where}: {name} has shape {value.shape}, the model's has shape "
                    f"{expected[name]}"
                )
            arrays[name] = value.astype(self.dtype)
        # All checked: now swap.
        for name, p in self.params.items():
            with no_grad():
                p.data = arrays[name]
        for i, bn_param in enumerate(self.bn_params, start=1):
            for key in ("running_mean", "running_var"):
                name = f"bn{i}.{key}"
                if name in arrays:
                    bn_param[key] = arrays[name]
                else:
                    bn_param.pop(key, None)

    def _state_shapes(self):
        for name, p in self.params.items():
            yield name, p.shape
        for i, _ in enumerate(self.bn_params, start=1):
            for key in ("running_mean", "running_var"):
                yield f"bn{i}.{key}", (self.hidden_dims[i - 1],)

    def save(self, path):
        """Write :meth:`state_dict` with ``np.savez`` (plain arrays, no pickle).

        ``.npz`` is added to the name when missing (as numpy does), and the
        file is written beside the target and renamed over it, so a failure
        part-way (a full disk) leaves any previous checkpoint intact.
        """
        path = _npz_path(path)
        directory = os.path.dirname(os.path.abspath(path))
        handle, temporary = tempfile.mkstemp(dir=directory, suffix=".npz.partial")
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, **self.state_dict())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise

    def load(self, path):
        """Read a file written by :meth:`save` (``allow_pickle=False``); the same
        path works with or without ``.npz``. A bad file leaves the model as it was."""
        if not os.path.exists(path) and os.path.exists(_npz_path(path)):
            path = _npz_path(path)
        with np.load(path, allow_pickle=False) as data:
            self.load_state_dict({name: data[name] for name in data.files})


def _npz_path(path):
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"
