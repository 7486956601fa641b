"""Constructors: numpy's values bit for bit, gradients in the ends, fill values and
grid vectors to second order; constant inputs give numpy's plain arrays."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

RNG = np.random.default_rng(12)
START, STOP = np.array([0.3, -1.2, 2.0]), np.array([[2.5], [0.7]])


def tensors(*arrays):
    return [tg.tensor(a) for a in arrays]


def assert_numpys(out, expected):
    data = out.data if isinstance(out, tg.Tensor) else np.asarray(out)
    assert data.shape == np.shape(expected) and data.dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(data, expected)


RANGES = [
    ("linspace", {"num": 5}),
    ("linspace", {"num": 5, "endpoint": False}),
    ("linspace", {"num": 1}),
    ("linspace", {"num": 0}),
    ("linspace", {"num": 4, "axis": -1}),
    ("logspace", {"num": 5}),
    ("logspace", {"num": 4, "base": 2.0, "axis": 1}),
    ("geomspace", {"num": 5}),
    ("geomspace", {"num": 3, "endpoint": False, "axis": -1}),
]


@pytest.mark.parametrize(("name", "options"), RANGES, ids=lambda v: str(v))
def test_ranges_equal_numpys_and_differentiate_in_both_ends(name, options):
    start, stop = np.abs(START) + 0.5, np.abs(STOP) + 0.5  # geomspace: one sign
    expected = getattr(np, name)(start, stop, **options)
    assert_numpys(getattr(np, name)(*tensors(start, stop), **options), expected)
    assert_numpys(getattr(tg, name)(*tensors(start, stop), **options), expected)
    check_grads(lambda a, b: getattr(np, name)(a, b, **options), start, stop, order=2)


def test_linspace_retstep_and_the_last_point_is_stop():
    y, step = np.linspace(*tensors(np.array(0.1), np.array(0.7)), 7, retstep=True)
    expected, expected_step = np.linspace(0.1, 0.7, 7, retstep=True)
    assert_numpys(y, expected)
    np.testing.assert_array_equal(np.asarray(step.data), expected_step)
    assert y.data[-1] == 0.7
    grad = tg.grad(lambda b: y_last(b))(np.array(0.7))
    assert grad == 1.0  # the last point is stop itself


def y_last(stop):
    return np.linspace(0.1, stop, 7)[-1]


def test_logspace_is_differentiable_in_a_tensor_base_and_geomspace_takes_negative_ends():
    check_grads(lambda b: np.logspace(0.5, 2.0, 4, base=b), np.array([2.0, 3.0, 5.0]), order=2)
    expected = np.geomspace(-1.5, -40.0, 6)
    assert_numpys(np.geomspace(*tensors(np.array(-1.5), np.array(-40.0)), 6), expected)
    check_grads(lambda a, b: np.geomspace(a, b, 6), np.array(-1.5), np.array(-40.0), order=2)


def test_float32_ends_stay_float32():
    out = np.linspace(*tensors(np.float32(0.5), np.float32(2.0)), 4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, np.linspace(np.float32(0.5), np.float32(2.0), 4))


def test_constant_ends_give_numpys_plain_array():
    out = tg.linspace(0.0, 1.0, 3)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, [0.0, 0.5, 1.0])


# -- full ------------------------------------------------------------------------------


def test_full_with_a_tensor_fill_value_gets_the_summed_gradient():
    fill = tg.tensor(1.5, requires_grad=True)
    out = tg.full((2, 3), fill)
    assert_numpys(out, np.full((2, 3), 1.5))
    tg.sum(out * np.arange(6.0).reshape(2, 3)).backward()
    assert fill.grad == 15.0
    check_grads(lambda v: tg.full((2, 2), v, dtype=np.float32), np.array([1.0, 2.0]), order=2)


def test_np_full_with_a_tensor_that_requires_grad_raises_instead_of_dropping_it():
    fill = tg.tensor(2.0, requires_grad=True)
    with pytest.raises(TypeError, match="gradient"):
        np.full(3, fill)
    with pytest.raises(TypeError, match=r"tg\.full"):
        np.full(3, fill, dtype=np.float64)
    # Without a gradient to lose numpy is left alone.
    np.testing.assert_array_equal(np.full(3, tg.tensor(2.0), dtype=np.float64), [2.0] * 3)


# -- grids ----------------------------------------------------------------------------


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sparse", [False, True])
def test_meshgrid_equals_numpys_and_differentiates_each_vector(indexing, sparse):
    x, y, z = RNG.standard_normal(3), RNG.standard_normal(4), RNG.standard_normal(2)
    expected = np.meshgrid(x, y, z, indexing=indexing, sparse=sparse)
    out = np.meshgrid(*tensors(x, y, z), indexing=indexing, sparse=sparse)
    assert isinstance(out, tuple) and len(out) == 3
    for o, e in zip(out, expected):
        assert_numpys(o, e)

    def f(x, y, z):
        gx, gy, gz = np.meshgrid(x, y, z, indexing=indexing, sparse=sparse)
        return gx * gy**2 + gz

    check_grads(f, x, y, z, order=2)


@pytest.mark.parametrize("N", [None, 0, 1, 4])
@pytest.mark.parametrize("increasing", [False, True])
def test_vander_equals_numpys_bit_for_bit_and_differentiates_through_zeros(N, increasing):
    x = np.array([0.5, 0.0, -1.3, 2.0])
    assert_numpys(np.vander(tg.tensor(x), N, increasing), np.vander(x, N, increasing))
    if N != 0:
        check_grads(lambda x: np.vander(x, N, increasing), x, order=2)


def test_vander_of_float32_is_float64_as_numpys():
    x = np.array([0.5, 2.0], dtype=np.float32)
    assert np.vander(tg.tensor(x)).dtype == np.vander(x).dtype == np.float64
