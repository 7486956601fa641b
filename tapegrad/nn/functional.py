"""The seed's layers as primitives on Tensors.

Each forward is the ``tg.nn.layers`` forward, and each VJP rule calls the
``tg.nn.layers`` backward function: one source of truth for the math. Under
``create_graph`` a rule gets ``residuals=None``, rebuilds the seed's cache by
running the layers forward on its Tensor inputs, and runs the same backward
function on Tensors, so every layer is differentiable twice.

``batchnorm`` and ``dropout`` keep the seed's state dicts. They are thin
wrappers around the primitives ``batchnorm_op`` and ``dropout_op``:

* ``batchnorm`` hands the primitive a private copy of ``bn_param`` and
  writes the updated running statistics back into yours, so a rebuilt cache
  (under ``create_graph``) sees the statistics of its own forward pass even
  if ``bn_param`` was used again in between.
* ``dropout`` draws a seed when ``dropout_param`` has none, so the mask is a
  function of the primitive's inputs and can be rebuilt.
"""

from __future__ import annotations

import numpy as np

from ..core import tracing
from ..core.primitive import primitive
from ..domain import Domain
from ..ops.samples import nn as samples
from . import layers

__all__ = [
    "affine",
    "relu",
    "batchnorm",
    "dropout",
    "svm_loss",
    "softmax_loss",
    "batchnorm_op",
    "dropout_op",
]


# -- affine and relu: the cache is just the inputs --------------------------------


@primitive(domain=Domain(sample=samples.affine), real_only=True)
def affine(x, w, b):
    """Fully connected layer: ``x.reshape(N, D) @ w + b`` (see ``layers.affine_forward``)."""
    layers.check_affine("affine", x, w, b)
    return layers.affine_forward(x, w, b)[0]


@affine.defvjp(needs_grad=True)
def _affine_vjp(g, ans, x, w, b, needs_grad):
    return layers.affine_backward(g, (x, w, b), need_dx=needs_grad[0])


@affine.defjvp
def _affine_jvp(tangents, ans, x, w, b):
    tx, tw, tb = tangents
    rows = np.shape(x)[0]
    t = None if tx is None else np.reshape(tx, (rows, -1)) @ w
    if tw is not None:
        t_w = np.reshape(x, (rows, -1)) @ tw
        t = t_w if t is None else t + t_w
    if tb is not None:
        t = tb if t is None else t + tb
    return t


@primitive(
    domain=Domain(("kinkfree",), reference=samples.relu_reference),
    elementwise=True,
    real_only=True,
)
def relu(x):
    """``max(0, x)``; the derivative at the kink 0 is taken as 0."""
    return layers.relu_forward(x)[0]


@relu.defvjp
def _relu_vjp(g, ans, x):
    return (layers.relu_backward(g, x),)


# -- batchnorm ----------------------------------------------------------------------


@primitive(domain=Domain(sample=samples.batchnorm_op), nondiff=(3,), residuals=True, real_only=True)
def batchnorm_op(x, gamma, beta, bn_param):
    """The batchnorm primitive: ``layers.batchnorm_forward``, mutating ``bn_param``."""
    layers.check_batchnorm("batchnorm", x, gamma, beta, bn_param)
    return layers.batchnorm_forward(x, gamma, beta, bn_param)


@batchnorm_op.defvjp
def _batchnorm_vjp(g, ans, x, gamma, beta, bn_param, residuals):
    cache = residuals
    if cache is None:
        # A copy: rebuilding the cache must not update the running statistics again.
        cache = layers.batchnorm_forward(x, gamma, beta, dict(bn_param))[1]
    dx, dgamma, dbeta = layers.batchnorm_backward(g, cache)
    return dx, dgamma, dbeta, None


@batchnorm_op.defjvp
def _batchnorm_jvp(tangents, ans, x, gamma, beta, bn_param, residuals):
    tx, t_gamma, t_beta, _ = tangents
    cache = residuals
    if cache is None:  # on the tape: rebuilt from the Tensor inputs, as the VJP does
        cache = layers.batchnorm_forward(x, gamma, beta, dict(bn_param))[1]
    x_norm, inv_std = cache["x_norm"], cache["inv_std"]
    t = None
    if tx is not None:
        if cache["mode"] == "train":
            # The batch mean and variance move with x: the tangent of x_norm is
            # inv_std (tx - mean(tx) - x_norm mean(x_norm tx)).
            rows = np.shape(x)[0]
            centered = tx - np.sum(tx, axis=0) / rows
            t_norm = inv_std * (centered - x_norm * (np.sum(x_norm * tx, axis=0) / rows))
        else:
            t_norm = tx * inv_std
        t = gamma * t_norm
    if t_gamma is not None:
        t = t_gamma * x_norm if t is None else t + t_gamma * x_norm
    if t_beta is not None:
        t = t_beta if t is None else t + t_beta
    return t


