"""grad, value_and_grad, vjp and higher order, against closed forms."""

import numpy as np
import pytest

import tapegrad as tg


def f_cubic(x):
    return tg.sum(x**3)


def test_grad_returns_ndarray_of_input_shape():
    x0 = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = tg.grad(f_cubic)(x0)
    assert type(g) is np.ndarray and g.shape == x0.shape
    np.testing.assert_allclose(g, 3 * x0**2)


@pytest.mark.parametrize("arg", [2.0, np.array(2.0), tg.tensor(2.0)])
def test_grad_accepts_scalars_arrays_and_tensors(arg):
    assert tg.grad(f_cubic)(arg) == pytest.approx(12.0)


def test_grad_of_int_argument_is_a_type_error():
    with pytest.raises(TypeError, match="int64"):
        tg.grad(f_cubic)(np.array([1, 2]))


def test_argnums_tuple_and_negative():
    def f(a, b, c):
        return tg.sum(a * b + c * c)

    a, b, c = np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5.0, 6.0])
    ga, gc = tg.grad(f, argnums=(0, 2))(a, b, c)
    np.testing.assert_allclose(ga, b)
    np.testing.assert_allclose(gc, 2 * c)
    np.testing.assert_allclose(tg.grad(f, argnums=-2)(a, b, c), a)
    with pytest.raises(ValueError, match="argnums"):
        tg.grad(f, argnums=3)(a, b, c)


def test_value_and_grad():
    value, g = tg.value_and_grad(f_cubic)(np.array([1.0, 2.0]))
    assert value == pytest.approx(9.0)
    np.testing.assert_allclose(g, [3.0, 12.0])


def test_non_scalar_function_is_rejected_by_grad():
    with pytest.raises(ValueError, match=r"scalar.*\(2,\).*vjp"):
        tg.grad(lambda x: x * 2.0)(np.array([1.0, 2.0]))


def test_unused_argument_gets_zero_gradient():
    g = tg.grad(lambda a, b: tg.sum(a * 2.0), argnums=(0, 1))(np.ones(2), np.ones(3))
    np.testing.assert_array_equal(g[1], np.zeros(3))


def test_vjp_can_be_called_many_times():
    x0 = np.array([0.1, 0.2, 0.3])
    out, vjp_fn = tg.vjp(lambda x: tg.exp(x) * 2.0, x0)
    np.testing.assert_allclose(out, 2 * np.exp(x0))
    for v in (np.ones(3), np.array([1.0, 0.0, -1.0])):
        (gx,) = vjp_fn(v)
        np.testing.assert_allclose(gx, 2 * np.exp(x0) * v)
    with pytest.raises(ValueError, match="cotangent has shape"):
        vjp_fn(np.ones(2))


def test_second_and_third_derivatives_closed_form():
    d1 = tg.grad(lambda x: tg.tanh(x))
    d2 = tg.grad(d1)
    d3 = tg.grad(d2)
    for x in (-1.3, 0.0, 0.4):
        t = np.tanh(x)
        assert d1(x) == pytest.approx(1 - t**2)
        assert d2(x) == pytest.approx(-2 * t * (1 - t**2))
        assert d3(x) == pytest.approx(-2 * (1 - t**2) ** 2 + 4 * t**2 * (1 - t**2))


def test_hessian_vector_product_of_a_quadratic():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    sym = a + a.T
    v = rng.standard_normal(4)

    def quadratic(x):
        return 0.5 * tg.sum(x * (tg.tensor(sym) @ x))

    def directional(x):
        return tg.sum(tg.grad(quadratic)(x) * v)

    np.testing.assert_allclose(tg.grad(directional)(rng.standard_normal(4)), sym @ v, rtol=1e-12)


def test_grad_of_grad_with_two_arguments():
    def f(x, y):
        return tg.sum(x * x * y)

    # d/dy of (df/dx) = d/dy (2 x y) summed = 2 x
    cross = tg.grad(lambda x, y: tg.sum(tg.grad(f)(x, y)), argnums=1)
    np.testing.assert_allclose(cross(np.array([1.0, 3.0]), np.array([2.0, 2.0])), [2.0, 6.0])


def test_grad_does_not_touch_leaf_grads():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    tg.grad(lambda x: tg.sum(x * w))(np.ones(2))
    assert w.grad is None


def test_grad_works_inside_no_grad():
    with tg.no_grad():
        np.testing.assert_allclose(tg.grad(f_cubic)(np.array([2.0])), [12.0])
