"""The engine's starter primitives: first and second derivatives against closed
forms and central finite differences (float64)."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

RNG = np.random.default_rng(7)
X = RNG.uniform(0.5, 2.0, size=(3, 4))
Y = RNG.uniform(0.5, 2.0, size=(4,))

# name, function, (first derivative, second derivative) of sum(f(x)) elementwise
UNARY_CLOSED_FORMS = [
    ("negative", tg.negative, lambda x: -np.ones_like(x), lambda x: np.zeros_like(x)),
    ("exp", tg.exp, np.exp, np.exp),
    ("log", tg.log, lambda x: 1 / x, lambda x: -1 / x**2),
    (
        "tanh",
        tg.tanh,
        lambda x: 1 - np.tanh(x) ** 2,
        lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
    ),
    ("cube", lambda x: x**3.0, lambda x: 3 * x**2, lambda x: 6 * x),
    ("reciprocal", lambda x: 1.0 / x, lambda x: -1 / x**2, lambda x: 2 / x**3),
]


@pytest.mark.parametrize(
    ("name", "f", "d1", "d2"), UNARY_CLOSED_FORMS, ids=[r[0] for r in UNARY_CLOSED_FORMS]
)
def test_unary_closed_forms(name, f, d1, d2):
    def total(x):
        return tg.sum(f(x))

    np.testing.assert_allclose(tg.grad(total)(X), d1(X), rtol=1e-12)
    np.testing.assert_allclose(tg.grad(lambda x: tg.sum(tg.grad(total)(x)))(X), d2(X), rtol=1e-10)


BINARY = [
    ("add", tg.add),
    ("subtract", tg.subtract),
    ("multiply", tg.multiply),
    ("divide", tg.divide),
    ("power", tg.power),
    ("matmul", tg.matmul),
]


@pytest.mark.parametrize(("name", "f"), BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_against_finite_differences_to_second_order(name, f, dtype):
    check_grads(f, X.astype(dtype), Y.astype(dtype), order=2)


def test_binary_closed_forms():
    x, y = 1.5, 0.75
    assert tg.grad(tg.divide, argnums=(0, 1))(x, y) == pytest.approx((1 / y, -x / y**2))
    assert tg.grad(tg.power, argnums=(0, 1))(x, y) == pytest.approx(
        (y * x ** (y - 1), np.log(x) * x**y)
    )


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_axes(axis, keepdims):
    check_grads(lambda x: tg.sum(x * x, axis=axis, keepdims=keepdims), X, order=2)
    np.testing.assert_allclose(
        tg.sum(X, axis=axis, keepdims=keepdims).data, np.sum(X, axis=axis, keepdims=keepdims)
    )


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [
        ((3,), (3,)),
        ((2, 3), (3,)),
        ((3,), (3, 4)),
        ((2, 3), (3, 4)),
        ((5, 2, 3), (3, 4)),
        ((3,), (5, 3, 4)),
        ((5, 2, 3), (5, 3, 4)),
        ((1, 2, 3), (5, 3, 2)),
    ],
)
def test_matmul_shapes(a_shape, b_shape):
    a, b = RNG.standard_normal(a_shape), RNG.standard_normal(b_shape)
    np.testing.assert_allclose(tg.matmul(a, b).data, a @ b)
    check_grads(tg.matmul, a, b, order=2)


def test_matmul_closed_form():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))
    ga, gb = tg.grad(lambda a, b: tg.sum(a @ b), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, np.ones((2, 4)) @ b.T)
    np.testing.assert_allclose(gb, a.T @ np.ones((2, 4)))


def test_operators_match_functions():
    x = tg.tensor(X, requires_grad=True)
    y = tg.tensor(Y, requires_grad=True)
    pairs = [
        (x + y, tg.add(x, y)),
        (x - y, tg.subtract(x, y)),
        (x * y, tg.multiply(x, y)),
        (x / y, tg.divide(x, y)),
        (x**y, tg.power(x, y)),
        (x @ y, tg.matmul(x, y)),
        (-x, tg.negative(x)),
        (2.0 - x, tg.subtract(2.0, x)),
        (2.0 / x, tg.divide(2.0, x)),
        (2.0**x, tg.power(2.0, x)),
    ]
    for op_result, fn_result in pairs:
        np.testing.assert_array_equal(op_result.data, fn_result.data)
