"""numpy.fft on Tensors (tapegrad/ops/fft.py): numpy's values to the last bit for every
function, n/s, axis/axes and norm; first derivatives against central finite
differences in the real and imaginary directions for each of those, second
derivatives for every function and norm; closed forms (Parseval)."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

RNG = np.random.default_rng(1212)
NORMS = [None, "backward", "ortho", "forward"]
ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
N_D = ["fftn", "ifftn", "rfftn", "irfftn", "fft2", "ifft2", "rfft2", "irfft2"]
# rfft and ihfft take real input only (numpy refuses complex values).
REAL_INPUT = {"rfft", "ihfft", "rfftn", "rfft2"}


def inputs(name, shape, dtype=np.float64):
    x = RNG.standard_normal(shape).astype(dtype)
    if name in REAL_INPUT:
        return [x]
    z = (x + 1j * RNG.standard_normal(shape)).astype(np.result_type(dtype, 1j))
    return [x, z]


def assert_numpys(fun, a, *args, **kwargs):
    want = fun(a, *args, **kwargs)
    got = fun(tg.tensor(a, requires_grad=True), *args, **kwargs)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got.data, want)


# -- 1-D: every function, norm, length and axis --------------------------------------------


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", ONE_D)
def test_one_dimensional_values_and_gradients(name, norm):
    fun = getattr(np.fft, name)
    # Lengths 5 (odd) and 6 (even) along the axis; n crops, keeps or pads, odd and even.
    for shape in [(3, 5), (6, 2)]:
        axis = -1 if shape[-1] > 2 else 0
        for a in inputs(name, shape):
            for n in [None, 3, 4, 9, 10]:
                assert_numpys(fun, a, n, axis, norm)
                check_grads(
                    lambda t, n=n, axis=axis: fun(t, n, axis, norm), a, name=f"{name} n={n}"
                )


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", ONE_D)
def test_one_dimensional_second_order(name, norm):
    fun = getattr(np.fft, name)
    for a in inputs(name, (2, 5)):
        check_grads(lambda t: fun(t, 4, 1, norm), a, order=2)
        # A nonlinear loss, so the second derivative is not zero.
        check_grads(lambda t: tg.abs(fun(t, None, 0, norm)) ** 3, a, order=2)


def test_float32_stays_single_precision():
    for name in ONE_D:
        a = inputs(name, (6,), np.float32)[-1]
        assert_numpys(getattr(np.fft, name), a)
        grad = tg.grad(lambda t, name=name: tg.sum(tg.abs(getattr(np.fft, name)(t)) ** 2))(a)
        assert grad.dtype == a.dtype


# -- n-D and 2-D ------------------------------------------------------------------------------

ND_OPTIONS = [
    {},
    {"axes": (0, 2)},
    {"axes": (2, 0)},
    {"axes": (1,)},
    {"s": (3, 6), "axes": (0, 1)},
    {"s": (2, 5), "axes": (2, 0)},
    {"s": (4, 3, 7), "axes": (0, 1, 2)},
]


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", N_D)
def test_n_dimensional_values_and_gradients(name, norm):
    fun = getattr(np.fft, name)
    for options in ND_OPTIONS:
        axes = options.get("axes")
        if name.endswith("2") and axes is not None and len(axes) != 2:
            continue
        for a in inputs(name, (3, 4, 5)):
            assert_numpys(fun, a, norm=norm, **options)
            check_grads(lambda t, o=options: fun(t, norm=norm, **o), a, name=f"{name} {options}")


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", ["fftn", "ifftn", "rfftn", "irfftn"])
def test_n_dimensional_second_order(name, norm):
    fun = getattr(np.fft, name)
    for a in inputs(name, (3, 4)):
        check_grads(lambda t: tg.abs(fun(t, (4, 3), (1, 0), norm)) ** 3, a, order=2)


def test_tg_fft_is_the_same_call_as_np_fft():
    a = inputs("fft", (4, 6))[1]
    for name in ONE_D + N_D + ["fftshift", "ifftshift"]:
        source = a.real if name in REAL_INPUT else a
        ours = getattr(tg.fft, name)(tg.tensor(source))
        np.testing.assert_array_equal(ours.data, getattr(np.fft, name)(source))


# -- closed forms ---------------------------------------------------------------------------


def test_parseval_gives_the_gradient_2z():
    # With norm="ortho" the DFT is unitary: sum |fft(z)|^2 = sum |z|^2, gradient 2z.
    z = inputs("fft", (7,))[1]
    for fun in (np.fft.fft, np.fft.ifft, lambda t, norm: np.fft.fftn(t, norm=norm)):
        grad = tg.grad(lambda t, fun=fun: tg.sum(tg.abs(fun(t, norm="ortho")) ** 2))(z)
        np.testing.assert_allclose(grad, 2 * z, rtol=1e-13)


def test_the_real_part_of_the_first_bin_is_the_sum():
    # Re(fft(x)[0]) = sum(x) for every element: gradient 1 (a real input keeps Re).
    x = RNG.standard_normal(6)
    grad = tg.grad(lambda t: tg.real(np.fft.rfft(t)[0]))(x)
    np.testing.assert_array_equal(grad, np.ones(6))
    # irfft ignores the imaginary part of bins 0 and n/2: their gradient is 0 there.
    z = inputs("irfft", (4,))[1]
    grad = tg.grad(lambda t: tg.sum(np.fft.irfft(t) * RNG.standard_normal(6)))(z)
    assert grad[0].imag == 0 and grad[-1].imag == 0 and grad[1].imag != 0


# -- shifts and frequencies -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
def test_shifts(name):
    fun = getattr(np.fft, name)
    for a in inputs("fft", (3, 4)) + inputs("fft", (5,)):
        for axes in [None, 0, -1, (0,), tuple(range(a.ndim))]:
            assert_numpys(fun, a, axes)
            check_grads(lambda t, axes=axes: fun(t, axes), a, order=2)


def test_frequencies_are_constants():
    d = tg.tensor(0.5, requires_grad=True)
    for ours, theirs in [(tg.fft.fftfreq, np.fft.fftfreq), (tg.fft.rfftfreq, np.fft.rfftfreq)]:
        got = ours(8, d)
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, theirs(8, 0.5))


def test_a_bad_norm_is_numpys_error():
    with pytest.raises(ValueError, match="Invalid norm"):
        np.fft.fft(tg.tensor(np.ones(4), requires_grad=True), norm="unitary")
