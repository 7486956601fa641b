"""Nothing silently wrong: values saved for backward cannot change under the tape.

Each test mutates (or tries to mutate) something a rule saved, then checks
that either the mutation raised or the gradient is the one of the
computation that actually ran.
"""

import numpy as np
import pytest

import tapegrad as tg


def test_the_array_a_leaf_was_built_from_can_change_without_effect():
    a = np.array([1.0, 2.0, 3.0])
    x = tg.tensor(a, requires_grad=True)
    y = tg.sum(x * x)
    a[:] = 100.0  # the tensor owns a copy
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0, 6.0])


def test_tensor_data_is_read_only():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.sum(x * x)
    with pytest.raises(ValueError, match="read-only"):
        x.data[0] = 5.0
    with pytest.raises(TypeError, match="would silently drop its gradient"):
        np.asarray(x)
    with tg.no_grad(), pytest.raises(ValueError, match="read-only"):
        np.asarray(x)[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        x.numpy()[0] = 5.0
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_intermediate_data_is_read_only():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = tg.exp(x)
    with pytest.raises(ValueError, match="read-only"):
        h.data[...] = 0.0


def test_ndarray_constant_saved_by_a_rule_can_change_without_effect():
    c = np.array([3.0, 4.0])
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.sum(x * c)  # multiply's rule needs c
    c[:] = -1.0
    y.backward()
    np.testing.assert_allclose(x.grad, [3.0, 4.0])


def test_ndarray_constant_on_the_left_can_change_without_effect():
    c = np.array([3.0, 4.0])
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.sum(c * x)  # through __array_ufunc__
    c[:] = -1.0
    y.backward()
    np.testing.assert_allclose(x.grad, [3.0, 4.0])


def test_assigning_data_between_forward_and_backward_keeps_the_recorded_values():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.sum(x * x)
    x.data = np.array([10.0, 20.0])
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])  # of the computation that ran
    np.testing.assert_allclose(x.data, [10.0, 20.0])


def test_view_of_a_writeable_constant_does_not_back_a_tensor():
    a = np.arange(6.0)
    t = tg.reshape(a, (2, 3))  # a constant result; must not alias `a`
    a[:] = 0.0
    np.testing.assert_array_equal(t.data, np.arange(6.0).reshape(2, 3))


def test_setitem_rebinds_without_touching_saved_values():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2.0
    z = tg.sum(y * y)  # saved y
    y[0] = 0.0  # y is rebound; z's saved value is unchanged
    z.backward()
    np.testing.assert_allclose(x.grad, 8.0 * x.data)


def test_read_only_view_of_writeable_memory_is_copied():
    a = np.ones(3)
    x = tg.tensor(np.broadcast_to(a, (2, 3)), requires_grad=True)
    y = tg.sum(x * x)
    a[:] = 5.0
    y.backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))
