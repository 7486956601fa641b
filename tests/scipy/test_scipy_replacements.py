"""tapegrad.scipy._replacements: the tapegrad.scipy twin of the scipy function that
refused a Tensor, read from the stack of the refusal."""

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.signal
import scipy.special
import scipy.stats

import tapegrad as tg
from tapegrad.scipy._replacements import replacement

MATRIX = np.eye(2) + 0.1
VECTOR = np.ones(3)

# (the scipy call, on Tensors m (2 x 2) and v (3,) that require grad; its twin)
CALLS = [
    (lambda m, v: scipy.linalg.expm(m), "tapegrad.scipy.linalg.expm"),
    (lambda m, v: scipy.linalg.sqrtm(m), "tapegrad.scipy.linalg.sqrtm"),
    (lambda m, v: scipy.linalg.logm(m), "tapegrad.scipy.linalg.logm"),
    (lambda m, v: scipy.linalg.lu_factor(m), "tapegrad.scipy.linalg.lu_factor"),
    (
        lambda m, v: scipy.linalg.lu_solve((m, np.array([0, 1])), VECTOR[:2]),
        "tapegrad.scipy.linalg.lu_solve",
    ),
    (lambda m, v: scipy.linalg.solve(m, VECTOR[:2], assume_a="sym"), "tapegrad.scipy.linalg.solve"),
    (lambda m, v: scipy.linalg.solve_sylvester(m, m, m), "tapegrad.scipy.linalg.solve_sylvester"),
    (lambda m, v: scipy.linalg.cho_factor(m), "tapegrad.scipy.linalg.cho_factor"),
    (
        lambda m, v: scipy.linalg.solve_triangular(m, VECTOR[:2]),
        "tapegrad.scipy.linalg.solve_triangular",
    ),
    (lambda m, v: scipy.special.logsumexp(v), "tapegrad.scipy.special.logsumexp"),
    (lambda m, v: scipy.stats.norm.logpdf(v), "tapegrad.scipy.stats.norm.logpdf"),
    (lambda m, v: scipy.stats.poisson.logpmf(3, v), "tapegrad.scipy.stats.poisson.logpmf"),
    (
        lambda m, v: scipy.stats.multivariate_normal.logpdf(v, np.zeros(3)),
        "tapegrad.scipy.stats.multivariate_normal.logpdf",
    ),
    (lambda m, v: scipy.signal.convolve(v, VECTOR), "tapegrad.scipy.signal.convolve"),
    (lambda m, v: scipy.signal.correlate(m, m, mode="same"), "tapegrad.scipy.signal.correlate"),
    (
        lambda m, v: scipy.integrate.odeint(lambda y, t: -y, v, [0.0, 1.0]),
        "tapegrad.scipy.integrate.odeint",
    ),
    # No twin: scipy's svd shares expm's batching decorator, and must not be named logm.
    (lambda m, v: scipy.linalg.svd(m), None),
    (lambda m, v: scipy.stats.norm.entropy(v), None),
]


def _refusing_frame(call):
    m = tg.tensor(MATRIX, requires_grad=True)
    v = tg.tensor(VECTOR, requires_grad=True)
    with pytest.raises(TypeError, match="would silently drop its gradient") as caught:
        call(m, v)
    traceback = caught.value.__traceback__
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback.tb_frame, str(caught.value)


@pytest.mark.parametrize(("call", "twin"), CALLS, ids=[str(twin) for _, twin in CALLS])
def test_the_refusal_of_a_scipy_function_finds_its_twin(call, twin):
    frame, message = _refusing_frame(call)
    assert replacement(frame) == twin
    # ... and the error the user sees names it first.
    if twin is None:
        assert "instead: it records the gradient" not in message
    else:
        assert message.startswith(f"call {twin} instead: it records the gradient.")


def test_outside_scipy_there_is_no_twin():
    import sys

    assert replacement(sys._getframe()) is None
