"""mlp-step: one forward + backward of the seed's net.

Input 128 x 3072, hidden layers [512, 256], each affine -> batchnorm (train)
-> relu -> dropout (p = 0.5), then affine to 10 classes and softmax loss.

- numpy: the reference, ``tg.nn.layers`` forward and backward functions
  chained by hand (the seed's way of writing a net).
- tapegrad (fused): ``tg.nn.functional`` primitives, whose rules call those
  same backward functions.
- tapegrad (elementary): the same math written with elementary tapegrad ops
  (matmul, sum, power, where, exp, log, indexing).
- peers: each written as its users would (PyTorch with its fused
  ``batch_norm`` and ``cross_entropy``, the others elementary).

Every engine uses the same dropout masks, so gradients agree. The masks come
from ``tg.nn.layers.dropout_forward`` (a seeded generator) inside each timed
step, so every engine pays for drawing them as the reference does.
"""

from __future__ import annotations

import importlib
import itertools

import numpy as np

from ..harness import Case, Impl, Unavailable, peer_module, try_build

EPS = 1e-5
P_DROP = 0.5
FULL = {"N": 128, "D": 3072, "hidden": (512, 256), "C": 10}
SMOKE = {"N": 16, "D": 20, "hidden": (12, 8), "C": 5}


def nn_modules():
    """(layers, functional) of tg.nn, or raise ImportError while they are missing."""
    layers = importlib.import_module("tapegrad.nn.layers")
    functional = importlib.import_module("tapegrad.nn.functional")
    return layers, functional


