"""grad, value_and_grad, vjp, stop_gradient: closed forms, pytrees, aux, errors."""

import collections

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads


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


# -- pytrees -------------------------------------------------------------------------

Params = collections.namedtuple("Params", "w b")


def mse(params, x, y):
    pred = x @ params["w"] + params["b"]
    return tg.mean((pred - y) ** 2)


def test_grad_of_a_dict_is_a_dict_matching_the_closed_form():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal(5)
    params = {"w": rng.standard_normal(3), "b": 0.5}
    g = tg.grad(mse)(params, x, y)
    assert set(g) == {"w", "b"} and g["w"].shape == (3,) and g["b"].shape == ()
    residual = x @ params["w"] + params["b"] - y
    np.testing.assert_allclose(g["w"], 2 * x.T @ residual / 5, rtol=1e-12)
    np.testing.assert_allclose(g["b"], 2 * residual.mean(), rtol=1e-12)


def test_nested_lists_tuples_namedtuples_and_none_keep_their_structure():
    tree = [Params(np.array([1.0, 2.0]), 3.0), (np.array(4.0), None)]

    def f(t):
        (p, (c, _)) = t
        return tg.sum(p.w**2) * p.b + c**3

    g = tg.grad(f)(tree)
    assert isinstance(g, list) and isinstance(g[0], Params) and g[1][1] is None
    np.testing.assert_allclose(g[0].w, [6.0, 12.0])
    np.testing.assert_allclose(g[0].b, 5.0)
    np.testing.assert_allclose(g[1][0], 48.0)


def test_pytree_gradients_agree_with_finite_differences():
    def f(t):
        return tg.sum(tg.tanh(t["a"]) * t["b"][0]) + tg.sum(t["b"][1] ** 3)

    t0 = {"a": np.array([0.3, -0.7]), "b": [np.array([1.5, 2.0]), np.array([0.2])]}
    g = tg.grad(f)(t0)
    leaves, treedef = tg.tree_flatten(t0)

    def of_leaves(*leaves):
        return f(tg.tree_unflatten(treedef, list(leaves)))

    check_grads(of_leaves, *leaves, order=2)  # the flat route is right...
    flat = tg.grad(of_leaves, argnums=tuple(range(len(leaves))))(*leaves)
    for got, want in zip(tg.tree_leaves(g), flat):  # ...and the tree route equals it
        np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(g["a"], (1 - np.tanh(t0["a"]) ** 2) * t0["b"][0])


def test_argnums_tuple_with_pytrees_gives_a_tuple_of_trees():
    def f(p, scale, q):
        return tg.sum(p["w"] * q[0]) * scale

    gp, gq = tg.grad(f, argnums=(0, -1))({"w": np.ones(2)}, 2.0, [np.array([3.0, 4.0])])
    np.testing.assert_allclose(gp["w"], [6.0, 8.0])
    np.testing.assert_allclose(gq[0], [2.0, 2.0])


def test_tensor_leaves_in_a_tree_are_differentiated():
    params = {"w": tg.tensor([1.0, -1.0]), "b": tg.tensor(0.5)}
    g = tg.grad(lambda p: tg.sum(p["w"] ** 2) + p["b"])(params)
    np.testing.assert_allclose(g["w"], [2.0, -2.0])
    np.testing.assert_allclose(g["b"], 1.0)


def test_integer_leaf_error_names_its_path():
    with pytest.raises(TypeError, match=r"argument 0\['n'\] has dtype int64"):
        tg.grad(lambda p: tg.sum(p["w"]))({"w": np.ones(2), "n": np.array(3)})


def test_argnums_naming_an_argument_twice_is_an_error():
    with pytest.raises(ValueError, match="twice"):
        tg.grad(lambda a: tg.sum(a), argnums=(0, -1))(np.ones(2))


# -- has_aux and keyword arguments ------------------------------------------------------


def loss_with_aux(x):
    loss = tg.sum(x**2)
    return loss, {"loss_twice": 2 * loss, "note": "hello"}


def test_grad_has_aux_returns_gradient_and_aux():
    g, aux = tg.grad(loss_with_aux, has_aux=True)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [2.0, 4.0])
    assert aux["note"] == "hello"
    assert type(aux["loss_twice"]) is np.ndarray and aux["loss_twice"] == 10.0


def test_value_and_grad_has_aux_follows_jax():
    (value, aux), g = tg.value_and_grad(loss_with_aux, has_aux=True)(np.array([1.0, 2.0]))
    assert value == pytest.approx(5.0) and aux["loss_twice"] == 10.0
    np.testing.assert_allclose(g, [2.0, 4.0])


def test_has_aux_needs_a_pair():
    with pytest.raises(TypeError, match=r"pair \(output, aux\)"):
        tg.grad(lambda x: tg.sum(x), has_aux=True)(np.ones(2))


def test_returning_a_pair_without_has_aux_suggests_it():
    with pytest.raises(TypeError, match="has_aux=True"):
        tg.grad(loss_with_aux)(np.ones(2))


def test_keyword_arguments_pass_through_undifferentiated():
    def f(x, scale=1.0, offset=0.0):
        return tg.sum(scale * x**2 + offset)

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(tg.grad(f)(x, scale=3.0), 6 * x)
    np.testing.assert_allclose(tg.grad(f)(x, scale=3.0, offset=np.ones(2)), 6 * x)
    value, _ = tg.value_and_grad(f)(x, scale=3.0)
    assert value == pytest.approx(15.0)


