"""Every built-in primitive on complex inputs: the right gradient, or it raises.

The convention (docs/conventions.md): for a real loss L, the gradient of a
complex z is dL/dRe(z) + 1j dL/dIm(z), so a small step d changes L by
Re(sum(conj(grad) * d)). For each primitive's domain examples, turned
complex, the gradient of a real loss of its outputs is checked against
central differences along random complex directions; a primitive whose rule
is derived for real inputs must refuse (``real_only``) rather than answer.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import tapegrad as tg
import tapegrad.nn.functional
from tapegrad.testing import builtin_primitives
from tapegrad.testing.primitive_check import differentiable_positions
from tapegrad.testing.strategies import examples

PRIMITIVES = {name: p for name, p in sorted(builtin_primitives().items()) if p.domain is not None}


def _loss(prim, args, kwargs, positions):
    def loss(*zs):
        full = list(args)
        for i, z in zip(positions, zs):
            full[i] = z
        outs = prim(*full, **kwargs)
        total = 0.0
        for out in outs if isinstance(outs, (tuple, list)) else (outs,):
            if isinstance(out, tg.Tensor) and out.dtype.kind in "fc":
                total = total + tg.sum(tg.abs(out * 0.7 + 0.2) ** 2)
        return total

    return loss


@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_complex_inputs_give_the_right_gradient_or_raise(name):
    prim = PRIMITIVES[name]

    @settings(
        max_examples=2,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(examples(prim, dtype=np.float64))
    def check(example):
        args, kwargs = example
        positions = [i for i in differentiable_positions(prim, args) if args[i].dtype == np.float64]
        if not positions:
            return
        assume(all(np.size(args[i]) > 0 for i in positions))
        rng = np.random.default_rng(0)
        args = list(args)
        for i in positions:
            a = np.asarray(args[i])
            # A nonzero imaginary part, away from the real axis's branch cuts.
            args[i] = np.array(a + 0.3j * rng.uniform(0.5, 1.0, a.shape) * np.sign(a + 0.01))
        loss = _loss(prim, args, kwargs, positions)
        zs = [args[i] for i in positions]
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                value = loss(*[tg.tensor(z) for z in zs])
                grads = tg.grad(loss, argnums=tuple(range(len(zs))))(*zs)
            except (NotImplementedError, TypeError, ValueError):
                return  # refused: never a silent answer
            if not isinstance(value, tg.Tensor) or not np.isfinite(float(value)):
                return
            for _ in range(2):
                directions = [
                    rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape) for z in zs
                ]
                eps = 1e-6
                plus = float(loss(*[tg.tensor(z + eps * d) for z, d in zip(zs, directions)]))
                minus = float(loss(*[tg.tensor(z - eps * d) for z, d in zip(zs, directions)]))
                numeric = (plus - minus) / (2 * eps)
                analytic = sum(
                    np.real(np.sum(np.conj(np.asarray(g)) * d)) for g, d in zip(grads, directions)
                )
                assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-5), (
                    f"{name}: complex gradient {analytic} vs central differences {numeric}"
                )

    check()


def test_a_real_only_rule_refuses_a_complex_input_naming_it():
    z = tg.tensor(np.array([1.0 + 1.0j]), requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"'sigmoid'.*complex128"):
        tg.sigmoid(z)
    assert tg.sigmoid(tg.tensor(np.array([0.0]), requires_grad=True)).numpy()[0] == 0.5


def test_eig_refuses_a_loss_that_depends_on_the_eigenvectors_phase():
    a = np.array([[0.0, -2.0], [1.0, 0.5]])  # complex spectrum

    def phase_dependent(m):
        return tg.sum(tg.real(tg.linalg.eig(m).eigenvectors))

    def phase_invariant(m):
        vectors = tg.linalg.eig(m).eigenvectors
        return tg.sum(tg.abs(vectors[0] * tg.conj(vectors[1])) ** 2)

    with pytest.raises(ValueError, match="phase"):
        tg.grad(phase_dependent)(a)
    eps = 1e-6
    numeric = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        step = np.zeros_like(a)
        step[idx] = eps
        numeric[idx] = (
            float(phase_invariant(tg.tensor(a + step)))
            - float(phase_invariant(tg.tensor(a - step)))
        ) / (2 * eps)
    assert np.allclose(tg.grad(phase_invariant)(a), numeric, rtol=1e-5, atol=1e-7)
