"""tapegrad.scipy.integrate.odeint: scipy's values; gradients in y0, the times and the
parameters by the adjoint method, against closed forms and finite differences, to
second order."""

import numpy as np
import pytest
import scipy.integrate as si

import tapegrad as tg
import tapegrad.scipy as tsp
from tapegrad.testing import check_grads, check_primitive

TIGHT = {"rtol": 1e-12, "atol": 1e-12}
T = np.array([0.2, 0.7, 1.1, 2.0])
WEIGHTS = np.array([0.5, -1.0, 2.0, 1.5])


def decay(y, t, k):
    return -k * y


def lotka_volterra(y, t, alpha, beta, delta, gamma):
    prey, predator = y[0], y[1]
    return [alpha * prey - beta * prey * predator, delta * prey * predator - gamma * predator]


def forced_pendulum(t, y, params):  # tfirst: func(t, y, ...)
    damping, forcing = params[0], params[1]
    return tg.stack([y[1], -tg.sin(y[0]) - damping * y[1] + forcing * tg.cos(t)])


def test_the_primitive_passes_the_property_test():
    # A different seed from the registry-wide test (tests/core/test_registry.py).
    check_primitive(tg.primitives()["odeint"], 8, seed=4)


def test_values_equal_scipys():
    y0, params = np.array([1.0, 0.5]), (1.1, 0.4, 0.1, 0.4)
    out = tsp.integrate.odeint(lotka_volterra, tg.tensor(y0), tg.tensor(T), args=params)
    np.testing.assert_array_equal(out.data, si.odeint(lotka_volterra, y0, T, args=params))
    pendulum = tsp.integrate.odeint(
        forced_pendulum, y0, T, args=(np.array([0.3, 0.2]),), tfirst=True, **TIGHT
    )
    expected = si.odeint(
        lambda t, y, p: forced_pendulum(t, y, p).data,
        y0,
        T,
        args=(np.array([0.3, 0.2]),),
        tfirst=True,
        **TIGHT,
    )
    np.testing.assert_array_equal(pendulum.data, expected)
    assert tsp.integrate.odeint(decay, 2.0, T, args=(0.5,)).shape == (4, 1)  # as scipy's


def _decay_loss(y0, t, k):
    return tg.sum(tsp.integrate.odeint(decay, y0, t, args=(k,), **TIGHT)[:, 0] * WEIGHTS)


def test_decay_gradients_equal_the_closed_form():
    # y(t_i) = y0 exp(-k (t_i - t_0)).
    y0, k = np.array([1.3]), np.array(0.8)
    tau = T - T[0]
    decayed = np.exp(-k * tau)
    g_y0, g_t, g_k = tg.grad(_decay_loss, argnums=(0, 1, 2))(y0, T, k)
    np.testing.assert_allclose(g_y0, [np.sum(WEIGHTS * decayed)], rtol=1e-9)
    np.testing.assert_allclose(g_k, np.sum(-tau * WEIGHTS * y0 * decayed), rtol=1e-9)
    later = -k * WEIGHTS * y0 * decayed
    np.testing.assert_allclose(g_t, np.concatenate([[-np.sum(later[1:])], later[1:]]), rtol=1e-8)


def test_decay_second_derivatives_equal_the_closed_form():
    y0, k = np.array([1.3]), np.array(0.8)
    tau = T - T[0]
    decayed = np.exp(-k * tau)
    d_k = tg.grad(_decay_loss, argnums=2)
    d_kk, d_ky0 = tg.grad(lambda y0, k: d_k(y0, T, k), argnums=(1, 0))(y0, k)
    np.testing.assert_allclose(d_kk, np.sum(tau**2 * WEIGHTS * y0 * decayed), rtol=1e-7)
    np.testing.assert_allclose(d_ky0, [np.sum(-tau * WEIGHTS * decayed)], rtol=1e-7)


