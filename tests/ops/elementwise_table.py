"""The table-driven checks shared by the elementwise families (tests/ops/test_elementwise.py,
tests/ops/test_trig.py): values against numpy, closed-form first derivatives, finite
differences to second order, float32, and the numpy protocol paths. Each family file passes
its own tables and draws; ``globals().update(table_tests(...))`` makes them its tests."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

BROADCAST_SHAPES = [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3)), ((2, 3), ())]


def draws(rng):
    """``draw(kind, shape, dtype)``: values of a kind away from the ops' singular points."""

    def draw(kind, shape, dtype=np.float64):
        if kind == "real":
            x = rng.uniform(-2.0, 2.0, size=shape)
        elif kind == "positive":
            x = rng.uniform(0.5, 2.0, size=shape)
        elif kind == "nonzero":
            x = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        elif kind == "unit":
            x = rng.uniform(-0.8, 0.8, size=shape)
        elif kind == "above1":
            x = rng.uniform(1.2, 3.0, size=shape)
        else:
            raise ValueError(kind)
        return np.asarray(x, dtype=dtype)

    return draw


def total_of(op):
    def total(*xs):
        return tg.sum(op(*xs))

    return total


def table_tests(UNARY, BINARY, NUMPY_UNARY, draw):
    """The test functions for one family's tables (name -> function)."""
    UNARY_IDS = [row[0] for row in UNARY]
    BINARY_IDS = [row[0] for row in BINARY]
    BINARY_ROWS = (("name", "op", "reference", "kinds", "partials"), BINARY)

    @pytest.mark.parametrize(("name", "op", "reference", "kind", "d1"), UNARY, ids=UNARY_IDS)
    @pytest.mark.parametrize("shape", [(3, 4), (), (0, 2)])
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_unary_values_and_dtype(name, op, reference, kind, d1, shape, dtype):
        x = draw(kind, shape, dtype)
        out = op(x)
        assert out.dtype == dtype
        assert out.shape == shape
        np.testing.assert_allclose(
            out.data, reference(x), rtol=1e-6 if dtype == np.float32 else 1e-13
        )

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

    @pytest.mark.parametrize(
        ("name", "op", "reference", "kinds", "partials"), BINARY, ids=BINARY_IDS
    )
    @pytest.mark.parametrize(("x_shape", "y_shape"), BROADCAST_SHAPES)
    def test_binary_values_and_second_order(name, op, reference, kinds, partials, x_shape, y_shape):
        x, y = draw(kinds[0], x_shape), draw(kinds[1], y_shape)
        np.testing.assert_allclose(op(x, y).data, reference(x, y), rtol=1e-14)
        check_grads(op, x, y, order=2)

    @pytest.mark.parametrize(
        ("name", "op", "reference", "kinds", "partials"), BINARY, ids=BINARY_IDS
    )
    def test_binary_float32(name, op, reference, kinds, partials):
        x, y = draw(kinds[0], (3, 1), np.float32), draw(kinds[1], (4,), np.float32)
        assert op(x, y).dtype == np.float32
        gx, gy = tg.grad(total_of(op), argnums=(0, 1))(x, y)
        assert gx.dtype == gy.dtype == np.float32
        check_grads(op, x, y, order=2)

    @pytest.mark.parametrize(
        ("name", "op", "reference", "kinds", "partials"), BINARY, ids=BINARY_IDS
    )
    def test_binary_closed_form_with_broadcast_sums(name, op, reference, kinds, partials):
        x, y = draw(kinds[0], (3, 1)), draw(kinds[1], (4,))
        dx, dy = partials(x, y)
        gx, gy = tg.grad(total_of(op), argnums=(0, 1))(x, y)
        # The engine sums each partial over the axes its input was broadcast along.
        np.testing.assert_allclose(gx, np.sum(np.broadcast_to(dx, (3, 4)), axis=1, keepdims=True))
        np.testing.assert_allclose(gy, np.sum(np.broadcast_to(dy, (3, 4)), axis=0))

    @pytest.mark.parametrize(
        ("name", "op", "reference", "kinds", "partials"), BINARY, ids=BINARY_IDS
    )
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

    return {name: value for name, value in locals().items() if name.startswith("test_")}
