"""deep-chain: 20,000 ops on 0-d float64 values, one shared weight.

Each group of four ops is ``y * w``, ``+ c``, ``tanh``, ``* c`` with the same
0-d weight ``w`` in every group, so besides depth (no recursion limit, the
cost of ordering 20,000 nodes) this measures gradient accumulation into one
node from 5,000 places. Shapes are 0-d, where numpy returns scalars and the
engine must turn them back into arrays.
"""

from __future__ import annotations

import numpy as np

from ..harness import Case, Impl, peer_module, try_build

ADD = 0.1
SCALE = 1.2


def chain(y, w, tanh, n_ops):
    for _ in range(n_ops // 4):
        y = y * w
        y = y + ADD
        y = tanh(y)
        y = y * SCALE
    return y


def build(n_ops=20_000, peers=None):
    """The case; ``peers``: the peers to build (None: all; a missing one is n/a)."""
    if n_ops % 4:
        raise ValueError(f"deep-chain: n_ops must be a multiple of 4, got {n_ops}")
    x0 = np.array(0.5)
    w0 = np.array(0.9)
    case = Case("deep-chain", unit="us/op", n_ops=n_ops, rtol=1e-9, atol=1e-12)
    case.impls["numpy"] = _numpy(x0, w0, n_ops)
    case.impls["tapegrad"] = try_build(_tapegrad, x0, w0, n_ops)
    case.impls["tapegrad compiled"] = try_build(_tapegrad_compiled, x0, w0, n_ops)
    for engine, builder in PEER_BUILDERS.items():
        if peers is not None and engine not in peers:
            continue
        case.impls[engine] = try_build(builder, x0, w0, n_ops)
    return case


def _numpy(x0, w0, n_ops):
    def run():
        saved = []
        y = x0
        for _ in range(n_ops // 4):
            before = y
            y = y * w0
            y = y + ADD
            t = np.tanh(y)
            saved.append((before, t))
            y = t * SCALE
        g = np.ones_like(x0)
        gw = np.zeros_like(w0)
        for before, t in reversed(saved):
            g = g * SCALE
            g = g * (1.0 - t * t)
            gw = gw + g * before
            g = g * w0
        return {"x": np.asarray(g), "w": np.asarray(gw)}

    return Impl(run=run)


def _tapegrad(x0, w0, n_ops):
    import tapegrad as tg

    def run():
        x = tg.Tensor(x0, requires_grad=True)
        w = tg.Tensor(w0, requires_grad=True)
        chain(x, w, tg.tanh, n_ops).backward()
        return {"x": x.grad, "w": w.grad}

    return Impl(run=run)


def _tapegrad_compiled(x0, w0, n_ops):
    import tapegrad as tg

    step = tg.compile(tg.grad(lambda x, w: chain(x, w, tg.tanh, n_ops), argnums=(0, 1)))

    def run():
        gx, gw = step(x0, w0)
        return {"x": gx, "w": gw}

    return Impl(run=run)


def _torch(x0, w0, n_ops):
    torch = peer_module("torch")

    def run():
        x = torch.tensor(x0, requires_grad=True)
        w = torch.tensor(w0, requires_grad=True)
        chain(x, w, torch.tanh, n_ops).backward()
        return {"x": x.grad.numpy(), "w": w.grad.numpy()}

    return Impl(run=run)


def _autograd(x0, w0, n_ops):
    autograd = peer_module("autograd")
    anp = autograd.numpy

    def loss(x, w):
        return chain(x, w, anp.tanh, n_ops)

    gradient = autograd.grad(loss, argnum=(0, 1))

    def run():
        gx, gw = gradient(x0, w0)
        return {"x": np.asarray(gx), "w": np.asarray(gw)}

    return Impl(run=run)


def _mygrad(x0, w0, n_ops):
    mg = peer_module("mygrad")

    def run():
        x = mg.tensor(x0)
        w = mg.tensor(w0)
        chain(x, w, mg.tanh, n_ops).backward()
        return {"x": np.array(x.grad), "w": np.array(w.grad)}

    return Impl(run=run)


def _jax(x0, w0, n_ops):
    jax = peer_module("jax")

    def loss(x, w):
        return chain(x, w, jax.numpy.tanh, n_ops)

    gradient = jax.grad(loss, argnums=(0, 1))

    def run():
        gx, gw = gradient(x0, w0)
        return {"x": np.asarray(gx), "w": np.asarray(gw)}

    return Impl(run=run)


PEER_BUILDERS = {"PyTorch": _torch, "autograd": _autograd, "MyGrad": _mygrad, "JAX": _jax}
