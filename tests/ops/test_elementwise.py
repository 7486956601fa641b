"""Elementwise primitives: values against numpy, first derivatives against
closed forms, first and second derivatives against finite differences, and
the numpy protocol paths (np.exp(t), ndarrays and Python scalars in either
position) against the tg.* route. The trigonometric and hyperbolic family
(tapegrad/ops/trig.py) has the same checks in test_trig.py."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

from .elementwise_table import draws, table_tests, total_of

RNG = np.random.default_rng(20)


draw = draws(RNG)


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


# name, tapegrad op, numpy reference, value kind, closed-form derivative
UNARY = [
    ("negative", tg.negative, np.negative, "real", lambda x: -np.ones_like(x)),
    ("positive", tg.positive, np.positive, "real", np.ones_like),
    ("square", tg.square, np.square, "real", lambda x: 2 * x),
    ("sqrt", tg.sqrt, np.sqrt, "positive", lambda x: 0.5 / np.sqrt(x)),
    ("cbrt", tg.cbrt, np.cbrt, "nonzero", lambda x: 1 / (3 * np.cbrt(x) ** 2)),
    ("reciprocal", tg.reciprocal, np.reciprocal, "nonzero", lambda x: -1 / x**2),
    ("exp", tg.exp, np.exp, "real", np.exp),
    ("exp2", tg.exp2, np.exp2, "real", lambda x: np.log(2) * 2**x),
    ("expm1", tg.expm1, np.expm1, "real", np.exp),
    ("log", tg.log, np.log, "positive", lambda x: 1 / x),
    ("log2", tg.log2, np.log2, "positive", lambda x: 1 / (x * np.log(2))),
    ("log10", tg.log10, np.log10, "positive", lambda x: 1 / (x * np.log(10))),
    ("log1p", tg.log1p, np.log1p, "positive", lambda x: 1 / (1 + x)),
    ("absolute", tg.absolute, np.absolute, "nonzero", np.sign),
    ("sigmoid", tg.sigmoid, logistic, "real", lambda x: logistic(x) * (1 - logistic(x))),
    ("softplus", tg.softplus, lambda x: np.log1p(np.exp(x)), "real", logistic),
]
UNARY_IDS = [row[0] for row in UNARY]

# name, tapegrad op, numpy reference, value kinds, closed-form partials (d/dx, d/dy)
BINARY = [
    ("add", tg.add, np.add, ("real", "real"), lambda x, y: (1.0, 1.0)),
    ("subtract", tg.subtract, np.subtract, ("real", "real"), lambda x, y: (1.0, -1.0)),
    ("multiply", tg.multiply, np.multiply, ("real", "real"), lambda x, y: (y, x)),
    ("divide", tg.divide, np.divide, ("real", "nonzero"), lambda x, y: (1 / y, -x / y**2)),
    (
        "power",
        tg.power,
        np.power,
        ("positive", "real"),
        lambda x, y: (y * x ** (y - 1), np.log(x) * x**y),
    ),
    (
        "logaddexp",
        tg.logaddexp,
        np.logaddexp,
        ("real", "real"),
        lambda x, y: (logistic(x - y), logistic(y - x)),
    ),
    (
        "logaddexp2",
        tg.logaddexp2,
        np.logaddexp2,
        ("real", "real"),
        lambda x, y: (1 / (1 + 2 ** (y - x)), 1 / (1 + 2 ** (x - y))),
    ),
    ("maximum", tg.maximum, np.maximum, ("real", "real"), lambda x, y: (x > y, x < y)),
    ("minimum", tg.minimum, np.minimum, ("real", "real"), lambda x, y: (x < y, x > y)),
    ("fmax", tg.fmax, np.fmax, ("real", "real"), lambda x, y: (x > y, x < y)),
    ("fmin", tg.fmin, np.fmin, ("real", "real"), lambda x, y: (x < y, x > y)),
]
BINARY_IDS = [row[0] for row in BINARY]


# -- unary ------------------------------------------------------------------------


# The checks every elementwise family shares, on this family's tables (sigmoid and
# softplus are ours, not numpy ufuncs).
NUMPY_UNARY = [row for row in UNARY if row[0] not in ("sigmoid", "softplus")]
globals().update(table_tests(UNARY, BINARY, NUMPY_UNARY, draw))


OPERATORS = [
    ("+", lambda x, y: x + y, np.add),
    ("-", lambda x, y: x - y, np.subtract),
    ("*", lambda x, y: x * y, np.multiply),
    ("/", lambda x, y: x / y, np.divide),
    ("**", lambda x, y: x**y, np.power),
    ("%", lambda x, y: x % y, np.remainder),
]


@pytest.mark.parametrize(("symbol", "apply", "reference"), OPERATORS, ids=[o[0] for o in OPERATORS])
def test_operators_match_numpy_and_reflect(symbol, apply, reference):
    x, y = draw("positive", (2, 3)), draw("positive", (3,))
    t, u = tg.tensor(x), tg.tensor(y)
    np.testing.assert_allclose(apply(t, u).data, reference(x, y))
    np.testing.assert_allclose(apply(t, 1.5).data, reference(x, 1.5))
    np.testing.assert_allclose(apply(1.5, t).data, reference(1.5, x))
    np.testing.assert_allclose(apply(y, t).data, reference(y, x))


def test_abs_operator_and_alias():
    x = np.array([-2.0, 0.5, 3.0])
    assert tg.abs is tg.absolute
    np.testing.assert_array_equal(tg.grad(lambda t: tg.sum(abs(t)))(x), [-1.0, 1.0, 1.0])
    np.testing.assert_array_equal(tg.grad(lambda t: tg.sum(np.abs(t)))(x), [-1.0, 1.0, 1.0])


# -- power: tensor exponents, zero and negative bases ---------------------------------------


def test_power_with_a_tensor_exponent_to_second_order():
    check_grads(tg.power, draw("positive", (2, 3)), draw("real", (3,)), order=2)
    check_grads(lambda y: 2.0**y, draw("real", (4,)), order=2)


def test_power_at_a_zero_base():
    def both(x, y):
        return tg.grad(tg.power, argnums=(0, 1))(x, y)

    # d/dx 0**2 = 0 and d/dy 0**2 = 0 (the limit from x > 0, as PyTorch).
    assert both(0.0, 2.0) == (0.0, 0.0)
    # x**0 is the constant 1: both partials 0 at x = 0 (not 0 * inf).
    assert both(0.0, 0.0) == (0.0, 0.0)
    assert tg.grad(lambda x: x**0)(0.0) == 0.0
    # d/dx x**1 = 1 and d2/dx2 x**2 = 2 at 0: second order through the constant-exponent path.
    assert tg.grad(lambda x: x**1)(0.0) == 1.0
    assert tg.grad(tg.grad(lambda x: x**2))(0.0) == 2.0


def test_power_of_a_negative_base():
    # Integer exponents are fine in x; in y the derivative is undefined (NaN),
    # never a silent number: x**y leaves the reals for non-integer y nearby.
    gx, gy = tg.grad(tg.power, argnums=(0, 1))(-2.0, 3.0)
    assert gx == pytest.approx(12.0)
    assert np.isnan(gy)
    assert tg.grad(lambda x: x**3)(-2.0) == pytest.approx(12.0)


# -- remainder ---------------------------------------------------------------------------


def test_remainder_gradients():
    x, y = np.array([5.5, -3.2, 7.1]), np.array([2.0, 1.5, -3.0])
    gx, gy = tg.grad(lambda a, b: tg.sum(tg.remainder(a, b)), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, np.ones(3))
    np.testing.assert_array_equal(gy, -np.floor(x / y))
    check_grads(tg.remainder, x, y, order=2)
    assert tg.mod is tg.remainder
    np.testing.assert_array_equal(tg.grad(lambda a: tg.sum(a % 2.0))(x), np.ones(3))


# -- clip -------------------------------------------------------------------------------


def test_clip_values_and_gradient():
    x = np.array([-2.0, -0.3, 0.4, 1.7])
    np.testing.assert_array_equal(tg.clip(x, -1.0, 1.0).data, np.clip(x, -1.0, 1.0))
    np.testing.assert_array_equal(tg.grad(lambda t: tg.sum(tg.clip(t, -1.0, 1.0)))(x), [0, 1, 1, 0])
    check_grads(lambda t: tg.clip(t, -1.0, 1.0), x, order=2)


@pytest.mark.parametrize(
    "call",
    [
        lambda t: np.clip(t, -1.0, 1.0),
        lambda t: t.clip(-1.0, 1.0),
        lambda t: t.clip(min=-1.0, max=1.0),
        lambda t: np.clip(t, -1.0, None),
        lambda t: tg.clip(t, a_max=1.0),
    ],
    ids=["np.clip", "method", "min-max-keywords", "upper-None", "lower-None"],
)
def test_clip_spellings(call):
    x = np.array([-2.0, -0.3, 0.4, 1.7])
    expected = np.asarray(call(x))
    np.testing.assert_array_equal(call(tg.tensor(x)).data, expected)
    grad = tg.grad(lambda t: tg.sum(call(t)))(x)
    np.testing.assert_array_equal(grad, (expected == x).astype(float))


def test_clip_with_tensor_bounds():
    x = np.array([-2.0, -0.3, 0.4, 1.7])
    lo, hi = np.array([-1.0, 0.0, -1.0, -1.0]), np.array(1.0)
    gx, glo, ghi = tg.grad(lambda a, b, c: tg.sum(tg.clip(a, b, c)), argnums=(0, 1, 2))(x, lo, hi)
    np.testing.assert_array_equal(gx, [0, 0, 1, 0])
    np.testing.assert_array_equal(glo, [1, 1, 0, 0])
    assert ghi == 1.0
    check_grads(tg.clip, x, lo, hi, order=2)


def test_clip_with_crossed_bounds_follows_numpy():
    # numpy: a_min > a_max gives a_max everywhere, so only a_max has a gradient.
    x = np.array([-2.0, 0.5, 3.0])
    lo, hi = np.array(1.0), np.array(0.0)
    np.testing.assert_array_equal(tg.clip(x, lo, hi).data, np.clip(x, lo, hi))
    gx, glo, ghi = tg.grad(lambda a, b, c: tg.sum(tg.clip(a, b, c)), argnums=(0, 1, 2))(x, lo, hi)
    assert (gx.tolist(), float(glo), float(ghi)) == ([0.0, 0.0, 0.0], 0.0, 3.0)


def test_clip_rejects_out():
    with pytest.raises(TypeError, match="out"):
        np.clip(tg.tensor([1.0]), 0.0, 1.0, out=np.empty(1))


# -- sigmoid and softplus: stable at any magnitude ---------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_and_softplus_are_stable(dtype):
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s, sp = tg.sigmoid(x).data, tg.softplus(x).data
    assert s.dtype == sp.dtype == dtype
    np.testing.assert_allclose(s, [0.0, np.exp(-50.0), 0.5, 1.0, 1.0], rtol=1e-6, atol=0)
    np.testing.assert_allclose(sp, [0.0, np.exp(-50.0), np.log(2.0), 50.0, 1000.0], rtol=1e-6)
    np.testing.assert_allclose(tg.grad(total_of(tg.softplus))(x), s, rtol=1e-6)
    assert np.all(np.isfinite(tg.grad(total_of(tg.sigmoid))(x)))


def test_sigmoid_keeps_relative_precision_for_negative_inputs():
    x = np.array([-30.0, -300.0])
    np.testing.assert_allclose(tg.sigmoid(x).data, np.exp(x) / (1 + np.exp(x)), rtol=1e-14)


# -- where, astype ---------------------------------------------------------------------------


def test_where_broadcasts_and_routes_gradients():
    cond = np.array([[True], [False]])
    x, y = draw("real", (2, 3)), draw("real", (3,))
    gx, gy = tg.grad(lambda a, b: tg.sum(np.where(cond, a, b)), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, np.broadcast_to(cond, (2, 3)).astype(float))
    np.testing.assert_array_equal(gy, np.ones(3))
    check_grads(lambda a, b: tg.where(cond, a, b), x, y, order=2)


def test_astype_gradient_comes_back_in_the_input_dtype():
    x = draw("real", (3,), np.float32)
    grad = tg.grad(lambda t: tg.sum(t.astype(np.float64) ** 2))(x)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-6)


def test_every_elementwise_primitive_is_marked_elementwise():
    from tapegrad.ops import elementwise, trig

    modules = (elementwise.__name__, trig.__name__)
    mine = [p for p in tg.primitives().values() if p.__module__ in modules]
    assert len(mine) >= 45
    assert all(p.elementwise for p in mine), [p.name for p in mine if not p.elementwise]


def test_ufunc_primitives_run_the_ufunc_under_its_name_and_point_at_numpy():
    import inspect
    import pydoc

    from tapegrad.ops import elementwise, trig

    # numpy's ufuncs (scipy.special's, registered by tapegrad.scipy, point at scipy).
    ufunc_primitives = [
        p
        for p in tg.primitives().values()
        if isinstance(p.fun, np.ufunc)
        and p.numpy is p.fun
        and p.__module__.startswith("tapegrad.ops")
    ]
    assert len(ufunc_primitives) >= 40
    for prim in ufunc_primitives:
        assert prim.name == prim.fun.__name__ and prim.__name__ == prim.name
        assert getattr(tg, prim.name) is prim
        assert prim.__module__ in (elementwise.__name__, trig.__name__)  # its family
        assert f"np.{prim.name}" in prim.__doc__
        assert len(inspect.signature(prim).parameters) == prim.fun.nin
    assert tg.add.name == "add" and tg.add.fun is np.add
    assert str(inspect.signature(tg.add)) == "(x1, x2, /)"
    assert str(inspect.signature(tg.exp)) == "(x, /)"
    text = pydoc.render_doc(tg.add, renderer=pydoc.plaintext)
    assert "add(x1, x2, /)" in text and "help(numpy.add)" in text


# -- casts to integers, one-argument where (regressions) ---------------------------------------


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_a_cast_to_an_integer_dtype_is_a_constant(dtype):
    # Rounding is piecewise constant: the gradient through it is 0, not the
    # identity (a recorded cast once passed the cotangent straight back).
    x = np.array([1.5, 2.5, 0.0])
    y = tg.tensor(x, requires_grad=True).astype(dtype)
    assert y.dtype == dtype and not y.requires_grad
    np.testing.assert_array_equal(y.data, x.astype(dtype))
    grad = tg.grad(lambda t: tg.sum(t.astype(dtype) * t))(x)
    np.testing.assert_array_equal(grad, x.astype(dtype).astype(float))


def test_a_float_cast_is_still_recorded():
    t = tg.tensor(np.ones(2), requires_grad=True)
    assert tg.astype(t, np.float32).requires_grad
    assert t.astype("float32").dtype == np.float32


def test_where_with_only_a_condition_is_nonzero():
    cond = np.array([[1.0, 0.0], [0.0, 2.0]])
    for where in (np.where, tg.where):
        result = where(tg.tensor(cond, requires_grad=True))
        assert len(result) == 2
        for got, expected in zip(result, np.nonzero(cond)):
            assert type(got) is np.ndarray
            np.testing.assert_array_equal(got, expected)


def test_where_with_one_branch_is_an_error():
    with pytest.raises(ValueError, match="both or neither"):
        np.where(tg.tensor(np.ones(2)) > 0, tg.tensor(np.ones(2), requires_grad=True))


@pytest.mark.parametrize(
    "fun",
    [np.conj, np.conjugate, np.real, np.fabs, tg.conj, tg.real, tg.fabs],
    ids=["np.conj", "np.conjugate", "np.real", "np.fabs", "tg.conj", "tg.real", "tg.fabs"],
)
def test_real_valued_aliases_are_recorded(fun):
    # Tensor.conj() existed as a method but np.conjugate had no rule, so it
    # raised on any tensor that required grad.
    x = draw("nonzero", (2, 3))
    np.testing.assert_array_equal(fun(tg.tensor(x, requires_grad=True)).data, fun(x))
    check_grads(lambda t: fun(t) * t, x, order=2)


def test_conj_method_and_complex_input():
    x = draw("real", (3,), np.float32)
    t = tg.tensor(x, requires_grad=True)
    assert t.conj().dtype == np.float32 and t.conjugate().requires_grad
    np.testing.assert_array_equal(tg.conj(np.array([1j])).data, [-1j])


# -- copysign, heaviside, nan_to_num ------------------------------------------------------------


def test_copysign_flips_the_gradient_where_it_flips_the_sign_and_x2_gets_none():
    x1 = tg.tensor([1.5, -2.0, 3.0], requires_grad=True)
    x2 = tg.tensor([-1.0, -1.0, 1.0], requires_grad=True)
    out = np.copysign(x1, x2)
    np.testing.assert_array_equal(out.data, np.copysign(x1.data, x2.data))
    tg.sum(out).backward()
    np.testing.assert_array_equal(x1.grad, [-1.0, 1.0, 1.0])
    assert x2.grad is None


def test_heaviside_has_no_gradient_in_x1_and_gives_x2_its_value_at_zero():
    x1 = tg.tensor([-1.0, 0.0, 2.0, 0.0], requires_grad=True)
    x2 = tg.tensor([0.5, 0.25, 0.5, 0.75], requires_grad=True)
    out = np.heaviside(x1, x2)
    np.testing.assert_array_equal(out.data, np.heaviside(x1.data, x2.data))
    tg.sum(out).backward()
    assert x1.grad is None
    np.testing.assert_array_equal(x2.grad, [0.0, 1.0, 0.0, 1.0])


def test_nan_to_num_keeps_the_gradient_of_finite_elements_only():
    special = np.array([0.0, np.nan, np.inf, -np.inf, 0.0])
    y = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    for options in ({}, {"nan": 3.0, "posinf": 5.0, "neginf": -6.0}):
        np.testing.assert_array_equal(
            np.nan_to_num(tg.tensor(y), **options).data, np.nan_to_num(y, **options)
        )
    check_grads(lambda v: np.nan_to_num(v + special), np.ones(5), order=2)
    check_grads(lambda v, n: np.nan_to_num(v + special, nan=n), np.ones(5), np.array(2.0), order=2)
