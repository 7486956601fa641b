"""Trigonometric and hyperbolic primitives (tapegrad/ops/trig.py): values against
numpy, first derivatives against closed forms, first and second derivatives
against finite differences, and the numpy protocol paths (np.sin(t), ndarrays
and Python scalars in either position) against the tg.* route. The same
checks as test_elementwise.py, on this family's rows."""

import numpy as np

import tapegrad as tg
from tapegrad.testing import check_grads

from .elementwise_table import draws, table_tests

RNG = np.random.default_rng(20)


draw = draws(RNG)


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


# -- unary ------------------------------------------------------------------------


# The checks every elementwise family shares, on this family's tables.
globals().update(table_tests(UNARY, BINARY, UNARY, draw))


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
