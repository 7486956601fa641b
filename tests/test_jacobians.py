"""jacrev, jacfwd, jacobian, hessian, hvp: shapes, closed forms, one forward, pytrees."""

import numpy as np
import pytest

import tapegrad as tg

RNG = np.random.default_rng(3)
A = RNG.standard_normal((4, 3))


def layer(x):
    return tg.tanh(tg.tensor(A) @ x)


def layer_jacobian(x):
    return (1 - np.tanh(A @ x) ** 2)[:, None] * A


def numeric_jacobian(f, x, eps=1e-6):
    columns = []
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        step = step.reshape(x.shape)
        plus, minus = f(tg.tensor(x + step)).data, f(tg.tensor(x - step)).data
        columns.append((plus - minus) / (2 * eps))
    return np.stack(columns, axis=-1).reshape(np.shape(plus) + x.shape)


@pytest.mark.parametrize("jac", [tg.jacrev, tg.jacfwd, tg.jacobian])
def test_jacobian_closed_form(jac):
    x = RNG.standard_normal(3)
    J = jac(layer)(x)
    assert J.shape == (4, 3) and type(J) is np.ndarray
    np.testing.assert_allclose(J, layer_jacobian(x), rtol=1e-12)


@pytest.mark.parametrize("jac", [tg.jacrev, tg.jacfwd])
def test_jacobian_shape_is_out_shape_plus_x_shape(jac):
    x = RNG.standard_normal((2, 3))

    def f(x):
        return tg.exp(x).T[:, :, None] * tg.sum(x**2, axis=0)  # shape (3, 2, 3)

    J = jac(f)(x)
    assert J.shape == (3, 2, 3, 2, 3)
    np.testing.assert_allclose(J, numeric_jacobian(f, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("jac", [tg.jacrev, tg.jacfwd])
def test_scalar_input_and_output(jac):
    assert jac(lambda x: x**3)(2.0) == pytest.approx(12.0)
    assert jac(lambda x: tg.sum(x**2))(np.array([1.0, 2.0])).shape == (2,)


@pytest.mark.parametrize("jac", [tg.jacrev, tg.jacfwd])
def test_argnums_tuple_gives_a_tuple_of_jacobians(jac):
    def f(x, w):
        return w @ x

    x, w = RNG.standard_normal(3), RNG.standard_normal((2, 3))
    jx, jw = jac(f, argnums=(0, 1))(x, w)
    np.testing.assert_allclose(jx, w)
    assert jw.shape == (2, 2, 3)
    np.testing.assert_allclose(jw, np.einsum("ij,k->ijk", np.eye(2), x))
    np.testing.assert_allclose(jac(f, argnums=-1)(x, w), jw)


@pytest.mark.parametrize("jac", [tg.jacrev, tg.jacfwd])
def test_pytree_inputs_and_outputs(jac):
    def f(p):
        return {"y": p["w"] * p["b"], "s": tg.sum(p["w"] ** 2)}

    p = {"w": np.array([1.0, 2.0]), "b": np.array(3.0)}
    J = jac(f)(p)
    np.testing.assert_allclose(J["y"]["w"], 3.0 * np.eye(2))
    np.testing.assert_allclose(J["y"]["b"], p["w"])
    np.testing.assert_allclose(J["s"]["w"], 2 * p["w"])
    assert J["s"]["b"].shape == ()


@pytest.mark.parametrize("jac", [tg.jacrev, tg.jacfwd])
def test_has_aux(jac):
    J, aux = jac(lambda x: (x**2, {"x": x}), has_aux=True)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(J, np.diag([2.0, 4.0]))
    np.testing.assert_allclose(aux["x"], [1.0, 2.0])


@pytest.mark.parametrize("jac", [tg.jacrev, tg.jacfwd])
def test_one_forward_for_all_rows(jac):
    calls = []

    def f(x):
        calls.append(1)
        return tg.sin(x)[:, None] * x

    jac(f)(RNG.standard_normal(5))
    assert len(calls) == 1


@pytest.mark.parametrize("jac", [tg.jacrev, tg.jacfwd])
def test_jacobian_keeps_float32(jac):
    J = jac(tg.exp)(np.array([0.0, 1.0], dtype=np.float32))
    assert J.dtype == np.float32


def test_jacrev_and_jacfwd_nest_inside_grad():
    x = RNG.standard_normal(3)

    def trace_of_jacobian(x):
        return tg.trace(tg.jacrev(lambda x: tg.sin(x) * x)(x))

    # trace J = sum(cos(x) x + sin(x)); its gradient: -sin(x) x + 2 cos(x).
    expected = -np.sin(x) * x + 2 * np.cos(x)
    np.testing.assert_allclose(tg.grad(trace_of_jacobian)(x), expected, rtol=1e-12)

    def via_jacfwd(x):
        return tg.trace(tg.jacfwd(lambda x: tg.sin(x) * x)(x))

    np.testing.assert_allclose(tg.grad(via_jacfwd)(x), expected, rtol=1e-12)


# -- hessian and hvp ---------------------------------------------------------------


def rosenbrock(x):
    return tg.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] += -400 * x[i]
        H[i + 1, i] += -400 * x[i]
    return H


def test_hessian_closed_form():
    x = RNG.standard_normal(5)
    H = tg.hessian(rosenbrock)(x)
    assert H.shape == (5, 5)
    np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-12)


