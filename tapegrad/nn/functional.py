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


@primitive(domain=Domain(sample=samples.affine))
def affine(x, w, b):
    """Fully connected layer: ``x.reshape(N, D) @ w + b`` (see ``layers.affine_forward``)."""
    layers.check_affine("affine", x, w, b)
    return layers.affine_forward(x, w, b)[0]


@affine.defvjp(needs_grad=True)
def _affine_vjp(g, ans, x, w, b, needs_grad):
    return layers.affine_backward(g, (x, w, b), need_dx=needs_grad[0])


@primitive(domain=Domain(("kinkfree",), reference=samples.relu_reference), elementwise=True)
def relu(x):
    """``max(0, x)``; the derivative at the kink 0 is taken as 0."""
    return layers.relu_forward(x)[0]


@relu.defvjp
def _relu_vjp(g, ans, x):
    return (layers.relu_backward(g, x),)


# -- batchnorm ----------------------------------------------------------------------


@primitive(domain=Domain(sample=samples.batchnorm_op), nondiff=(3,), residuals=True)
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


def batchnorm(x, gamma, beta, bn_param):
    """Batch normalization of ``x`` (N, D) with the seed's ``bn_param`` dict.

    Train mode normalizes with batch statistics and updates
    ``bn_param['running_mean']`` / ``['running_var']``; test mode uses them.
    """
    layers.check_batchnorm("batchnorm", x, gamma, beta, bn_param)
    private = dict(bn_param)
    out = batchnorm_op(x, gamma, beta, private)
    bn_param["running_mean"] = private["running_mean"]
    bn_param["running_var"] = private["running_var"]
    return out


# -- dropout ------------------------------------------------------------------------

# Seeds for dropout calls without one; a private generator, never numpy's global state.
_seed_source = np.random.default_rng()


@primitive(domain=Domain(sample=samples.dropout_op), nondiff=(1,), residuals=True)
def dropout_op(x, dropout_param):
    """The dropout primitive: ``layers.dropout_forward``; train mode needs a ``seed``."""
    layers.check_dropout("dropout", dropout_param)
    if dropout_param["mode"] == "train" and "seed" not in dropout_param:
        raise ValueError(
            "dropout_op: train mode needs dropout_param['seed'] so that the mask can be "
            "rebuilt for higher derivatives; call tg.nn.functional.dropout, which draws one"
        )
    return layers.dropout_forward(x, dropout_param)


@dropout_op.defvjp
def _dropout_vjp(g, ans, x, dropout_param, residuals):
    cache = residuals
    if cache is None:
        cache = layers.dropout_forward(x, dropout_param)[1]
    return layers.dropout_backward(g, cache), None


def dropout(x, dropout_param):
    """Inverted dropout with the seed's ``dropout_param`` (``p`` is the drop probability).

    Without a ``seed`` each call draws a fresh mask.
    """
    layers.check_dropout("dropout", dropout_param)
    if dropout_param["mode"] == "train" and "seed" not in dropout_param:
        dropout_param = {**dropout_param, "seed": int(_seed_source.integers(2**63))}
    return dropout_op(x, dropout_param)


# -- losses: 0-d Tensors; labels y get no gradient --------------------------------------


def _loss_output(loss, dx, x):
    return np.asarray(loss, dtype=np.result_type(x)), dx


@primitive(domain=Domain(sample=samples.svm_loss), nondiff=(1,), residuals=True)
def svm_loss(scores, y):
    """Mean multiclass hinge loss (margin 1) of ``scores`` (N, C) for labels ``y`` (N,)."""
    return _loss_output(*layers.svm_loss(scores, y), scores)


@svm_loss.defvjp
def _svm_loss_vjp(g, ans, scores, y, residuals):
    dx = residuals if residuals is not None else layers.svm_loss(scores, y)[1]
    return g * dx, None


@primitive(domain=Domain(sample=samples.softmax_loss), nondiff=(1,), residuals=True)
def softmax_loss(scores, y):
    """Mean softmax cross entropy of ``scores`` (N, C) for labels ``y`` (N,)."""
    return _loss_output(*layers.softmax_loss(scores, y), scores)


@softmax_loss.defvjp
def _softmax_loss_vjp(g, ans, scores, y, residuals):
    dx = residuals if residuals is not None else layers.softmax_loss(scores, y)[1]
    return g * dx, None
