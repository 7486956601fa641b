"""tiny-chain: 2,000 chained elementwise ops on a shape-(8,) float64 array.

The ops cycle through multiply by a constant, add a constant, tanh and x*x;
then sum and backward. On 8 elements every op costs what the engine's
Python around it costs, so this measures per-op overhead. The numpy floor is
the same forward on raw ndarrays plus a hand-written backward.
"""

from __future__ import annotations

import numpy as np

from ..harness import Case, Impl, peer_module, try_build

MUL = 0.9
ADD = 0.1


def chain(x, tanh, n_ops):
    """The forward pass, written once for every engine (they all overload * and +)."""
    for _ in range(n_ops // 4):
        x = x * MUL
        x = x + ADD
        x = tanh(x)
        x = x * x
    return x


def build(n_ops=2000, size=8, seed=0, peers=None):
    """The case; ``peers``: the peers to build (None: all; a missing one is n/a)."""
    if n_ops % 4:
        raise ValueError(f"tiny-chain: n_ops must be a multiple of 4, got {n_ops}")
    x0 = np.random.default_rng(seed).standard_normal(size)
    case = Case("tiny-chain", unit="us/op", n_ops=n_ops, rtol=1e-9, atol=1e-12)
    case.impls["numpy"] = _numpy(x0, n_ops)
    case.impls["tapegrad"] = try_build(_tapegrad, x0, n_ops)
    case.impls["tapegrad compiled"] = try_build(_tapegrad_compiled, x0, n_ops)
    for engine, builder in PEER_BUILDERS.items():
        if peers is not None and engine not in peers:
            continue
        case.impls[engine] = try_build(builder, x0, n_ops)
    return case


def _numpy(x0, n_ops):
    def forward():
        return np.sum(chain(x0, np.tanh, n_ops))

    def run():
        # Forward, keeping the tanh outputs: they are all the backward needs
        # (each tanh output is also the input of the following x*x).
        saved = []
        x = x0
        for _ in range(n_ops // 4):
            x = x * MUL
            x = x + ADD
            t = np.tanh(x)
            saved.append(t)
            x = t * t
        np.sum(x)
        g = np.ones_like(x0)
        for t in reversed(saved):
            g = g * (t + t)  # x*x
            g = g * (1.0 - t * t)  # tanh
            g = g * MUL  # (add has gradient 1)
        return {"x": g}

    return Impl(run=run, forward=forward)


def _tapegrad(x0, n_ops):
    import tapegrad as tg

    def forward():
        x = tg.Tensor(x0, requires_grad=True)
        return tg.sum(chain(x, tg.tanh, n_ops))

    def run():
        x = tg.Tensor(x0, requires_grad=True)
        tg.sum(chain(x, tg.tanh, n_ops)).backward()
        return {"x": x.grad}

    return Impl(run=run, forward=forward)


def _tapegrad_compiled(x0, n_ops):
    import tapegrad as tg

    def loss(x):
        return tg.sum(chain(x, tg.tanh, n_ops))

    step = tg.compile(tg.grad(loss))
    forward_only = tg.compile(loss)

    def forward():
        return forward_only(x0)

    def run():
        return {"x": step(x0)}

    return Impl(run=run, forward=forward)


def _torch(x0, n_ops):
    torch = peer_module("torch")

    def forward():
        x = torch.tensor(x0, requires_grad=True)
        return chain(x, torch.tanh, n_ops).sum()

    def run():
        x = torch.tensor(x0, requires_grad=True)
        chain(x, torch.tanh, n_ops).sum().backward()
        return {"x": x.grad.numpy()}

    return Impl(run=run, forward=forward)


def _autograd(x0, n_ops):
    autograd = peer_module("autograd")
    anp = autograd.numpy

    def loss(x):
        return anp.sum(chain(x, anp.tanh, n_ops))

    gradient = autograd.grad(loss)
    record = autograd.make_vjp(loss)

    def forward():
        return record(x0)

    def run():
        return {"x": gradient(x0)}

    return Impl(run=run, forward=forward)


def _mygrad(x0, n_ops):
    mg = peer_module("mygrad")

    def forward():
        return mg.sum(chain(mg.tensor(x0), mg.tanh, n_ops))

    def run():
        x = mg.tensor(x0)
        mg.sum(chain(x, mg.tanh, n_ops)).backward()
        return {"x": np.array(x.grad)}

    return Impl(run=run, forward=forward)


def _jax(x0, n_ops):
    jax = peer_module("jax")
    jnp = jax.numpy

    def loss(x):
        return jnp.sum(chain(x, jnp.tanh, n_ops))

    gradient = jax.grad(loss)  # eager (no jit): op-by-op, like the others

    def forward():
        return jax.vjp(loss, x0)

    def run():
        return {"x": np.asarray(gradient(x0))}

    return Impl(run=run, forward=forward)


PEER_BUILDERS = {"PyTorch": _torch, "autograd": _autograd, "MyGrad": _mygrad, "JAX": _jax}
