"""transforms: forward mode, Jacobians and Hessians against the passes they are built from.

Each group is timed interleaved (its measures take turns) and reported as
ratios to the group's baseline:

- tiny-chain jvp: ``tg.jvp`` of the tiny-chain loss (2,000 elementwise ops
  on 8 elements) against its primal: the forward on plain Tensors (no
  recording), the recorded forward, and ``tg.grad``.
- mlp-step jvp: ``tg.jvp`` of the fused mlp-step loss (all parameters get a
  tangent) against its primal on plain arrays, the recorded forward from the
  same arrays, and ``tg.vjp`` (forward + backward).
- jacobian: ``jacfwd`` and ``jacrev`` of ``x -> tanh(A x)``, R^n -> R^m for
  (n, m) = (10, 1000) and (1000, 10): forward mode should win on few
  inputs, reverse mode on few outputs.
- hessian: ``tg.hessian`` of a scalar function of 100 parameters; the peers
  (HIPS autograd, ``torch.func.hessian``, ``jax.hessian``) run when installed.

Before timing, every group checks its results against a second route
(jvp against vjp by the dot-product test, jacfwd against jacrev, the
Hessian against the forward-mode Jacobian of the gradient).
"""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np

from . import mlp_step, tiny_chain


@dataclasses.dataclass
class Group:
    """Callables timed together; ``baseline`` is the key the ratios divide by."""

    name: str
    unit: str  # "ms" or "us/op"
    n_ops: int
    baseline: str
    fns: dict
    notes: dict = dataclasses.field(default_factory=dict)  # key -> text in place of a time
    target: tuple | None = None  # (key, ratio to baseline it should stay under)


def build(smoke=False):
    """The groups, each checked once (AssertionError if a route disagrees)."""
    import tapegrad as tg

    return [
        _tiny_chain(tg, 40 if smoke else 2000),
        _mlp(tg, smoke),
        _jacobian(tg, 10, 1000 if not smoke else 30),
        _jacobian(tg, 1000 if not smoke else 30, 10),
        _hessian(tg, 100 if not smoke else 10),
    ]


def _tiny_chain(tg, n_ops):
    x0 = np.random.default_rng(0).standard_normal(8)
    t0 = np.random.default_rng(1).standard_normal(8)

    def loss(x):
        return tg.sum(tiny_chain.chain(x, tg.tanh, n_ops))

    def primal_plain():
        return loss(tg.Tensor(x0))

    def primal_recorded():
        return loss(tg.Tensor(x0, requires_grad=True))

    def forward_mode():
        return tg.jvp(loss, (x0,), (t0,))

    def reverse_mode():
        return tg.grad(loss)(x0)

    _, t_out = forward_mode()
    _dot_product(float(t_out), reverse_mode() @ t0, "tiny-chain jvp")
    fns = {
        "primal (plain Tensors)": primal_plain,
        "primal (recorded)": primal_recorded,
        "jvp": forward_mode,
        "grad": reverse_mode,
    }
    return Group("tiny-chain jvp", "us/op", n_ops, "primal (recorded)", fns, target=("jvp", 2.0))


def _mlp(tg, smoke):
    _, functional = mlp_step.nn_modules()
    dims = mlp_step.SMOKE if smoke else mlp_step.FULL
    X, y, params = mlp_step.make_problem(np.float64, **dims)
    n_hidden = len(dims["hidden"])
    rng = np.random.default_rng(5)
    tangents = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    F = functional

    def loss(p):
        h = X
        for i in range(1, n_hidden + 1):
            h = F.affine(h, p[f"W{i}"], p[f"b{i}"])
            h = F.batchnorm(h, p[f"gamma{i}"], p[f"beta{i}"], {"mode": "train"})
            h = F.relu(h)
            h = F.dropout(h, mlp_step.dropout_param(i))
        last = n_hidden + 1
        return F.softmax_loss(F.affine(h, p[f"W{last}"], p[f"b{last}"]), y)

    def primal_plain():
        return loss(params)  # ndarrays: nothing is recorded

    def primal_recorded():
        # From the same arrays as jvp and vjp, which make them leaves (a copy each).
        return loss({k: tg.Tensor(v, requires_grad=True) for k, v in params.items()})

    def forward_mode():
        return tg.jvp(loss, (params,), (tangents,))

    def reverse_mode():
        return tg.vjp(loss, params)[1](1.0)

    _, t_out = forward_mode()
    (grads,) = reverse_mode()
    _dot_product(float(t_out), sum(np.vdot(grads[k], tangents[k]) for k in params), "mlp jvp")
    fns = {
        "primal (plain arrays)": primal_plain,
        "primal (recorded)": primal_recorded,
        "jvp": forward_mode,
        "vjp": reverse_mode,
    }
    return Group("mlp-step float64 jvp", "ms", 1, "primal (recorded)", fns, target=("jvp", 2.0))


def _jacobian(tg, n, m):
    rng = np.random.default_rng(n + m)
    a = rng.standard_normal((m, n)) / np.sqrt(n)
    x0 = rng.standard_normal(n)

    def f(x):
        return tg.tanh(a @ x)

    def forward():
        return tg.jacfwd(f)(x0)

    def reverse():
        return tg.jacrev(f)(x0)

    expected = (1 - np.tanh(a @ x0) ** 2)[:, None] * a
    for route in (forward, reverse):
        np.testing.assert_allclose(route(), expected, rtol=1e-12, atol=1e-14)
    winner = "jacfwd" if n < m else "jacrev"
    loser = "jacrev" if n < m else "jacfwd"
    fns = {"jacfwd": forward, "jacrev": reverse}
    return Group(f"jacobian R^{n} -> R^{m}", "ms", 1, loser, fns, target=(winner, 1.0))


def _hessian(tg, n):
    rng = np.random.default_rng(n)
    w = rng.standard_normal((n, n)) / np.sqrt(n)
    x0 = rng.standard_normal(n)

    def f(x):
        return tg.sum(tg.log(tg.cosh(w @ x))) + 0.5 * tg.sum(x * x) * tg.sum(tg.sin(x))

    def hessian():
        return tg.hessian(f)(x0)

    def forward_over_reverse():
        return tg.jacfwd(tg.grad(f))(x0)

    h = hessian()
    np.testing.assert_allclose(h, h.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h, forward_over_reverse(), rtol=1e-10, atol=1e-12)
    fns = {"tg.hessian": hessian, "jacfwd(grad)": forward_over_reverse}
    notes = {}
    for label, module in (
        ("HIPS autograd", "autograd"),
        ("torch.func.hessian", "torch"),
        ("jax.hessian", "jax"),
    ):
        if importlib.util.find_spec(module) is None:
            notes[label] = "n/a (not installed)"
        else:
            notes[label] = "n/a (not wired up: installed after this row was written)"
    return Group(f"hessian, {n} parameters", "ms", 1, "tg.hessian", fns, notes=notes)


def _dot_product(forward, reverse, name):
    if not np.isclose(forward, reverse, rtol=1e-9, atol=1e-12):
        raise AssertionError(f"{name}: <1, J t> = {forward!r} but <J^T 1, t> = {reverse!r}")
