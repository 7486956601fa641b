"""Sequences: values against numpy bit for bit; gradients to second order against
finite differences in every float input (samples, spacings, coordinates, tables)."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads, check_primitive

RNG = np.random.default_rng(33)
X = RNG.standard_normal((3, 5))
COORDS = np.cumsum(RNG.random(5) + 0.3)


def assert_numpys(out, expected):
    if isinstance(expected, tuple):
        assert isinstance(out, tuple) and len(out) == len(expected)
        for o, e in zip(out, expected):
            assert_numpys(o, e)
        return
    data = out.data if isinstance(out, tg.Tensor) else np.asarray(out)
    assert data.shape == np.shape(expected) and data.dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(data, expected)


@pytest.mark.parametrize(
    "options",
    [{}, {"n": 2}, {"axis": 0}, {"n": 3, "prepend": 0.5, "append": np.ones((3, 2))}],
    ids=str,
)
def test_diff_equals_numpys_and_differentiates_prepend_too(options):
    assert_numpys(np.diff(tg.tensor(X), **options), np.diff(X, **options))
    check_grads(lambda x, p: np.diff(x, n=2, prepend=p), X, np.ones((3, 1)), order=2)


def test_ediff1d_with_ends():
    expected = np.ediff1d(X, to_begin=[1.0, 2.0], to_end=3.0)
    assert_numpys(np.ediff1d(tg.tensor(X), to_begin=[1.0, 2.0], to_end=3.0), expected)
    check_grads(lambda x, b: np.ediff1d(x, to_begin=b), X, np.ones(2), order=2)
    with pytest.raises(TypeError):
        np.ediff1d(tg.tensor(X), to_begin=np.array([1 + 2j]))


GRADIENTS = [
    ((), {}),
    ((0.7,), {}),
    ((2.0, COORDS), {}),
    ((), {"edge_order": 2}),
    ((0.5, COORDS), {"edge_order": 2}),
    ((COORDS,), {"axis": 1, "edge_order": 2}),
    ((), {"axis": 0}),
]


@pytest.mark.parametrize(("spacing", "options"), GRADIENTS, ids=str)
def test_gradient_equals_numpys(spacing, options):
    assert_numpys(
        np.gradient(tg.tensor(X), *spacing, **options), np.gradient(X, *spacing, **options)
    )


def test_gradient_is_differentiable_in_the_samples_and_the_coordinates():
    check_grads(lambda x, c: np.gradient(x, c, axis=1, edge_order=2), X, COORDS, order=2)
    check_grads(lambda x, c: np.gradient(x, 0.3, c)[1], X, COORDS, order=2)
    check_grads(lambda x, h: np.gradient(x, h, axis=0), X, np.array(0.4), order=2)


def test_correlate_is_a_primitive_with_a_correlation_for_its_rule():
    check_primitive(tg.correlate, 40, seed=0)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_correlate_and_convolve_equal_numpys_for_every_pair_of_lengths(mode):
    for n in range(1, 6):
        for m in range(1, 6):
            a, v = RNG.standard_normal(n), RNG.standard_normal(m)
            assert_numpys(np.correlate(tg.tensor(a), tg.tensor(v), mode), np.correlate(a, v, mode))
            assert_numpys(np.convolve(tg.tensor(a), tg.tensor(v), mode), np.convolve(a, v, mode))
    check_grads(lambda a, v: np.convolve(a, v, mode), RNG.standard_normal(3), X[0], order=2)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"dx": 0.3},
        {"x": COORDS},
        {"axis": 0},
        {"x": X[:, :1] * 0 + COORDS[:3, None], "axis": 0},
    ],
    ids=["default", "dx", "x", "axis0", "x2d"],
)
def test_trapezoid_equals_numpys(options):
    assert_numpys(np.trapezoid(tg.tensor(X), **options), np.trapezoid(X, **options))


def test_trapezoid_is_differentiable_in_y_x_and_dx():
    check_grads(lambda y, x: np.trapezoid(y, x=x), X, COORDS, order=2)
    check_grads(lambda y, dx: np.trapezoid(y, dx=dx, axis=0), X, np.array(0.3), order=2)


XP = np.sort(RNG.standard_normal(6))
FP = RNG.standard_normal(6)
# Points inside, outside on both sides, and exactly at knots.
POINTS = np.concatenate([RNG.standard_normal(8) * 2, XP[[0, 3, 5]]])


@pytest.mark.parametrize(
    "options", [{}, {"left": -5.0, "right": 7.0}, {"period": 1.7}], ids=["plain", "ends", "period"]
)
def test_interp_equals_numpys(options):
    out = np.interp(*map(tg.tensor, (POINTS, XP, FP)), **options)
    assert_numpys(out, np.interp(POINTS, XP, FP, **options))


def test_interp_is_differentiable_in_the_table_and_the_points():
    inside = RNG.standard_normal(8) * 2  # no point exactly at a knot
    check_grads(lambda x, xp, fp: np.interp(x, xp, fp), inside, XP, FP, order=2)
    check_grads(lambda x, xp, fp: np.interp(x, xp, fp, period=1.7), inside, XP, FP, order=2)
    check_grads(lambda fp, left: np.interp(inside, XP, fp, left=left), FP, np.array(2.0), order=2)


def test_interp_at_a_knot_takes_the_knots_value_and_gradient():
    fp = tg.tensor(FP, requires_grad=True)
    np.interp(XP[2], XP, fp).backward()
    np.testing.assert_array_equal(fp.grad, np.eye(6)[2])


def test_interp_of_float32_is_float64_as_numpys():
    out = np.interp(tg.tensor(np.float32(0.3)), XP, FP.astype(np.float32))
    assert out.dtype == np.interp(np.float32(0.3), XP, FP.astype(np.float32)).dtype


def test_polyval_is_horners_rule_differentiable_in_coefficients_and_x():
    p = RNG.standard_normal(4)
    assert_numpys(np.polyval(tg.tensor(p), tg.tensor(X)), np.polyval(p, X))
    check_grads(np.polyval, p, X, order=2)
