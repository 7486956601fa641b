"""many-small-params: one loss over 1,000 separate parameter tensors of shape (3,).

``loss = sum_i sum(tanh(p_i) * c_i)`` with a constant array ``c_i`` per
parameter. The parameters are long-lived leaves, as in a training loop: each
step clears their gradients, runs forward and backward and reads 1,000
``.grad`` arrays. This measures the per-leaf cost (accumulating into leaves,
the constants' mutation guard) rather than depth.
"""

from __future__ import annotations

import numpy as np

from ..harness import Case, Impl, peer_module, try_build


def build(n_params=1000, size=3, seed=0, readonly_constants=False, peers=None):
    """``readonly_constants``: the constants are read-only arrays, so tapegrad's
    guard against their later mutation (a copy when recorded) is skipped:
    run.py uses it to measure what that guard costs. ``peers``: the peers to
    build (None: all; a missing one is n/a)."""
    rng = np.random.default_rng(seed)
    p0 = [rng.standard_normal(size) for _ in range(n_params)]
    c0 = [rng.standard_normal(size) for _ in range(n_params)]
    if readonly_constants:
        for c in c0:
            c.flags.writeable = False
    case = Case("many-small-params", unit="ms", n_ops=4 * n_params, rtol=1e-12, atol=1e-14)
    case.impls["numpy"] = _numpy(p0, c0)
    case.impls["tapegrad"] = try_build(_tapegrad, p0, c0)
    case.impls["tapegrad compiled"] = try_build(_tapegrad_compiled, p0, c0)
    for engine, builder in PEER_BUILDERS.items():
        if peers is not None and engine not in peers:
            continue
        case.impls[engine] = try_build(builder, p0, c0)
    return case


def _by_name(grads):
    return {f"p{i}": np.asarray(g) for i, g in enumerate(grads)}


def _numpy(p0, c0):
    def run():
        total = 0.0
        saved = []
        for p, c in zip(p0, c0):
            t = np.tanh(p)
            saved.append(t)
            total = total + np.sum(t * c)
        return _by_name([c * (1.0 - t * t) for t, c in zip(saved, c0)])

    return Impl(run=run)


def _tapegrad(p0, c0):
    import tapegrad as tg

    params = [tg.Tensor(p, requires_grad=True) for p in p0]

    def run():
        for p in params:
            p.grad = None
        total = 0.0
        for p, c in zip(params, c0):
            total = total + tg.sum(tg.tanh(p) * c)
        total.backward()
        return _by_name([p.grad for p in params])

    return Impl(run=run)


def _tapegrad_compiled(p0, c0):
    import tapegrad as tg

    def loss(params):
        total = 0.0
        for p, c in zip(params, c0):
            total = total + tg.sum(tg.tanh(p) * c)
        return total

    step = tg.compile(tg.grad(loss))

    def run():
        return _by_name(step(p0))

    return Impl(run=run)


def _torch(p0, c0):
    torch = peer_module("torch")
    params = [torch.tensor(p, requires_grad=True) for p in p0]
    constants = [torch.from_numpy(c) for c in c0]

    def run():
        for p in params:
            p.grad = None
        total = 0.0
        for p, c in zip(params, constants):
            total = total + torch.sum(torch.tanh(p) * c)
        total.backward()
        return _by_name([p.grad.numpy() for p in params])

    return Impl(run=run)


def _autograd(p0, c0):
    autograd = peer_module("autograd")
    anp = autograd.numpy

    def loss(params):
        total = 0.0
        for p, c in zip(params, c0):
            total = total + anp.sum(anp.tanh(p) * c)
        return total

    gradient = autograd.grad(loss)

    def run():
        return _by_name(gradient(p0))

    return Impl(run=run)


def _mygrad(p0, c0):
    mg = peer_module("mygrad")
    params = [mg.tensor(p) for p in p0]

    def run():
        total = 0.0
        for p, c in zip(params, c0):
            total = total + mg.sum(mg.tanh(p) * c)
        total.backward()
        return _by_name([p.grad for p in params])

    return Impl(run=run)


def _jax(p0, c0):
    jax = peer_module("jax")
    jnp = jax.numpy

    def loss(params):
        total = 0.0
        for p, c in zip(params, c0):
            total = total + jnp.sum(jnp.tanh(p) * c)
        return total

    gradient = jax.grad(loss)

    def run():
        return _by_name(gradient(p0))

    return Impl(run=run)


PEER_BUILDERS = {"PyTorch": _torch, "autograd": _autograd, "MyGrad": _mygrad, "JAX": _jax}
