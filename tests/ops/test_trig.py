"""Trigonometric and hyperbolic primitives (tapegrad/ops/trig.py): values against
numpy, first derivatives against closed forms, first and second derivatives
against finite differences, and the numpy protocol paths (np.sin(t), ndarrays
and Python scalars in either position) against the tg.* route. The same
checks as test_elementwise.py, on this family's rows."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

RNG = np.random.default_rng(20)


def draw(kind, shape, dtype=np.float64):
    """Values of a kind away from the op's singular points."""
    if kind == "real":
        x = RNG.uniform(-2.0, 2.0, size=shape)
    elif kind == "positive":
        x = RNG.uniform(0.5, 2.0, size=shape)
    elif kind == "nonzero":
        x = RNG.uniform(0.5, 2.0, size=shape) * RNG.choice([-1.0, 1.0], size=shape)
    elif kind == "unit":
        x = RNG.uniform(-0.8, 0.8, size=shape)
    elif kind == "above1":
        x = RNG.uniform(1.2, 3.0, size=shape)
    else:
        raise ValueError(kind)
    return np.asarray(x, dtype=dtype)


def sech2(x):
    return 1.0 / np.cosh(x) ** 2


# name, tapegrad op, numpy reference, value kind, closed-form derivative
UNARY = [
    ("sin", tg.sin, np.sin, "real", np.cos),
    ("cos", tg.cos, np.cos, "real", lambda x: -np.sin(x)),
    ("tan", tg.tan, np.tan, "unit", lambda x: 1 / np.cos(x) ** 2),
    ("arcsin", tg.arcsin, np.arcsin, "unit", lambda x: 1 / np.sqrt(1 - x**2)),
    ("arccos", tg.arccos, np.arccos, "unit", lambda x: -1 / np.sqrt(1 - x**2)),
    ("arctan", tg.arctan, np.arctan, "real", lambda x: 1 / (1 + x**2)),
    ("sinh", tg.sinh, np.sinh, "real", np.cosh),
    ("cosh", tg.cosh, np.cosh, "real", np.sinh),
    ("tanh", tg.tanh, np.tanh, "real", sech2),
    ("arcsinh", tg.arcsinh, np.arcsinh, "real", lambda x: 1 / np.sqrt(x**2 + 1)),
    ("arccosh", tg.arccosh, np.arccosh, "above1", lambda x: 1 / np.sqrt(x**2 - 1)),
    ("arctanh", tg.arctanh, np.arctanh, "unit", lambda x: 1 / (1 - x**2)),
]
UNARY_IDS = [row[0] for row in UNARY]

# name, tapegrad op, numpy reference, value kinds, closed-form partials (d/dx, d/dy)
BINARY = [
    (
        "arctan2",
        tg.arctan2,
        np.arctan2,
        ("nonzero", "nonzero"),
        lambda y, x: (x / (x**2 + y**2), -y / (x**2 + y**2)),
    ),
    (
        "hypot",
        tg.hypot,
        np.hypot,
        ("nonzero", "nonzero"),
        lambda x, y: (x / np.hypot(x, y), y / np.hypot(x, y)),
    ),
]
BINARY_IDS = [row[0] for row in BINARY]
BROADCAST_SHAPES = [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3)), ((2, 3), ())]


def total_of(op):
    def total(*xs):
        return tg.sum(op(*xs))

    return total