def batchnorm(x, gamma, beta, bn_param, mode=None):
    """Batch normalization of ``x`` (N, D) with the seed's ``bn_param`` dict.

    Train mode normalizes with batch statistics and updates
    ``bn_param['running_mean']`` / ``['running_var']``; test mode uses them.
    ``mode`` ('train' or 'test') overrides ``bn_param['mode']``.
    """
    layers.check_batchnorm("batchnorm", x, gamma, beta, bn_param)
    # Both copies are logged under tg.compile, so a replay reads bn_param as it
    # is then and updates its running statistics, as this call does.
    private = tracing.call(_private_copy, bn_param, mode)
    out = batchnorm_op(x, gamma, beta, private)
    tracing.call(_write_running_statistics, bn_param, private)
    return out


def _private_copy(bn_param, mode):
    return dict(bn_param) if mode is None else {**bn_param, "mode": mode}


def _write_running_statistics(bn_param, private):
    bn_param["running_mean"] = private["running_mean"]
    bn_param["running_var"] = private["running_var"]


# -- dropout ------------------------------------------------------------------------

# Seeds for dropout calls without one; a private generator, never numpy's global state.
_seed_source = np.random.default_rng()


@primitive(domain=Domain(sample=samples.dropout_op), nondiff=(1,), residuals=True)
def dropout_op(x, dropout_param):
    """The dropout primitive: ``layers.dropout_forward``; train mode needs a ``seed``."""
    layers.check_dropout("dropout", dropout_param)
    if dropout_param["mode"] == "train" and "rng" in dropout_param:
        # Drawn here, in the forward, so that a compiled replay (which runs the
        # forwards, not the Python around them) draws a fresh mask every call.
        # Written into the dict, which the node keeps, so the mask can be rebuilt.
        dropout_param["seed"] = int(dropout_param["rng"].integers(2**63))
    if dropout_param["mode"] == "train" and "seed" not in dropout_param:
        raise ValueError(
            "dropout_op: train mode needs dropout_param['seed'] (or a numpy Generator "
            "as dropout_param['rng'] to draw one from) so that the mask can be rebuilt "
            "for higher derivatives; call tg.nn.functional.dropout, which provides one"
        )
    return layers.dropout_forward(x, dropout_param)


@dropout_op.defvjp
def _dropout_vjp(g, ans, x, dropout_param, residuals):
    cache = residuals
    if cache is None:
        cache = layers.dropout_forward(x, dropout_param)[1]
    return layers.dropout_backward(g, cache), None


@dropout_op.defjvp
def _dropout_jvp(tangents, ans, x, dropout_param, residuals):
    cache = residuals
    if cache is None:
        cache = layers.dropout_forward(x, dropout_param)[1]
    return layers.dropout_backward(tangents[0], cache)  # a diagonal map: its own transpose


def dropout(x, dropout_param):
    """Inverted dropout with the seed's ``dropout_param`` (``p`` is the drop probability).

    Without a ``seed`` each call draws a fresh mask.
    """
    layers.check_dropout("dropout", dropout_param)
    if dropout_param["mode"] == "train" and "seed" not in dropout_param:
        dropout_param = {"rng": _seed_source, **dropout_param}
    return dropout_op(x, dropout_param)


# -- losses: 0-d Tensors; labels y get no gradient --------------------------------------


def _loss_output(loss, dx, x):
    return np.asarray(loss, dtype=np.result_type(x)), dx


@primitive(domain=Domain(sample=samples.svm_loss), nondiff=(1,), residuals=True, real_only=True)
def svm_loss(scores, y):
    """Mean multiclass hinge loss (margin 1) of ``scores`` (N, C) for labels ``y`` (N,)."""
    return _loss_output(*layers.svm_loss(scores, y), scores)


@svm_loss.defvjp
def _svm_loss_vjp(g, ans, scores, y, residuals):
    dx = residuals if residuals is not None else layers.svm_loss(scores, y)[1]
    return g * dx, None


@svm_loss.defjvp
def _svm_loss_jvp(tangents, ans, scores, y, residuals):
    dx = residuals if residuals is not None else layers.svm_loss(scores, y)[1]
    return np.sum(dx * tangents[0])


@primitive(domain=Domain(sample=samples.softmax_loss), nondiff=(1,), residuals=True, real_only=True)
def softmax_loss(scores, y):
    """Mean softmax cross entropy of ``scores`` (N, C) for labels ``y`` (N,)."""
    return _loss_output(*layers.softmax_loss(scores, y), scores)


@softmax_loss.defvjp
def _softmax_loss_vjp(g, ans, scores, y, residuals):
    dx = residuals if residuals is not None else layers.softmax_loss(scores, y)[1]
    return g * dx, None


@softmax_loss.defjvp
def _softmax_loss_jvp(tangents, ans, scores, y, residuals):
    # A scalar loss: its tangent is <gradient, tangent>.
    dx = residuals if residuals is not None else layers.softmax_loss(scores, y)[1]
    return np.sum(dx * tangents[0])
