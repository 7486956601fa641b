"""tapegrad.scipy.special: scipy's ufuncs dispatch on Tensors to rules that pass the
registry's property test; the Python functions (logsumexp, softmax, ...) give
scipy's values and second derivatives."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.special as sc

import tapegrad as tg
import tapegrad.scipy as tsp
from tapegrad.testing import check_grads, check_primitive

RNG = np.random.default_rng(50)
POSITIVE = RNG.uniform(0.2, 3.0, 6)

UFUNCS = [
    name
    for name in tsp.special.__all__
    if isinstance(getattr(tsp.special, name), tg.Primitive) and name != "psi"
]


def test_import_tapegrad_does_not_import_scipy():
    code = "import sys, tapegrad; assert 'scipy' not in sys.modules, 'scipy imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", UFUNCS)
def test_every_scipy_special_rule_passes_the_property_test(name):
    check_primitive(getattr(tsp.special, name), 15, seed=1)


def test_scipy_ufuncs_on_tensors_record_and_differentiate_to_second_order():
    t = tg.tensor(POSITIVE, requires_grad=True)
    out = sc.gammaln(t)
    assert isinstance(out, tg.Tensor) and out.requires_grad
    np.testing.assert_array_equal(out.data, sc.gammaln(POSITIVE))

    def f(x):
        return sc.gammaln(x) + sc.xlogy(x, x + 1.0) + sc.erf(x) + sc.digamma(x) * sc.expit(x)

    check_grads(f, POSITIVE, order=2)
    assert sc.psi(t).node.primitive is tsp.special.digamma


def test_an_unsupported_scipy_ufunc_refuses_a_tensor_that_requires_grad():
    with pytest.raises(TypeError, match="has no tapegrad rule"):
        sc.struve(1.0, tg.tensor(POSITIVE, requires_grad=True))


A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4))


@pytest.mark.parametrize("options", [{}, {"axis": 1}, {"axis": 0, "keepdims": True}], ids=str)
def test_logsumexp_softmax_log_softmax_equal_scipys(options):
    def close(out, expected):
        np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-15)
        assert out.shape == np.shape(expected)

    t = tg.tensor(A)
    close(tsp.special.logsumexp(t, **options), sc.logsumexp(A, **options))
    close(tsp.special.logsumexp(t, b=np.abs(B), **options), sc.logsumexp(A, b=np.abs(B), **options))
    out, sign = tsp.special.logsumexp(t, b=tg.tensor(B), return_sign=True, **options)
    expected, expected_sign = sc.logsumexp(A, b=B, return_sign=True, **options)
    close(out, expected)
    np.testing.assert_array_equal(sign, expected_sign)
    axis = options.get("axis")
    close(tsp.special.softmax(t, axis=axis), sc.softmax(A, axis=axis))
    close(tsp.special.log_softmax(t, axis=axis), sc.log_softmax(A, axis=axis))


def test_logsumexp_softmax_log_softmax_differentiate_to_second_order():
    check_grads(lambda a, b: tsp.special.logsumexp(a, axis=1, b=b), A, np.abs(B), order=2)
    check_grads(
        lambda a, b: tsp.special.logsumexp(a, axis=1, b=b, return_sign=True)[0], A, B, order=2
    )
    check_grads(lambda a: tsp.special.softmax(a, axis=0), A, order=2)
    check_grads(lambda a: tsp.special.log_softmax(a, axis=1), A, order=2)


def test_multigammaln_and_polygamma():
    a = np.array([3.2, 4.1])
    np.testing.assert_allclose(
        tsp.special.multigammaln(tg.tensor(a), 3).data, sc.multigammaln(a, 3)
    )
    check_grads(lambda a: tsp.special.multigammaln(a, 3), a, order=2)
    np.testing.assert_array_equal(
        tsp.special.polygamma(2, tg.tensor(POSITIVE)).data, sc.polygamma(2, POSITIVE)
    )
    check_grads(lambda x: tsp.special.polygamma(1, x), POSITIVE, order=2)