# -- unary ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "op", "reference", "kind", "d1"), UNARY, ids=UNARY_IDS)
@pytest.mark.parametrize("shape", [(3, 4), (), (0, 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unary_values_and_dtype(name, op, reference, kind, d1, shape, dtype):
    x = draw(kind, shape, dtype)
    out = op(x)
    assert out.dtype == dtype
    assert out.shape == shape
    np.testing.assert_allclose(out.data, reference(x), rtol=1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize(("name", "op", "reference", "kind", "d1"), UNARY, ids=UNARY_IDS)
def test_unary_derivative_closed_form(name, op, reference, kind, d1):
    x = draw(kind, (3, 4))
    np.testing.assert_allclose(tg.grad(total_of(op))(x), d1(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("name", "op", "reference", "kind", "d1"), UNARY, ids=UNARY_IDS)
@pytest.mark.parametrize(
    ("shape", "dtype"), [((2, 3), np.float64), ((), np.float64), ((4,), np.float32)]
)
def test_unary_second_order(name, op, reference, kind, d1, shape, dtype):
    check_grads(op, draw(kind, shape, dtype), order=2)


@pytest.mark.parametrize(("name", "op", "reference", "kind", "d1"), UNARY, ids=UNARY_IDS)
def test_unary_gradient_keeps_float32(name, op, reference, kind, d1):
    grad = tg.grad(total_of(op))(draw(kind, (3,), np.float32))
    assert grad.dtype == np.float32


NUMPY_UNARY = UNARY  # every row is a numpy ufunc


@pytest.mark.parametrize(
    ("name", "op", "reference", "kind", "d1"), NUMPY_UNARY, ids=[r[0] for r in NUMPY_UNARY]
)
def test_numpy_ufunc_on_a_tensor_records(name, op, reference, kind, d1):
    x = draw(kind, (2, 3))
    out = reference(tg.tensor(x, requires_grad=True))
    assert isinstance(out, tg.Tensor) and out.requires_grad
    via_numpy = tg.grad(total_of(reference))(x)
    np.testing.assert_allclose(via_numpy, tg.grad(total_of(op))(x), rtol=1e-15)


# -- binary, with broadcasting ------------------------------------------------------


@pytest.mark.parametrize(("name", "op", "reference", "kinds", "partials"), BINARY, ids=BINARY_IDS)
@pytest.mark.parametrize(("x_shape", "y_shape"), BROADCAST_SHAPES)
def test_binary_values_and_second_order(name, op, reference, kinds, partials, x_shape, y_shape):
    x, y = draw(kinds[0], x_shape), draw(kinds[1], y_shape)
    np.testing.assert_allclose(op(x, y).data, reference(x, y), rtol=1e-14)
    check_grads(op, x, y, order=2)


@pytest.mark.parametrize(("name", "op", "reference", "kinds", "partials"), BINARY, ids=BINARY_IDS)
def test_binary_float32(name, op, reference, kinds, partials):
    x, y = draw(kinds[0], (3, 1), np.float32), draw(kinds[1], (4,), np.float32)
    assert op(x, y).dtype == np.float32
    gx, gy = tg.grad(total_of(op), argnums=(0, 1))(x, y)
    assert gx.dtype == gy.dtype == np.float32
    check_grads(op, x, y, order=2)


@pytest.mark.parametrize(("name", "op", "reference", "kinds", "partials"), BINARY, ids=BINARY_IDS)
def test_binary_closed_form_with_broadcast_sums(name, op, reference, kinds, partials):
    x, y = draw(kinds[0], (3, 1)), draw(kinds[1], (4,))
    dx, dy = partials(x, y)
    gx, gy = tg.grad(total_of(op), argnums=(0, 1))(x, y)
    # The engine sums each partial over the axes its input was broadcast along.
    np.testing.assert_allclose(gx, np.sum(np.broadcast_to(dx, (3, 4)), axis=1, keepdims=True))
    np.testing.assert_allclose(gy, np.sum(np.broadcast_to(dy, (3, 4)), axis=0))


@pytest.mark.parametrize(("name", "op", "reference", "kinds", "partials"), BINARY, ids=BINARY_IDS)
def test_numpy_ufunc_with_ndarrays_and_scalars_in_either_position(
    name, op, reference, kinds, partials
):
    x, a = draw(kinds[0], (2, 3)), draw(kinds[1], (3,))
    scalar = float(draw(kinds[1], ()))

    def check(tg_route, numpy_route, at):
        np.testing.assert_allclose(tg.grad(numpy_route)(at), tg.grad(tg_route)(at), rtol=1e-15)

    check(lambda t: tg.sum(op(t, a)), lambda t: tg.sum(reference(t, a)), x)
    check(lambda t: tg.sum(op(t, scalar)), lambda t: tg.sum(reference(t, scalar)), x)
    y = draw(kinds[1], (2, 3))
    b = draw(kinds[0], (3,))
    check(lambda t: tg.sum(op(b, t)), lambda t: tg.sum(reference(b, t)), y)
    check(lambda t: tg.sum(op(2.0, t)), lambda t: tg.sum(reference(2.0, t)), np.abs(y) + 0.5)
    # An ndarray on the left of a Tensor: numpy hands the call to the Tensor.
    out = reference(b, tg.tensor(y, requires_grad=True))
    assert isinstance(out, tg.Tensor) and out.requires_grad


# -- angles and sinc --------------------------------------------------------------------------


def test_degrees_and_radians_are_the_same_primitives_as_numpys_aliases():
    x = RNG.standard_normal(5)
    for numpy_function in (np.rad2deg, np.degrees, np.deg2rad, np.radians):
        np.testing.assert_array_equal(numpy_function(tg.tensor(x)).data, numpy_function(x))
        check_grads(numpy_function, x, order=2)
    assert tg.degrees is tg.rad2deg and tg.radians is tg.deg2rad


def test_sinc_and_its_derivatives_are_right_at_and_near_zero():
    x = np.array([0.0, 1e-9, -1e-5, 5e-4, 2e-3, 0.3, -1.7, 2.0])
    np.testing.assert_array_equal(np.sinc(tg.tensor(x)).data, np.sinc(x))
    check_grads(np.sinc, x, order=2)
    # d/dx sinc = 0 and d2/dx2 sinc = -pi^2 / 3 at 0.
    assert tg.grad(lambda x: np.sinc(x))(np.array(0.0)) == 0.0
    second = tg.grad(tg.grad(lambda x: np.sinc(x)))(np.array(0.0))
    np.testing.assert_allclose(second, -(np.pi**2) / 3)
