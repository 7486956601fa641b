"""First-order update rules, as functions on ndarrays and as optimizer objects.

Each rule is ``update(w, dw, config=None) -> (next_w, config)``: ``w`` and
``dw`` are ndarrays of one shape, ``config`` a dict of hyperparameters and
state (moving averages, step count). Missing hyperparameters get the usual
defaults; the state is created on the first call. The dict is updated in
place and returned, as in CS231n's ``optim.py``. ``w`` is never written.

The optimizer classes keep one config per parameter Tensor and step each
parameter from its ``.grad``, or from gradients passed to ``step``::

    opt = tg.optim.Adam(model.parameters(), learning_rate=1e-3)
    loss.backward()
    opt.step()
    opt.zero_grad()

The parameters may be a list (or any iterable) of Tensors, or a pytree of
them (``{"W1": w1, "b1": b1}``, nested lists and tuples, namedtuples);
``opt.step(grads)`` then takes gradients of the same structure, such as
``tg.grad(loss_fn)(params)`` returns.
"""

from __future__ import annotations

import numpy as np

from .core.tape import no_grad
from .core.tensor import Tensor
from .tree import tree_flatten

__all__ = [
    "sgd",
    "sgd_momentum",
    "rmsprop",
    "adam",
    "Optimizer",
    "SGD",
    "Momentum",
    "RMSProp",
    "Adam",
]


SGD_DEFAULTS = {"learning_rate": 1e-2}
MOMENTUM_DEFAULTS = {"learning_rate": 1e-2, "momentum": 0.9}
RMSPROP_DEFAULTS = {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}
ADAM_DEFAULTS = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0}


def _with_defaults(config, defaults):
    config = {} if config is None else config
    for key, value in defaults.items():
        config.setdefault(key, value)
    return config


def sgd(w, dw, config=None):
    """Vanilla gradient descent: ``w - learning_rate * dw`` (learning_rate 1e-2)."""
    config = _with_defaults(config, SGD_DEFAULTS)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    """Gradient descent with momentum (learning_rate 1e-2, momentum 0.9).

    ``velocity = momentum * velocity - learning_rate * dw``; ``w + velocity``.
    """
    config = _with_defaults(config, MOMENTUM_DEFAULTS)
    velocity = config.get("velocity")
    if velocity is None:
        velocity = np.zeros_like(w)
    velocity = config["momentum"] * velocity - config["learning_rate"] * dw
    config["velocity"] = velocity
    return w + velocity, config


def rmsprop(w, dw, config=None):
    """RMSProp (learning_rate 1e-2, decay_rate 0.99, epsilon 1e-8).

    ``cache = decay_rate * cache + (1 - decay_rate) * dw**2``;
    ``w - learning_rate * dw / (sqrt(cache) + epsilon)``.
    """
    if w.dtype.kind == "c":
        return _as_real_pairs(rmsprop, w, dw, config)
    config = _with_defaults(config, RMSPROP_DEFAULTS)
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w)
    decay = config["decay_rate"]
    cache = decay * cache + (1 - decay) * dw * dw
    config["cache"] = cache
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return next_w, config


def adam(w, dw, config=None):
    """Adam with bias correction (learning_rate 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-8).

    ``t`` counts the steps taken (0 before the first); ``m`` and ``v`` are the
    moving averages of ``dw`` and ``dw**2``.
    """
    if w.dtype.kind == "c":
        return _as_real_pairs(adam, w, dw, config)
    config = _with_defaults(config, ADAM_DEFAULTS)
    m, v = config.get("m"), config.get("v")
    if m is None:
        m = np.zeros_like(w)
    if v is None:
        v = np.zeros_like(w)
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config.update(t=t, m=m, v=v)
    return next_w, config


def _as_real_pairs(rule, w, dw, config):
    """``rule`` on a complex parameter seen as pairs of reals, as PyTorch's adaptive
    optimizers do: dw * dw would mix the parts, while each part needs its own scale."""
    real = np.finfo(w.dtype).dtype
    next_w, config = rule(w.reshape(-1).view(real), dw.reshape(-1).view(real), config)
    return next_w.view(w.dtype).reshape(w.shape), config


def _parameter_leaves(params):
    """``(leaves, treedef)`` of a pytree of parameters, or of an iterator of them."""
    leaves, treedef = tree_flatten(params)
    if len(leaves) == 1 and leaves[0] is params and not isinstance(params, Tensor):
        # Not a container optree knows (a generator, model.parameters()): iterate it.
        leaves, treedef = tree_flatten(list(params))
    return leaves, treedef


def _gradient_array(g):
    return g._data if isinstance(g, Tensor) else g


class Optimizer:
    """Steps parameter Tensors with an update rule, one config each.

    ``params``: a list or iterable of Tensors that require grad, or a pytree
    of them (a dict, nested lists/tuples, namedtuples). ``hyperparameters``
    (``learning_rate=...``, ``momentum=...``) seed every parameter's config.
    Parameters whose gradient is None are skipped.
    """

    rule = staticmethod(sgd)
    defaults = SGD_DEFAULTS

    def __init__(self, params, **hyperparameters):
        self.params, self.treedef = _parameter_leaves(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty list of parameters")
        for i, p in enumerate(self.params):
            if not getattr(p, "requires_grad", False):
                raise ValueError(
                    f"{type(self).__name__}: parameter {i} (shape {np.shape(p)}) is not a "
                    "Tensor with requires_grad=True"
                )
        unknown = set(hyperparameters) - set(self.defaults)
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown hyperparameters {sorted(unknown)}; "
                f"known: {sorted(self.defaults)}"
            )
        self.configs = [{**self.defaults, **hyperparameters} for _ in self.params]

    @property
    def learning_rate(self):
        return self.configs[0]["learning_rate"]

    @learning_rate.setter
    def learning_rate(self, value):
        for config in self.configs:
            config["learning_rate"] = value

    def step(self, grads=None):
        """Update every parameter that has a gradient: ``p.data = next_w``.

        The gradients are the parameters' ``.grad``, or ``grads``: a pytree of
        the parameters' structure (arrays or Tensors), e.g. from ``tg.grad``.
        """
        if grads is None:
            grads = [p.grad for p in self.params]
        else:
            grads, treedef = tree_flatten(grads)
            if treedef != self.treedef:
                raise ValueError(
                    f"{type(self).__name__}.step: grads have structure {treedef}, the "
                    f"parameters have {self.treedef}"
                )
        with no_grad():
            for p, g, config in zip(self.params, grads, self.configs):
                if g is None:
                    continue
                w = p.data
                dw = np.asarray(_gradient_array(g), dtype=w.dtype)
                if dw.shape != w.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step: a gradient has shape {dw.shape}, its "
                        f"parameter has shape {w.shape}"
                    )
                next_w, _ = type(self).rule(w, dw, config)
                p.data = next_w

    def zero_grad(self):
        for p in self.params:
            p.grad = None


class SGD(Optimizer):
    """:func:`sgd` on each parameter."""

    rule = staticmethod(sgd)
    defaults = SGD_DEFAULTS


class Momentum(Optimizer):
    """:func:`sgd_momentum` on each parameter."""

    rule = staticmethod(sgd_momentum)
    defaults = MOMENTUM_DEFAULTS


class RMSProp(Optimizer):
    """:func:`rmsprop` on each parameter."""

    rule = staticmethod(rmsprop)
    defaults = RMSPROP_DEFAULTS


class Adam(Optimizer):
    """:func:`adam` on each parameter."""

    rule = staticmethod(adam)
    defaults = ADAM_DEFAULTS
