"""tapegrad.scipy.signal: n-d correlate and convolve equal scipy's in every mode and
method, and differentiate to second order."""

import itertools

import numpy as np
import pytest
import scipy.signal as ss

import tapegrad as tg
import tapegrad.scipy as tsp
from tapegrad.testing import check_grads, check_primitive

BOTH = ("rev", "fwd")  # VJPs and JVPs against finite differences
RNG = np.random.default_rng(53)
# (in1 shape, in2 shape): 0-d, 1-d either longer, 2-d and 3-d, mixed sizes.
SHAPES = [((), ()), ((5,), (3,)), ((2,), (4,)), ((4, 3), (2, 2)), ((2, 3), (3, 4)),
          ((3, 2, 4), (2, 2, 3))]  # fmt: skip
MODES = ["full", "same", "valid"]


def _valid_allowed(s1, s2):
    # scipy's 'valid' needs one input at least as large as the other on every axis.
    return all(a >= b for a, b in zip(s1, s2)) or all(a <= b for a, b in zip(s1, s2))


CASES = [
    (s1, s2, mode)
    for (s1, s2), mode in itertools.product(SHAPES, MODES)
    if mode != "valid" or _valid_allowed(s1, s2)
]


def test_the_primitive_passes_the_property_test():
    check_primitive(tsp.signal.correlate, 40, seed=3)


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize(("s1", "s2", "mode"), CASES, ids=str)
def test_correlate_and_convolve_equal_scipys(s1, s2, mode, method):
    a, v = RNG.standard_normal(s1), RNG.standard_normal(s2)
    for ours, theirs in ((tsp.signal.correlate, ss.correlate), (tsp.signal.convolve, ss.convolve)):
        out = ours(tg.tensor(a), tg.tensor(v), mode=mode, method=method)
        expected = theirs(a, v, mode=mode, method=method)
        assert out.shape == expected.shape
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("s1", "s2", "mode"), CASES, ids=str)
def test_correlate_and_convolve_differentiate_to_second_order(s1, s2, mode):
    a, v = RNG.standard_normal(s1), RNG.standard_normal(s2)
    for function in (tsp.signal.correlate, tsp.signal.convolve):
        check_grads(
            lambda a, v, function=function: function(a, v, mode=mode), a, v, order=2, modes=BOTH
        )


def test_1d_convolve_has_numpys_gradient():
    # A second route: in 1-d, full and valid agree with np.convolve (tg.convolve).
    a, v = RNG.standard_normal(6), RNG.standard_normal(3)
    weights = RNG.standard_normal(8)
    for mode, size in (("full", 8), ("valid", 4)):

        def loss(convolve, a, v, mode=mode, size=size):
            return tg.sum(convolve(a, v, mode) * weights[:size])

        ours = tg.grad(lambda a, v: loss(tsp.signal.convolve, a, v), argnums=(0, 1))(a, v)
        numpys = tg.grad(lambda a, v: loss(np.convolve, a, v), argnums=(0, 1))(a, v)
        for got, want in zip(ours, numpys):
            np.testing.assert_allclose(got, want, rtol=1e-12)


def test_an_unknown_mode_is_refused_naming_it_and_the_shapes():
    with pytest.raises(ValueError, match=r"mode must be one of.*'wrap'.*\(3,\)"):
        tsp.signal.correlate(tg.tensor(np.ones(3), requires_grad=True), np.ones(2), mode="wrap")
