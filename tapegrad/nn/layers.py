"""The seed's layers on ndarrays: ``*_forward -> (out, cache)``, ``*_backward(dout, cache)``.

Conventions (kept from the seed):

* ``affine``: ``x`` of shape (N, d_1, ..., d_k) is flattened to (N, D);
  ``w`` is (D, M), ``b`` is (M,).
* ``batchnorm``: train mode normalizes with the batch mean and the
  uncorrected (biased) batch variance and updates ``bn_param``'s running
  averages, ``running = momentum * running + (1 - momentum) * batch``, with
  momentum 0.9 and eps 1e-5 by default and running statistics starting at
  zero; test mode normalizes with the running statistics.
* ``dropout``: ``p`` is the probability of DROPPING a unit; kept units are
  scaled by 1 / (1 - p) (inverted dropout), so test mode is the identity. A
  ``seed`` in ``dropout_param`` makes the mask deterministic; numpy's global
  random state is never touched.
* ``svm_loss``: multiclass hinge loss with margin 1, mean over the batch.
* ``softmax_loss``: mean cross entropy; scores are shifted by their row max.

The backward functions (and the forwards) use only operators and ``np.*``
calls, so they also run on Tensors: that is how the primitives of
``tg.nn.functional`` get their second derivatives.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "batchnorm_forward",
    "batchnorm_backward",
    "dropout_forward",
    "dropout_backward",
    "svm_loss",
    "softmax_loss",
]


# -- input checks (shared with tg.nn.functional, which passes its own name) ----


def check_affine(name, x, w, b):
    x_shape, w_shape, b_shape = np.shape(x), np.shape(w), np.shape(b)
    if len(w_shape) != 2:
        raise ValueError(f"{name}: w must be 2-D (D, M), got shape {w_shape}")
    if len(x_shape) < 1:
        raise ValueError(f"{name}: x must have a batch axis (N, d_1, ..., d_k), got shape ()")
    if math.prod(x_shape[1:]) != w_shape[0]:
        raise ValueError(
            f"{name}: x of shape {x_shape} flattens to (N, {math.prod(x_shape[1:])}), "
            f"which does not fit w of shape {w_shape} (needs D = {w_shape[0]})"
        )
    if b_shape != (w_shape[1],):
        raise ValueError(
            f"{name}: b must have shape ({w_shape[1]},) to match w of shape {w_shape}, "
            f"got {b_shape}"
        )


def check_batchnorm(name, x, gamma, beta, bn_param):
    x_shape = np.shape(x)
    if len(x_shape) != 2:
        raise ValueError(f"{name}: x must be 2-D (N, D), got shape {x_shape}")
    D = x_shape[1]
    for arg, value in (("gamma", gamma), ("beta", beta)):
        if np.shape(value) != (D,):
            raise ValueError(
                f"{name}: {arg} must have shape ({D},) for x of shape {x_shape}, "
                f"got {np.shape(value)}"
            )
    mode = bn_param.get("mode")
    if mode not in ("train", "test"):
        raise ValueError(f'{name}: invalid bn_param mode {mode!r}; use "train" or "test"')
    for key in ("running_mean", "running_var"):
        if key in bn_param and np.shape(bn_param[key]) != (D,):
            raise ValueError(
                f"{name}: bn_param[{key!r}] must have shape ({D},) for x of shape "
                f"{x_shape}, got {np.shape(bn_param[key])}"
            )


def check_dropout(name, dropout_param):
    p = dropout_param.get("p")
    if p is None or not np.isscalar(p) or not 0 <= p < 1:
        raise ValueError(
            f"{name}: dropout_param['p'] (the drop probability) must be a number in "
            f"[0, 1), got {p!r}"
        )
    mode = dropout_param.get("mode")
    if mode not in ("train", "test"):
        raise ValueError(f'{name}: invalid dropout_param mode {mode!r}; use "train" or "test"')


def check_labels(name, x, y):
    """Labels must be integers in [0, C), one per row of the (N, C) scores."""
    x_shape = np.shape(x)
    if len(x_shape) != 2:
        raise ValueError(f"{name}: scores x must be 2-D (N, C), got shape {x_shape}")
    N, C = x_shape
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != N:
        raise ValueError(
            f"{name}: labels y must have shape ({N},) to match scores of shape {x_shape}, "
            f"got {y.shape}"
        )
    if y.dtype.kind not in "iu":
        raise ValueError(
            f"{name}: labels y must be integers, got dtype {y.dtype} (shape {y.shape})"
        )
    if N and (y.min() < 0 or y.max() >= C):
        # A negative label would silently index the last class.
        bad = y[(y < 0) | (y >= C)]
        raise ValueError(
            f"{name}: labels y must lie in [0, {C}) for scores of shape {x_shape}; "
            f"got {bad[:5].tolist()} (y shape {y.shape})"
        )
    return y


# -- affine -------------------------------------------------------------------


def affine_forward(x, w, b):
    """``out = x.reshape(N, D) @ w + b``; cache is ``(x, w, b)``."""
    check_affine("affine_forward", x, w, b)
    out = np.reshape(x, (np.shape(x)[0], np.shape(w)[0])) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache, need_dx=True):
    """``(dx, dw, db)`` shaped like ``x``, ``w``, ``b``.

    ``need_dx=False`` skips ``dx`` (returned as None): for the input layer it
    is the largest product of the whole backward pass, and nobody reads it.
    """
    x, w, _ = cache
    dx = np.reshape(dout @ np.transpose(w), np.shape(x)) if need_dx else None
    dw = np.transpose(np.reshape(x, (np.shape(x)[0], np.shape(w)[0]))) @ dout
    db = np.sum(dout, axis=0)
    return dx, dw, db


# -- relu ---------------------------------------------------------------------


def relu_forward(x):
    """``out = max(0, x)``; cache is ``x``."""
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    # The kink at 0 takes derivative 0 (x > 0 is strict).
    return (cache > 0) * dout


# -- batchnorm ------------------------------------------------------------------


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization; updates ``bn_param``'s running statistics in train mode.

    The cache is a dict with ``mode`` and what batchnorm_backward needs; test
    mode (an affine map with the running statistics) has one too, so it is
    differentiable like train mode.
    """
    check_batchnorm("batchnorm_forward", x, gamma, beta, bn_param)
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = np.shape(x)
    dtype = np.result_type(x)
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=dtype))
    if mode == "train":
        mean = np.sum(x, axis=0) / N
        centered = x - mean
        var = np.sum(centered * centered, axis=0) / N  # uncorrected, as the seed
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        # The output follows x's dtype even if the statistics were kept in another.
        centered = x - np.asarray(running_mean, dtype=dtype)
        var = np.asarray(running_var, dtype=dtype)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_norm = centered * inv_std
    out = gamma * x_norm + beta
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    cache = {"mode": mode, "x_norm": x_norm, "gamma": gamma, "inv_std": inv_std}
    return out, cache


