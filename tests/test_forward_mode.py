"""tg.jvp and tg.linearize: closed forms, finite differences, the dot-product test, nesting."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

RNG = np.random.default_rng(7)


def f_mix(x, y):
    return tg.tanh(x @ y) * tg.sum(x**2)


def directional_difference(f, primals, tangents, eps=1e-6):
    plus = f(*[tg.tensor(p + eps * t) for p, t in zip(primals, tangents)])
    minus = f(*[tg.tensor(p - eps * t) for p, t in zip(primals, tangents)])
    return (plus.data - minus.data) / (2 * eps)


def test_jvp_closed_form():
    x = np.array([0.3, 1.2, -2.0])
    t = np.array([1.0, 2.0, -0.5])
    out, t_out = tg.jvp(lambda x: tg.sin(x) * x, (x,), (t,))
    np.testing.assert_allclose(out, np.sin(x) * x)
    np.testing.assert_allclose(t_out, (np.cos(x) * x + np.sin(x)) * t, rtol=1e-14)
    assert type(t_out) is np.ndarray


def test_jvp_against_finite_differences():
    x, y = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))
    tx, ty = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))
    _, t_out = tg.jvp(f_mix, (x, y), (tx, ty))
    numeric = directional_difference(f_mix, (x, y), (tx, ty))
    np.testing.assert_allclose(t_out, numeric, rtol=1e-6, atol=1e-8)


def test_dot_product_test_against_vjp():
    # <v, J t> == <J^T v, t>: forward and reverse mode compute the same bilinear form.
    x, y = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))
    tx, ty = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))
    v = RNG.standard_normal((3, 2))
    _, t_out = tg.jvp(f_mix, (x, y), (tx, ty))
    _, vjp_fn = tg.vjp(f_mix, x, y)
    gx, gy = vjp_fn(v)
    assert np.vdot(v, t_out) == pytest.approx(np.vdot(gx, tx) + np.vdot(gy, ty), rel=1e-12)


@pytest.mark.parametrize(
    "fun",
    [
        lambda x: tg.exp(x) / (1.0 + x**2),
        lambda x: tg.cumsum(x[::-1], axis=0) * x,
        lambda x: np.linalg.eigvalsh(x + x.T),
        lambda x: tg.max(x, axis=0),
        lambda x: tg.concatenate([x, tg.log(abs(x) + 1.0)]).reshape(-1),
    ],
    ids=["elementwise", "scan-index", "eigvalsh", "max", "concat-reshape"],
)
def test_check_grads_forward_mode_on_many_primitives(fun):
    x = RNG.standard_normal((3, 3))
    check_grads(fun, x, order=2, modes=("rev", "fwd"))


def test_jvp_of_a_multi_output_primitive():
    a = RNG.standard_normal((3, 3))
    x = a + a.T
    t = RNG.standard_normal((3, 3))
    t = t + t.T
    (w, _), (tw, _) = tg.jvp(np.linalg.eigh, (x,), (t,))
    # First-order perturbation theory: dw_i = v_i^T dX v_i.
    w_ref, v_ref = np.linalg.eigh(x)
    np.testing.assert_allclose(w, w_ref)
    np.testing.assert_allclose(tw, np.einsum("ji,jk,ki->i", v_ref, t, v_ref), rtol=1e-10)


def test_jvp_pytree_primals_and_outputs():
    def f(p):
        return {"y": p["w"] * p["b"], "s": [tg.sum(p["w"])]}

    p = {"w": np.array([1.0, 2.0]), "b": np.array(3.0)}
    t = {"w": np.array([0.5, -1.0]), "b": np.array(2.0)}
    out, t_out = tg.jvp(f, (p,), (t,))
    np.testing.assert_allclose(out["y"], [3.0, 6.0])
    np.testing.assert_allclose(t_out["y"], t["w"] * 3.0 + p["w"] * 2.0)
    np.testing.assert_allclose(t_out["s"][0], -0.5)


def test_tangent_structure_and_shape_are_checked():
    with pytest.raises(ValueError, match="structure"):
        tg.jvp(lambda p: p["a"], ({"a": np.ones(2)},), (np.ones(2),))
    with pytest.raises(ValueError, match="shape"):
        tg.jvp(tg.sin, (np.ones(2),), (np.ones(3),))
    with pytest.raises(TypeError, match="tuple or list"):
        tg.jvp(tg.sin, np.ones(2), np.ones(2))


def test_jvp_of_an_output_off_the_tape_is_zero_or_an_error():
    _out, t_out = tg.jvp(lambda x: (x * 2, tg.sum(x.detach())), (np.ones(2),), (np.ones(2),))
    np.testing.assert_array_equal(t_out[1], 0.0)
    with pytest.raises(TypeError, match="does not depend on the inputs"):
        tg.jvp(lambda x: np.ones(2), (np.ones(2),), (np.ones(2),))


def test_jvp_has_aux():
    out, t_out, aux = tg.jvp(lambda x: (x**2, "aux"), (3.0,), (1.0,), has_aux=True)
    assert (out, t_out, aux) == (9.0, 6.0, "aux")


def test_linearize_runs_f_once_and_is_linear():
    calls = []

    def f(x):
        calls.append(1)
        return tg.sin(x) * tg.sum(x)

    x = RNG.standard_normal(4)
    out, jvp_fn = tg.linearize(f, x)
    t1, t2 = RNG.standard_normal(4), RNG.standard_normal(4)
    j1, j2, j12 = jvp_fn(t1), jvp_fn(t2), jvp_fn(2 * t1 - t2)
    assert len(calls) == 1
    np.testing.assert_allclose(out, np.sin(x) * x.sum())
    np.testing.assert_allclose(j12, 2 * j1 - j2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(j1, tg.jvp(f, (x,), (t1,))[1], rtol=1e-14)
    np.testing.assert_allclose(j1, directional_difference(f, (x,), (t1,)), rtol=1e-6)


# -- nesting with reverse mode ----------------------------------------------------------


def cubic_form(x):
    return tg.sum(tg.sin(x) * x**2)


def hessian_closed_form(x):
    # d2/dx2 [sin(x) x^2] = (2 - x^2) sin x + 4 x cos x, diagonal.
    return np.diag((2 - x**2) * np.sin(x) + 4 * x * np.cos(x))


def test_jvp_of_grad_is_the_hessian_vector_product():
    x, t = RNG.standard_normal(3), RNG.standard_normal(3)
    g, hv = tg.jvp(tg.grad(cubic_form), (x,), (t,))
    np.testing.assert_allclose(g, np.cos(x) * x**2 + 2 * x * np.sin(x), rtol=1e-13)
    np.testing.assert_allclose(hv, hessian_closed_form(x) @ t, rtol=1e-12)


def test_grad_of_a_function_using_jvp():
    x, t = RNG.standard_normal(3), RNG.standard_normal(3)

    def directional_derivative(x):
        return tg.jvp(cubic_form, (x,), (t,))[1]

    # d/dx <grad f(x), t> = H t.
    np.testing.assert_allclose(
        tg.grad(directional_derivative)(x), hessian_closed_form(x) @ t, rtol=1e-12
    )
    check_grads(directional_derivative, x, order=2)


def test_jvp_of_jvp_gives_the_second_directional_derivative():
    x, t = RNG.standard_normal(3), RNG.standard_normal(3)

    def first(x):
        return tg.jvp(cubic_form, (x,), (t,))[1]

    _, second = tg.jvp(first, (x,), (t,))
    assert second == pytest.approx(t @ hessian_closed_form(x) @ t, rel=1e-12)


def test_gradient_with_respect_to_the_tangent():
    # J t is linear in t: its gradient in t is J^T applied to the cotangent.
    x = RNG.standard_normal(3)
    a = RNG.standard_normal((2, 3))

    def pushed(t):
        return tg.sum(tg.jvp(lambda x: tg.tanh(tg.tensor(a) @ x), (x,), (t,))[1])

    expected = a.T @ (1 - np.tanh(a @ x) ** 2)
    np.testing.assert_allclose(tg.grad(pushed)(np.ones(3)), expected, rtol=1e-13)


def test_third_order_through_forward_and_reverse():
    # d3/dx3 sin(x) x^2 at scalar x, as grad of jvp of grad.
    def second(x):
        return tg.jvp(tg.grad(lambda x: tg.sin(x) * x**2), (x,), (1.0,))[1]

    x = 0.7
    third = tg.grad(second)(x)
    expected = (6 - x**2) * np.cos(x) - 6 * x * np.sin(x)
    assert third == pytest.approx(expected, rel=1e-12)


def test_float32_jvp_stays_float32():
    x = np.array([0.5, 1.5], dtype=np.float32)
    out, t_out = tg.jvp(tg.exp, (x,), (np.ones(2, dtype=np.float32),))
    assert out.dtype == np.float32 and t_out.dtype == np.float32
    np.testing.assert_allclose(t_out, np.exp(x), rtol=1e-6)


def test_linearize_pytrees_and_aux():
    _, jvp_fn, aux = tg.linearize(
        lambda p: ({"y": p["a"] * p["b"]}, "aux"),
        {"a": np.array([1.0, 2.0]), "b": np.array(3.0)},
        has_aux=True,
    )
    assert aux == "aux"
    t_out = jvp_fn({"a": np.array([1.0, 0.0]), "b": np.array(1.0)})
    np.testing.assert_allclose(t_out["y"], [3.0 + 1.0, 2.0])


# -- how forward mode differentiates each primitive ------------------------------------


def test_each_builtin_has_the_route_its_registration_promises():
    from tapegrad.forward_mode import jvp_route
    from tapegrad.testing import builtin_primitives

    prims = builtin_primitives()
    assert jvp_route(prims["matmul"]) == "rule"
    assert jvp_route(prims["affine"]) == "rule"
    assert jvp_route(prims["reshape"]) == "linear"
    assert jvp_route(prims["getitem"]) == "linear"
    assert jvp_route(prims["sin"]) == "elementwise"
    assert jvp_route(prims["eigh"]) == "transposed VJP"
    routes = [jvp_route(p) for p in prims.values()]
    assert routes.count("transposed VJP") < len(routes) / 4  # the fallback is the exception


def _refuse(*args, **kwargs):
    raise AssertionError("forward mode called a VJP rule")


def test_jvp_runs_jvp_rules_not_vjp_rules(monkeypatch):
    # Every primitive below has a JVP rule or is linear: no reverse pass at all.
    for prim in (tg.multiply, tg.add, tg.tanh, tg.matmul, tg.sum, tg.reshape):
        monkeypatch.setattr(prim, "vjp", _refuse)
    x, w = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))
    tx, tw = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))

    def f(x, w):
        return tg.sum(tg.reshape(tg.tanh(x @ w) * x[:, :1] + 1.0, (-1,)), axis=0)

    _, t_out = tg.jvp(f, (x, w), (tx, tw))
    monkeypatch.undo()
    numeric = directional_difference(f, (x, w), (tx, tw))
    np.testing.assert_allclose(t_out, numeric, rtol=1e-7)


def test_a_user_primitive_without_a_jvp_rule_gets_the_transposed_vjp():
    @tg.primitive
    def scaled_cumsum(x, scale=2.0):
        return scale * np.cumsum(x)

    @scaled_cumsum.defvjp
    def _scaled_cumsum_vjp(g, ans, x, scale=2.0):
        return (scale * np.cumsum(g[::-1])[::-1],)

    x, t = RNG.standard_normal(4), RNG.standard_normal(4)
    _, t_out = tg.jvp(lambda x: scaled_cumsum(x, scale=3.0), (x,), (t,))
    np.testing.assert_allclose(t_out, 3.0 * np.cumsum(t), rtol=1e-14)


def test_a_user_jvp_rule_is_used_and_differentiable_again():
    calls = []

    @tg.primitive
    def cube(x):
        return x**3

    @cube.defvjp
    def _cube_vjp(g, ans, x):
        return (3.0 * g * x * x,)

    @cube.defjvp
    def _cube_jvp(tangents, ans, x):
        calls.append(type(x))
        return 3.0 * tangents[0] * x * x

    x, t = np.array([0.5, -2.0]), np.array([1.0, 3.0])
    _, t_out = tg.jvp(cube, (x,), (t,))
    np.testing.assert_allclose(t_out, 3 * x**2 * t)
    assert calls == [np.ndarray]  # top level: the rule runs on arrays
    # grad of jvp: the rule runs on Tensors, recorded; d/dx <1, 3 x^2 t> = 6 x t.
    np.testing.assert_allclose(
        tg.grad(lambda x: tg.sum(tg.jvp(cube, (x,), (t,))[1]))(x), 6 * x * t, rtol=1e-14
    )
    assert calls[-1] is tg.Tensor


def test_an_error_in_a_jvp_rule_names_the_primitive():
    @tg.primitive
    def broken(x):
        return 2.0 * x

    broken.defvjp(lambda g, ans, x: (2.0 * g,))
    broken.defjvp(lambda tangents, ans, x: 1 / 0)
    with pytest.raises(ZeroDivisionError) as info:
        tg.jvp(broken, (np.ones(2),), (np.ones(2),))
    assert "JVP rule of 'broken'" in "".join(info.value.__notes__)


def test_the_tangent_returned_is_never_the_callers_array():
    t = np.array([1.0, 2.0])
    _, t_out = tg.jvp(lambda x: x + 1.0, (np.zeros(2),), (t,))
    assert t_out is not t and not np.shares_memory(t_out, t)
    t_out[0] = 5.0  # writeable, and the caller's tangent is untouched
    assert t[0] == 1.0


def test_a_zero_tangent_contributes_zero_where_the_partial_is_infinite():
    # sqrt'(0) = inf: column j of jacfwd has a zero tangent at element 0 for
    # j != 0, which must give 0 there, as the zero cotangents of jacrev do.
    x = np.array([0.0, 4.0, 9.0])
    forward = tg.jacfwd(tg.sqrt)(x)
    np.testing.assert_array_equal(forward, tg.jacrev(tg.sqrt)(x))
    np.testing.assert_array_equal(forward[1:, 0], 0.0)
    assert forward[0, 0] == np.inf


def test_float32_tangents_stay_float32_through_hand_written_and_fallback_rules():
    x = RNG.standard_normal((3, 3)).astype(np.float32)
    t = RNG.standard_normal((3, 3)).astype(np.float32)

    def f(x):
        return tg.sum(np.linalg.eigvalsh(x + x.T) * tg.sum(x @ x, axis=0))

    _, t_out = tg.jvp(f, (x,), (t,))
    assert t_out.dtype == np.float32
    numeric = directional_difference(f, (x.astype(float),), (t.astype(float),))
    np.testing.assert_allclose(t_out, numeric, rtol=1e-3)


def test_third_order_forward_mode():
    # d3/dh3 sin(x + h t) = -cos(x) t^3: jvp of jvp of jvp.
    x, t = 0.3, 0.7

    def d1(x):
        return tg.jvp(tg.sin, (x,), (t,))[1]

    def d2(x):
        return tg.jvp(d1, (x,), (t,))[1]

    _, d3 = tg.jvp(d2, (x,), (t,))
    assert d3 == pytest.approx(-np.cos(x) * t**3, rel=1e-13)


# -- the fused nn layers, nested --------------------------------------------------------


def _net(params, x, y):
    from tapegrad.nn import functional as nnf

    h = nnf.affine(x, params["w1"], params["b1"])
    h = nnf.batchnorm(h, params["gamma"], params["beta"], {"mode": "train"})
    h = nnf.dropout(nnf.relu(h), {"mode": "train", "p": 0.3, "seed": 4})
    return nnf.softmax_loss(nnf.affine(h, params["w2"], params["b2"]), y)


def _net_problem():
    rng = np.random.default_rng(3)
    params = {
        "w1": rng.standard_normal((5, 4)),
        "b1": rng.standard_normal(4),
        "gamma": 1 + 0.1 * rng.standard_normal(4),
        "beta": rng.standard_normal(4),
        "w2": rng.standard_normal((4, 3)),
        "b2": rng.standard_normal(3),
    }
    tangents = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    return params, tangents, rng.standard_normal((6, 5)), rng.integers(0, 3, 6)


def test_jvp_through_the_fused_nn_layers_matches_reverse_mode():
    params, tangents, x, y = _net_problem()
    _, t_out = tg.jvp(lambda p: _net(p, x, y), (params,), (tangents,))
    grads = tg.grad(lambda p: _net(p, x, y))(params)
    assert t_out == pytest.approx(sum(np.vdot(grads[k], tangents[k]) for k in params), rel=1e-12)


def test_forward_over_reverse_through_the_fused_nn_layers():
    # jvp of grad runs the layers' JVP rules on the recorded backward
    # (rebuilding their residuals on the tape): compare with differences of grad.
    params, tangents, x, y = _net_problem()
    gradient = tg.grad(lambda p: _net(p, x, y))
    _, hv = tg.jvp(gradient, (params,), (tangents,))
    eps = 1e-6
    plus = gradient({k: v + eps * tangents[k] for k, v in params.items()})
    minus = gradient({k: v - eps * tangents[k] for k, v in params.items()})
    for k in params:
        np.testing.assert_allclose(hv[k], (plus[k] - minus[k]) / (2 * eps), rtol=1e-5, atol=1e-7)


def test_grad_of_jvp_through_the_fused_nn_layers():
    params, tangents, x, y = _net_problem()

    def directional(w1):
        p = {**params, "w1": w1}
        return tg.jvp(lambda q: _net(q, x, y), (p,), (tangents,))[1]

    check_grads(directional, params["w1"], order=1, modes=("rev", "fwd"))


# -- tg.compile replays forward mode on new values ---------------------------------------


def test_compiled_jvp_and_jacobians_follow_their_inputs():
    # Forward mode runs its rules outside the recorder: under tg.compile each
    # node's JVP must be an instruction of the program, or a replay would
    # return the traced run's tangent.
    t = np.array([1.0, -2.0, 0.5])

    def f(x):
        return tg.sin(x) @ tg.exp(x)[:, None] * x

    compiled = tg.compile(lambda x: tg.jvp(f, (x,), (2.0 * x,)))
    for x in (RNG.standard_normal(3), RNG.standard_normal(3)):
        out, t_out = compiled(x)
        expected_out, expected = tg.jvp(f, (x,), (2.0 * x,))
        np.testing.assert_allclose(out, expected_out, rtol=1e-14)
        np.testing.assert_allclose(t_out, expected, rtol=1e-14)
    for jac in (tg.jacfwd, tg.jacrev):
        compiled = tg.compile(jac(lambda x: tg.tanh(x * t) * x))
        for x in (RNG.standard_normal(3), RNG.standard_normal(3)):
            np.testing.assert_allclose(
                compiled(x), jac(lambda x: tg.tanh(x * t) * x)(x), rtol=1e-14
            )
