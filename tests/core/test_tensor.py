"""Tensor: construction, dtype rules, attributes, conversions, repr."""

import numpy as np
import pytest

import tapegrad as tg


def test_tensor_and_Tensor_are_the_same_constructor():
    a = np.arange(6.0).reshape(2, 3)
    x, y = tg.tensor(a, requires_grad=True), tg.Tensor(a, requires_grad=True)
    assert type(x) is type(y) is tg.Tensor
    np.testing.assert_array_equal(x.data, y.data)
    assert x.requires_grad and y.requires_grad


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (3, np.float64),
        (2.5, np.float64),
        ([1, 2, 3], np.float64),
        ([[1.0, 2.0]], np.float64),
        (np.float32(1.5), np.float32),
        (np.ones(3, dtype=np.float32), np.float32),
        (np.ones(3, dtype=np.int64), np.int64),
        (np.array([True, False]), np.bool_),
    ],
)
def test_dtype_rules(data, dtype):
    assert tg.tensor(data).dtype == dtype


def test_float32_stays_float32_in_values_and_gradients():
    x = tg.tensor(np.linspace(-1, 1, 5, dtype=np.float32), requires_grad=True)
    y = tg.sum(tg.tanh(x * 2.0) + 1.0)
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32
    expected = 2.0 * (1.0 - np.tanh(2.0 * x.data.astype(np.float64)) ** 2)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.uint8])
def test_integer_or_bool_tensor_cannot_require_grad(dtype):
    with pytest.raises(TypeError, match=np.dtype(dtype).name):
        tg.tensor(np.zeros(3, dtype=dtype), requires_grad=True)
    t = tg.tensor(np.zeros(3, dtype=dtype))
    with pytest.raises(TypeError, match="floating point"):
        t.requires_grad = True


def test_dtype_argument_converts():
    x = tg.tensor([1, 2], dtype=np.float32, requires_grad=True)
    assert x.dtype == np.float32 and x.requires_grad


def test_attributes():
    a = np.arange(12.0).reshape(3, 4)
    x = tg.tensor(a, requires_grad=True)
    assert x.shape == (3, 4) and x.ndim == 2 and x.size == 12 and len(x) == 3
    assert x.dtype == np.float64
    assert x.is_leaf and x.grad is None
    np.testing.assert_array_equal(x.T.data, a.T)
    y = x * 2.0
    assert not y.is_leaf and y.requires_grad
    assert tg.tensor(a).is_leaf and not tg.tensor(a).requires_grad


def test_conversions():
    x = tg.tensor([[1.5]], requires_grad=True)
    assert x.item() == 1.5 and float(tg.tensor(1.5)) == 1.5
    assert isinstance(x.numpy(), np.ndarray)
    with pytest.raises(TypeError, match="drop its gradient"):
        np.asarray(x)  # would cut the graph: say x.detach(), x.numpy() or x.data
    with tg.no_grad():
        assert isinstance(np.asarray(x), np.ndarray)
        np.testing.assert_array_equal(np.asarray(x), [[1.5]])
        assert np.asarray(x, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(np.asarray(x.detach()), [[1.5]])
    assert x.tolist() == [[1.5]]


def test_repr_shows_values_and_grad_flag():
    assert repr(tg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(tg.tensor([1.0, 2.0], requires_grad=True)) == (
        "tensor([1., 2.], requires_grad=True)"
    )
    assert "dtype=float32" in repr(tg.tensor(np.ones(2, dtype=np.float32)))


def test_detach_shares_values_and_leaves_the_tape():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3.0).detach()
    assert not y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(y.data, [3.0, 6.0])
    z = tg.sum(y * x)
    z.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 6.0])  # y is a constant


def test_tensor_of_tensor_keeps_values_but_not_the_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor(x * 2.0)
    assert not y.requires_grad
    np.testing.assert_array_equal(y.data, [2.0, 4.0])


def test_ndarray_operand_on_the_left_gives_a_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a = np.array([3.0, 4.0])
    for y in (a * x, a + x, a - x, a / x):
        assert isinstance(y, tg.Tensor) and y.requires_grad
    tg.sum(a * x + 2.0 * x - x / 2.0).backward()
    np.testing.assert_allclose(x.grad, a + 2.0 - 0.5)


def test_comparisons_return_plain_arrays():
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    mask = x > 0
    assert type(mask) is np.ndarray and mask.dtype == bool
    np.testing.assert_array_equal(mask, [True, False])


def test_copy_is_recorded_and_independent_of_rebinding():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.copy()
    z = np.copy(x)
    assert y is not x and y.requires_grad and isinstance(z, tg.Tensor)
    y[0] = 10.0  # rebinding y leaves x alone
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    tg.sum(y * z).backward()
    np.testing.assert_array_equal(x.grad, [10.0, 2.0 * 2.0])  # loss = 10 x0 + x1^2


@pytest.mark.parametrize("clone", ["copy", "deepcopy", "pickle"])
def test_copies_and_pickles_are_new_leaves(clone):
    import copy
    import pickle

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    tg.sum(x * 3.0).backward()
    y = {
        "copy": copy.copy,
        "deepcopy": copy.deepcopy,
        "pickle": lambda t: pickle.loads(pickle.dumps(t)),
    }[clone](x)
    assert y is not x and y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(y.data, x.data)
    np.testing.assert_array_equal(y.grad, [3.0, 3.0])
    tg.sum(y * 2.0).backward()
    np.testing.assert_array_equal(y.grad, [5.0, 5.0])
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])  # the original is untouched
    z = pickle.loads(pickle.dumps(tg.tensor(np.ones(2, dtype=np.float32))))
    assert z.dtype == np.float32 and not z.requires_grad