def test_dynamics_of_t_alone_have_the_closed_form_gradient():
    # y(t_i) = y0 + sin(t_i) - sin(t_0): func does not read y (a zero derivative there).
    y0 = tg.tensor([1.0, 2.0], requires_grad=True)
    t = tg.tensor(T, requires_grad=True)
    out = tsp.integrate.odeint(lambda y, t: np.cos(t) * np.ones(2), y0, t, **TIGHT)
    np.testing.assert_allclose(out.data, np.array([1.0, 2.0]) + (np.sin(T) - np.sin(T[0]))[:, None])
    tg.sum(out).backward()
    np.testing.assert_allclose(y0.grad, [4.0, 4.0])
    later = 2.0 * np.cos(T[1:])
    np.testing.assert_allclose(t.grad, np.concatenate([[-6.0 * np.cos(T[0])], later]), rtol=1e-9)


def test_lotka_volterra_gradients_against_finite_differences_to_second_order():
    def f(y0, t, alpha, beta):
        return tsp.integrate.odeint(lotka_volterra, y0, t, args=(alpha, beta, 0.1, 0.4), **TIGHT)

    check_grads(f, np.array([1.0, 0.5]), T, np.array(1.1), np.array(0.4), order=2, rtol=1e-4)


def test_a_tfirst_func_with_a_vector_parameter_against_finite_differences():
    def f(y0, t, params):
        return tsp.integrate.odeint(forced_pendulum, y0, t, args=(params,), tfirst=True, **TIGHT)

    check_grads(
        f, np.array([0.4, -0.2]), T, np.array([0.3, 0.2]), order=2, rtol=1e-4, modes=("rev", "fwd")
    )


def test_decreasing_times_and_a_single_time():
    def f(y0, t, k):
        return tsp.integrate.odeint(decay, y0, t, args=(k,), **TIGHT)

    check_grads(f, np.array([1.0, -2.0]), T[::-1].copy(), np.array(0.6), rtol=1e-4)
    g_y0, g_t = tg.grad(lambda y0, t: tg.sum(f(y0, t, 0.6) * 3.0), argnums=(0, 1))(
        np.array([1.0, -2.0]), T[:1]
    )
    np.testing.assert_array_equal(g_y0, [3.0, 3.0])
    np.testing.assert_array_equal(g_t, [0.0])


def test_non_float_args_are_passed_through_without_a_gradient():
    def powered(y, t, k, n):
        return -k * y**n

    y0 = tg.tensor([1.0], requires_grad=True)
    out = tsp.integrate.odeint(powered, y0, T, args=(0.5, 3), **TIGHT)
    np.testing.assert_allclose(out.data, si.odeint(powered, [1.0], T, args=(0.5, 3), **TIGHT))
    tg.sum(out).backward()
    assert y0.grad.shape == (1,) and np.all(np.isfinite(y0.grad))


def test_a_parameter_captured_from_outside_is_refused_not_dropped():
    k = tg.tensor(0.5, requires_grad=True)
    with pytest.raises(TypeError, match="Pass that Tensor in `args`"):
        tsp.integrate.odeint(lambda y, t: -k * y, np.array([1.0]), T)


def test_unsupported_options_are_named():
    with pytest.raises(TypeError, match=r"y0 is complex \(complex128"):
        tsp.integrate.odeint(decay, tg.tensor([1.0 + 1j], requires_grad=True), T, args=(0.5,))
    with pytest.raises(TypeError, match="full_output not supported"):
        tsp.integrate.odeint(decay, [1.0], T, args=(0.5,), full_output=True)
    with pytest.raises(TypeError, match="Dfun not supported"):
        tsp.integrate.odeint(decay, [1.0], T, args=(0.5,), Dfun=None)
    with pytest.raises(ValueError, match=r"y0 shape \(2, 2\)"):
        tsp.integrate.odeint(decay, np.ones((2, 2)), T, args=(0.5,))