def test_a_keyword_argument_is_not_counted_by_argnums():
    with pytest.raises(ValueError, match="argnums"):
        tg.grad(lambda x, y=1.0: tg.sum(x * y), argnums=1)(np.ones(2), y=2.0)


# -- outputs off the tape ----------------------------------------------------------------


@pytest.mark.parametrize(
    "fun",
    [
        lambda x: None,
        lambda x: 3.0,
        lambda x: np.sum(x.data),
        lambda x: np.float64(1.0),
    ],
    ids=["None", "float", "ndarray", "numpy-scalar"],
)
def test_output_not_computed_with_tapegrad_is_a_type_error(fun):
    with pytest.raises(TypeError, match=r"does not depend on the inputs.*0\.0 \* tg\.sum\(x\)"):
        tg.grad(fun)(np.ones(2))


def test_zero_gradient_on_purpose():
    np.testing.assert_array_equal(tg.grad(lambda x: 0.0 * tg.sum(x))(np.ones(2)), np.zeros(2))
    # A constant Tensor (detached) is also an explicit choice: zeros.
    np.testing.assert_array_equal(tg.grad(lambda x: tg.sum(x.detach()))(np.ones(2)), np.zeros(2))


def test_second_derivative_of_a_linear_function_is_zero_not_an_error():
    assert tg.grad(tg.grad(lambda x: 3.0 * x))(2.0) == 0.0
    assert tg.grad(tg.grad(lambda x: x**2))(2.0) == 2.0


# -- vjp with pytree outputs -------------------------------------------------------------


def test_vjp_of_a_tuple_output_is_correct():
    x0 = np.array([0.5, -1.0, 2.0])
    out, vjp_fn = tg.vjp(lambda x: (tg.sin(x), tg.sum(x**2)), x0)
    np.testing.assert_allclose(out[0], np.sin(x0))
    assert out[1] == pytest.approx(np.sum(x0**2))
    v, s = np.array([1.0, 2.0, 3.0]), 0.5
    (gx,) = vjp_fn((v, s))
    np.testing.assert_allclose(gx, np.cos(x0) * v + 2 * x0 * s)


def test_vjp_dict_output_against_the_sum_of_its_parts():
    def f(x, y):
        return {"prod": x * y, "sq": [x**2, None]}

    x0, y0 = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    out, vjp_fn = tg.vjp(f, x0, y0)
    assert out["sq"][1] is None
    ct = {"prod": np.array([1.0, 1.0]), "sq": [np.array([0.5, 2.0]), None]}
    gx, gy = vjp_fn(ct)
    np.testing.assert_allclose(gx, y0 + 2 * x0 * ct["sq"][0])
    np.testing.assert_allclose(gy, x0)


def test_vjp_cotangent_structure_must_match():
    _, vjp_fn = tg.vjp(lambda x: (x, 2 * x), np.ones(2))
    with pytest.raises(ValueError, match="structure"):
        vjp_fn(np.ones(2))
    with pytest.raises(ValueError, match="shape"):
        vjp_fn((np.ones(2), np.ones(3)))


def test_vjp_of_pytree_primals():
    _out, vjp_fn = tg.vjp(lambda p: p["a"] * p["b"], {"a": np.array([2.0]), "b": np.array([5.0])})
    (g,) = vjp_fn(np.array([1.0]))
    assert g == {"a": np.array([5.0]), "b": np.array([2.0])}


def test_vjp_has_aux():
    _out, vjp_fn, aux = tg.vjp(lambda x: (tg.exp(x), {"n": 3}), np.array([0.0, 1.0]), has_aux=True)
    assert aux == {"n": 3}
    np.testing.assert_allclose(vjp_fn(np.ones(2))[0], np.exp([0.0, 1.0]))


def test_vjp_output_leaf_off_the_tape_is_a_type_error():
    with pytest.raises(TypeError, match=r"output\[1\] is a ndarray"):
        tg.vjp(lambda x: (x * 2, np.ones(2)), np.ones(2))


# -- stop_gradient ---------------------------------------------------------------------


def test_stop_gradient_blocks_the_gradient_and_keeps_the_value():
    def f(x):
        return tg.sum(x * tg.stop_gradient(x))

    x0 = np.array([1.0, 3.0])
    # d/dx (x * c) with c = x held constant: c.
    np.testing.assert_allclose(tg.grad(f)(x0), x0)
    np.testing.assert_allclose(tg.value_and_grad(f)(x0)[0], 10.0)


def test_stop_gradient_on_pytrees_and_arrays():
    x = tg.tensor([1.0], requires_grad=True)
    tree = tg.stop_gradient({"x": x, "a": np.ones(1)})
    assert not tree["x"].requires_grad and type(tree["a"]) is np.ndarray
    np.testing.assert_array_equal(tree["x"].data, [1.0])


def test_stop_gradient_inside_second_order():
    # f = x^2 * sg(x): f' = 2 x sg(x) -> f'' = 2 sg(x) (the stopped factor stays constant).
    d2 = tg.grad(tg.grad(lambda x: x**2 * tg.stop_gradient(x)))
    assert d2(3.0) == pytest.approx(6.0)