def test_hessian_shape_for_a_matrix_argument_and_finite_differences_of_grad():
    x = RNG.standard_normal((2, 3))

    def f(x):
        return tg.sum(tg.exp(x) * tg.sum(x**2, axis=0))

    H = tg.hessian(f)(x)
    assert H.shape == (2, 3, 2, 3)
    numeric = numeric_jacobian(lambda t: tg.tensor(tg.grad(f)(t.data)), x)
    np.testing.assert_allclose(H, numeric, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(H.reshape(6, 6), H.reshape(6, 6).T, rtol=1e-12)


def test_hessian_of_two_arguments_gives_blocks():
    def f(x, y):
        return tg.sum(x**2 * y) + tg.sum(y**3)

    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    (hxx, hxy), (hyx, hyy) = tg.hessian(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(hxx, np.diag(2 * y))
    np.testing.assert_allclose(hxy, np.diag(2 * x))
    np.testing.assert_allclose(hyx, np.diag(2 * x))
    np.testing.assert_allclose(hyy, np.diag(6 * y))


def test_hessian_of_a_linear_function_is_zero():
    np.testing.assert_array_equal(
        tg.hessian(lambda x: tg.sum(3.0 * x))(np.ones(3)), np.zeros((3, 3))
    )


def test_hvp_equals_jvp_of_grad_and_the_hessian_product():
    x, v = RNG.standard_normal(5), RNG.standard_normal(5)
    g, hv = tg.hvp(rosenbrock, (x,), (v,))
    g_ref, hv_ref = tg.jvp(tg.grad(rosenbrock), (x,), (v,))
    np.testing.assert_allclose(g, g_ref, rtol=1e-14)
    np.testing.assert_allclose(hv, hv_ref, rtol=1e-12)
    np.testing.assert_allclose(hv, rosenbrock_hessian(x) @ v, rtol=1e-12)


def test_hvp_of_several_primals_and_pytrees():
    def f(p, y):
        return tg.sum(p["a"] ** 2 * y)

    p, y = {"a": np.array([1.0, 2.0])}, np.array([3.0, 4.0])
    tp, ty = {"a": np.array([1.0, 0.0])}, np.array([0.0, 1.0])
    (gp, _gy), (hp, hy) = tg.hvp(f, (p, y), (tp, ty))
    np.testing.assert_allclose(gp["a"], 2 * p["a"] * y)
    # H [tp; ty]: d/da = 2 y ta + 2 a ty, d/dy = 2 a ta.
    np.testing.assert_allclose(hp["a"], 2 * y * tp["a"] + 2 * p["a"] * ty)
    np.testing.assert_allclose(hy, 2 * p["a"] * tp["a"])


# -- jacrev: one backward for all rows where the rules allow it ------------------------


@pytest.fixture
def batched_walks(monkeypatch):
    """Record, per call of the batched walk, whether it handled the rows."""
    from tapegrad import jacobians

    outcomes = []
    walk = jacobians._batched_walk

    def spy(*args):
        result = walk(*args)
        outcomes.append(result is not None)
        return result

    monkeypatch.setattr(jacobians, "_batched_walk", spy)
    return outcomes


def _loop_jacobian(f, x):
    # Row by row through tg.vjp: the reference for the batched pass.
    out, vjp_fn = tg.vjp(f, x)
    rows = [vjp_fn(e.reshape(out.shape))[0] for e in np.eye(out.size)]
    return np.stack(rows).reshape(out.shape + np.shape(x))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_jacrev_batches_elementwise_and_matmul_graphs(batched_walks, dtype):
    a = RNG.standard_normal((7, 4)).astype(dtype)
    b = RNG.standard_normal((3, 1, 4)).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12

    def broadcasting(x):
        return tg.exp(x * b) / (1.0 + x**2)  # each row's cotangent summed back to x's shape

    def layer(x):
        return tg.maximum(tg.tanh(tg.tensor(a) @ x) * 2.0, 0.1)

    x = RNG.standard_normal(4).astype(dtype)
    J = tg.jacrev(broadcasting)(x)
    assert J.dtype == dtype and J.shape == (3, 1, 4, 4)
    np.testing.assert_allclose(J, _loop_jacobian(broadcasting, x), rtol=rtol)
    np.testing.assert_allclose(tg.jacrev(layer)(x), tg.jacfwd(layer)(x), rtol=rtol)
    assert batched_walks == [True, True]


def test_batched_jacrev_keeps_the_masking_of_zero_cotangents(batched_walks):
    # Row j != i has a zero cotangent at element i, where sqrt' is infinite.
    x = np.array([0.0, 4.0, 9.0])
    J = tg.jacrev(lambda x: tg.sqrt(x) * 3.0)(x)
    assert batched_walks == [True]
    np.testing.assert_array_equal(J, np.diag([np.inf, 0.75, 0.5]))


def test_batched_jacrev_of_two_arguments_and_in_chunks(batched_walks, monkeypatch):
    from tapegrad import jacobians

    monkeypatch.setattr(jacobians, "BATCH_ELEMENTS", 10)  # nodes of 5 elements: 2 rows a pass
    w = RNG.standard_normal((5, 3))
    x = RNG.standard_normal(3)

    def f(w, x):
        return tg.sin(w @ x) * x[0]  # the index is not batchable: loop for ...

    def h(w, x):
        return tg.sin(w @ x) * tg.cosh(w @ x)

    Jw, Jx = tg.jacrev(h, argnums=(0, 1))(w, x)
    assert batched_walks == [True] * 3  # 5 rows, 2 per pass
    expected_w, expected_x = tg.jacfwd(h, argnums=(0, 1))(w, x)
    np.testing.assert_allclose(Jw, expected_w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Jx, expected_x, rtol=1e-12, atol=1e-14)
    Jw, Jx = tg.jacrev(f, argnums=(0, 1))(w, x)
    assert batched_walks == [True] * 3  # ... getitem sends f to the loop
    expected_w, expected_x = tg.jacfwd(f, argnums=(0, 1))(w, x)
    np.testing.assert_allclose(Jx, expected_x, rtol=1e-12, atol=1e-14)
