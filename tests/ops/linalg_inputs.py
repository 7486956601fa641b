"""Inputs and the edge-case check shared by tests/ops/test_linalg.py and test_spectral.py."""

import numpy as np

import tapegrad as tg
from tapegrad.testing import check_grads


def real(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def wellcond(*shape, seed=0):
    """Square matrices (..., n, n) with eigenvalues near n: far from singular."""
    n = shape[-1]
    return real(*shape, seed=seed) * 0.5 + n * np.eye(n)


def check_edge(fun, x):
    """A 0-d or size-0 input: numpy's value and shape, a finite gradient of x's shape."""
    out = fun(tg.tensor(x, requires_grad=True))
    expected = fun(x)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected)
    _, vjp_fn = tg.vjp(fun, x)
    (grad,) = vjp_fn(np.ones(out.shape))
    assert np.shape(grad) == x.shape and np.all(np.isfinite(grad))
    if x.size:
        check_grads(fun, x, order=2)