def make_problem(dtype, N, D, hidden, C, seed=0):
    """Inputs, labels and parameters ``W1, b1, gamma1, beta1, ..., W{L}, b{L}``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D)).astype(dtype)
    y = rng.integers(0, C, size=N)
    params = {}
    dims = (D, *hidden, C)
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(dims), start=1):
        params[f"W{i}"] = (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(
            dtype
        )
        params[f"b{i}"] = (0.1 * rng.standard_normal(fan_out)).astype(dtype)
        if i <= len(hidden):
            params[f"gamma{i}"] = (1 + 0.1 * rng.standard_normal(fan_out)).astype(dtype)
            params[f"beta{i}"] = (0.1 * rng.standard_normal(fan_out)).astype(dtype)
    return X, y, params


def dropout_param(layer):
    return {"mode": "train", "p": P_DROP, "seed": 1000 + layer}


def build(dtype=np.float64, size="full", readonly_inputs=False, peers=None):
    """The case for ``dtype`` at ``size`` ("full" or "smoke").

    ``readonly_inputs``: X and y are read-only arrays, so tapegrad's guard
    against their later mutation (a copy when recorded) is skipped: run.py
    uses it to measure what that guard costs. ``peers``: the peers to build
    (None: all; a missing one is n/a).
    """
    dims = FULL if size == "full" else SMOKE
    dtype = np.dtype(dtype)
    X, y, params = make_problem(dtype, **dims)
    if readonly_inputs:
        X.flags.writeable = False
        y.flags.writeable = False
    n_hidden = len(dims["hidden"])
    tol = 1e-8 if dtype == np.float64 else 2e-3
    case = Case(f"mlp-step {dtype.name}", unit="ms", n_ops=1, rtol=tol, atol=tol * 1e-2)
    try:
        layers, functional = nn_modules()
    except ImportError as error:
        missing = Unavailable(f"tg.nn not available yet ({error})")
        case.impls = {"numpy": missing, "tapegrad": missing, "tapegrad (elementary)": missing}
        return case
    problem = (X, y, params, n_hidden, layers)
    case.impls["numpy"] = try_build(_numpy, *problem)
    case.impls["tapegrad"] = try_build(_tapegrad_fused, *problem, functional)
    case.impls["tapegrad compiled"] = try_build(_tapegrad_compiled, *problem, functional)
    case.impls["tapegrad (elementary)"] = try_build(_tapegrad_elementary, *problem)
    for engine, builder in PEER_BUILDERS.items():
        if peers is not None and engine not in peers:
            continue
        case.impls[engine] = try_build(builder, *problem)
    return case


def _masks(X, params, n_hidden, layers):
    """The dropout masks of one step, drawn as ``tg.nn.layers.dropout_forward`` draws them."""
    masks = []
    for i in range(1, n_hidden + 1):
        width = params[f"b{i}"].shape[0]
        ones = np.ones((X.shape[0], width), dtype=X.dtype)
        mask = layers.dropout_forward(ones, dropout_param(i))[1][1]
        # The guard-cost run makes every constant read-only (see build).
        mask.flags.writeable = X.flags.writeable
        masks.append(mask)
    return masks


def _numpy(X, y, params, n_hidden, layers):
    bn_params = [{"mode": "train"} for _ in range(n_hidden)]

    def run():
        grads = {}
        caches = []
        h = X
        for i in range(1, n_hidden + 1):
            h, affine_cache = layers.affine_forward(h, params[f"W{i}"], params[f"b{i}"])
            h, bn_cache = layers.batchnorm_forward(
                h, params[f"gamma{i}"], params[f"beta{i}"], bn_params[i - 1]
            )
            h, relu_cache = layers.relu_forward(h)
            h, dropout_cache = layers.dropout_forward(h, dropout_param(i))
            caches.append((affine_cache, bn_cache, relu_cache, dropout_cache))
        last = n_hidden + 1
        scores, last_cache = layers.affine_forward(h, params[f"W{last}"], params[f"b{last}"])
        _loss, dscores = layers.softmax_loss(scores, y)
        dh, grads[f"W{last}"], grads[f"b{last}"] = layers.affine_backward(dscores, last_cache)
        for i in range(n_hidden, 0, -1):
            affine_cache, bn_cache, relu_cache, dropout_cache = caches[i - 1]
            dh = layers.dropout_backward(dh, dropout_cache)
            dh = layers.relu_backward(dh, relu_cache)
            dh, grads[f"gamma{i}"], grads[f"beta{i}"] = layers.batchnorm_backward(dh, bn_cache)
            dh, grads[f"W{i}"], grads[f"b{i}"] = layers.affine_backward(dh, affine_cache)
        return grads

    return Impl(run=run)


def _leaves(tg, params):
    # Long-lived parameters, as in training: each step clears their .grad.
    return {name: tg.Tensor(value, requires_grad=True) for name, value in params.items()}


def _tapegrad_fused(X, y, params, n_hidden, layers, functional):
    import tapegrad as tg

    F = functional
    leaves = _leaves(tg, params)
    bn_params = [{"mode": "train"} for _ in range(n_hidden)]

    def run():
        for leaf in leaves.values():
            leaf.grad = None
        h = X
        for i in range(1, n_hidden + 1):
            h = F.affine(h, leaves[f"W{i}"], leaves[f"b{i}"])
            h = F.batchnorm(h, leaves[f"gamma{i}"], leaves[f"beta{i}"], bn_params[i - 1])
            h = F.relu(h)
            h = F.dropout(h, dropout_param(i))
        last = n_hidden + 1
        scores = F.affine(h, leaves[f"W{last}"], leaves[f"b{last}"])
        F.softmax_loss(scores, y).backward()
        return {name: leaf.grad for name, leaf in leaves.items()}

    return Impl(run=run)


def _tapegrad_compiled(X, y, params, n_hidden, layers, functional):
    import tapegrad as tg

    F = functional
    bn_params = [{"mode": "train"} for _ in range(n_hidden)]

    def loss(p, X, y):
        h = X
        for i in range(1, n_hidden + 1):
            h = F.affine(h, p[f"W{i}"], p[f"b{i}"])
            h = F.batchnorm(h, p[f"gamma{i}"], p[f"beta{i}"], bn_params[i - 1])
            h = F.relu(h)
            h = F.dropout(h, dropout_param(i))
        last = n_hidden + 1
        return F.softmax_loss(F.affine(h, p[f"W{last}"], p[f"b{last}"]), y)

    step = tg.compile(tg.grad(loss))

    def run():
        return step(params, X, y)

    return Impl(run=run)


def _tapegrad_elementary(X, y, params, n_hidden, layers):
    import tapegrad as tg

    leaves = _leaves(tg, params)
    rows = np.arange(X.shape[0])
    rows.flags.writeable = False

    def batchnorm(h, gamma, beta):
        n = h.shape[0]
        centered = h - tg.sum(h, axis=0) / n
        var = tg.sum(centered * centered, axis=0) / n
        return gamma * (centered / (var + EPS) ** 0.5) + beta

    def softmax_loss(scores):
        # Softmax is shift invariant: the row max is a constant.
        shifted = scores - np.max(scores.data, axis=1, keepdims=True)
        log_probs = shifted - tg.log(tg.sum(tg.exp(shifted), axis=1, keepdims=True))
        return -tg.sum(log_probs[rows, y]) / scores.shape[0]

    def run():
        for leaf in leaves.values():
            leaf.grad = None
        masks = _masks(X, params, n_hidden, layers)
        h = X
        for i in range(1, n_hidden + 1):
            h = h @ leaves[f"W{i}"] + leaves[f"b{i}"]
            h = batchnorm(h, leaves[f"gamma{i}"], leaves[f"beta{i}"])
            h = tg.where(h > 0, h, 0.0)
            h = h * masks[i - 1]
        last = n_hidden + 1
        softmax_loss(h @ leaves[f"W{last}"] + leaves[f"b{last}"]).backward()
        return {name: leaf.grad for name, leaf in leaves.items()}

    return Impl(run=run)


def _torch(X, y, params, n_hidden, layers):
    torch = peer_module("torch")
    F = torch.nn.functional
    leaves = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    X_t = torch.from_numpy(X)
    y_t = torch.from_numpy(y)

    def run():
        for leaf in leaves.values():
            leaf.grad = None
        masks = [torch.from_numpy(m) for m in _masks(X, params, n_hidden, layers)]
        h = X_t
        for i in range(1, n_hidden + 1):
            h = torch.addmm(leaves[f"b{i}"], h, leaves[f"W{i}"])
            h = F.batch_norm(
                h, None, None, leaves[f"gamma{i}"], leaves[f"beta{i}"], training=True, eps=EPS
            )
            h = torch.relu(h) * masks[i - 1]
        last = n_hidden + 1
        scores = torch.addmm(leaves[f"b{last}"], h, leaves[f"W{last}"])
        F.cross_entropy(scores, y_t).backward()
        return {name: leaf.grad.numpy() for name, leaf in leaves.items()}

    return Impl(run=run)


def _elementary_loss(xp, X, y, n_hidden, take_rows):
    """The net written against a numpy-like module ``xp`` (autograd, MyGrad, JAX)."""
    rows = np.arange(X.shape[0])

    def loss(params, masks):
        h = X
        for i in range(1, n_hidden + 1):
            h = xp.matmul(h, params[f"W{i}"]) + params[f"b{i}"]
            centered = h - xp.mean(h, axis=0)
            var = xp.mean(centered * centered, axis=0)
            h = params[f"gamma{i}"] * (centered / xp.sqrt(var + EPS)) + params[f"beta{i}"]
            h = xp.maximum(h, 0.0) * masks[i - 1]
        last = n_hidden + 1
        scores = xp.matmul(h, params[f"W{last}"]) + params[f"b{last}"]
        shifted = scores - xp.max(scores, axis=1, keepdims=True)
        log_probs = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
        return -xp.sum(take_rows(log_probs, rows, y)) / X.shape[0]

    return loss


def _index(array, rows, cols):
    return array[rows, cols]


def _autograd(X, y, params, n_hidden, layers):
    autograd = peer_module("autograd")
    gradient = autograd.grad(_elementary_loss(autograd.numpy, X, y, n_hidden, _index))

    def run():
        return gradient(params, _masks(X, params, n_hidden, layers))

    return Impl(run=run)


def _mygrad(X, y, params, n_hidden, layers):
    mg = peer_module("mygrad")
    leaves = {name: mg.tensor(value) for name, value in params.items()}
    loss = _elementary_loss(mg, X, y, n_hidden, _index)

    def run():
        loss(leaves, _masks(X, params, n_hidden, layers)).backward()
        return {name: np.array(leaf.grad) for name, leaf in leaves.items()}

    return Impl(run=run)


def _jax(X, y, params, n_hidden, layers):
    jax = peer_module("jax")
    gradient = jax.grad(_elementary_loss(jax.numpy, X, y, n_hidden, _index))

    def run():
        grads = gradient(params, _masks(X, params, n_hidden, layers))
        return {name: np.asarray(g) for name, g in grads.items()}

    return Impl(run=run)


PEER_BUILDERS = {"PyTorch": _torch, "autograd": _autograd, "MyGrad": _mygrad, "JAX": _jax}