def batchnorm_backward(dout, cache):
    """``(dx, dgamma, dbeta)``.

    Train mode: the batch mean and variance depend on x. With
    ``dx_norm = dout * gamma``, the chain rule through mean and variance
    collapses to ``inv_std * (dx_norm - mean(dx_norm) - x_norm * mean(dx_norm * x_norm))``.
    """
    x_norm, inv_std = cache["x_norm"], cache["inv_std"]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_norm, axis=0)
    dx_norm = dout * cache["gamma"]
    if cache["mode"] == "test":
        return dx_norm * inv_std, dgamma, dbeta
    N = np.shape(dout)[0]
    mean_dx_norm = np.sum(dx_norm, axis=0) / N
    mean_dx_norm_x_norm = np.sum(dx_norm * x_norm, axis=0) / N
    dx = inv_std * (dx_norm - mean_dx_norm - x_norm * mean_dx_norm_x_norm)
    return dx, dgamma, dbeta


# -- dropout --------------------------------------------------------------------


def dropout_forward(x, dropout_param):
    """Inverted dropout: drop with probability ``p``, scale the rest by 1 / (1 - p).

    Cache is ``(dropout_param, mask)``; mask is None in test mode.
    """
    check_dropout("dropout_forward", dropout_param)
    # The cache keeps a copy: the caller may switch the dict to test mode (or
    # change its seed) before the backward pass, which must match this forward.
    dropout_param = dict(dropout_param)
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x, (dropout_param, None)
    # A private generator: seeding must not reset numpy's global random state.
    rng = np.random.default_rng(dropout_param.get("seed"))
    dtype = np.result_type(x)
    keep = rng.random(np.shape(x)) >= p
    mask = keep.astype(dtype) / np.asarray(1 - p, dtype=dtype)
    return x * mask, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "test":
        return dout
    return dout * mask


# -- losses ---------------------------------------------------------------------


def _one_hot(y, C, dtype):
    return (np.arange(C) == np.asarray(y)[:, None]).astype(dtype)


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1: ``(loss, dx)``, mean over N."""
    y = check_labels("svm_loss", x, y)
    N, C = np.shape(x)
    dtype = np.result_type(x)
    rows = np.arange(N)
    correct = x[rows, y]
    margins = x - np.reshape(correct, (N, 1)) + 1.0
    # The correct class contributes no margin; a mask instead of an in-place
    # write keeps this runnable on Tensors.
    positive = (margins > 0) & (_one_hot(y, C, bool) == 0)
    loss = np.sum(np.where(positive, margins, np.zeros((), dtype=dtype))) / N
    num_positive = np.sum(positive, axis=1, keepdims=True)
    dx = (positive - _one_hot(y, C, dtype) * num_positive).astype(dtype) / N
    return loss, dx


def _constant(x):
    # The values of x without its gradient (x is a Tensor when a rule runs
    # under create_graph): for terms whose derivative is known to vanish.
    return np.asarray(x.detach() if hasattr(x, "detach") else x)


def softmax_loss(x, y):
    """Softmax cross entropy: ``(loss, dx)``, mean over N."""
    y = check_labels("softmax_loss", x, y)
    N, C = np.shape(x)
    # Softmax is invariant to a per-row shift, so the shift is a constant:
    # no gradient flows through the max (and none through its ties).
    shift = np.max(_constant(x), axis=1, keepdims=True) if C else 0.0
    shifted = x - shift
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = (np.exp(log_probs) - _one_hot(y, C, np.result_type(x))) / N
    return loss, dx
