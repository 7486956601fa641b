"""Indexing: x[index], take, take_along_axis and x[index] = value.

Values against numpy on the same index; gradients against finite
differences to second order; accumulation and last-write-wins by hand.
"""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

MASK = np.array([[True, False, True, False, True]] * 2 + [[False] * 5] * 2)

# Indices into an array of shape (4, 5).
INDICES = {
    "int": 2,
    "negative-int": -1,
    "two-ints": (1, 3),
    "slice": slice(1, 3),
    "negative-step": (slice(None, None, -1), slice(4, 0, -2)),
    "ellipsis": (Ellipsis, 1),
    "none": (None, slice(None), None, 2),
    "empty-slice": slice(2, 2),
    "int-array": np.array([3, 0, 1]),
    "repeated": np.array([1, 1, 3, 1]),
    "list": [0, 2, 2],
    "2d-int-array": (np.array([[0, 3], [3, 3]]), np.array([[4, 0], [4, 4]])),
    "mixed": (slice(1, None), np.array([0, 0, 4])),
    "array-after-ellipsis": (Ellipsis, np.array([2, 2])),
    "bool-mask": MASK,
    "bool-row-mask": np.array([True, False, False, True]),
    "bool-and-slice": (np.array([False, True, True, False]), slice(None, 3)),
    "0d-bool": True,
    # A sequence inside a tuple is an index array to numpy: its repeats accumulate.
    "tuple-in-tuple": ((3, 0, 3),),
    "tuple-and-list": ((1, 1), [4, 4]),
    "empty-list": [],
    "empty-list-in-tuple": (slice(None), []),
}


def _x(dtype=np.float64):
    return np.random.default_rng(0).standard_normal((4, 5)).astype(dtype)


@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_getitem_values_and_gradients(index):
    x = _x()
    out = tg.tensor(x, requires_grad=True)[index]
    np.testing.assert_array_equal(out.data, x[index])
    check_grads(lambda t: t[index], x, order=2)


@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_getitem_gradient_is_a_float32_array(index):
    t = tg.tensor(_x(np.float32), requires_grad=True)
    out = t[index]
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert type(t.grad) is np.ndarray and t.grad.dtype == np.float32


def test_repeated_indices_accumulate():
    t = tg.tensor(np.zeros(4), requires_grad=True)
    np.sum(t[np.array([0, 0, 3, 0])] * np.array([1.0, 2.0, 3.0, 4.0])).backward()
    np.testing.assert_array_equal(t.grad, [7.0, 0.0, 0.0, 3.0])


def test_tensor_index_acts_like_its_array():
    x = _x()
    t = tg.tensor(x, requires_grad=True)
    index = tg.tensor(np.array([2, 0]))
    np.testing.assert_array_equal(t[index].data, x[np.array([2, 0])])
    np.testing.assert_array_equal(t[x > 0].data, x[x > 0])
    np.testing.assert_array_equal(t[tg.tensor(x) > 0].data, x[x > 0])


def test_index_array_changed_after_the_forward_does_not_change_the_gradient():
    rows = np.array([0, 1])
    t = tg.tensor(np.zeros((3, 2)), requires_grad=True)
    out = np.sum(t[rows, 0])
    rows[:] = 2  # the caller reuses its array
    out.backward()
    np.testing.assert_array_equal(t.grad, [[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])


# -- take, take_along_axis --------------------------------------------------------

ORDER = np.argsort(_x(), axis=1)
COLUMN_ORDER = np.argsort(_x(), axis=0)
TAKES = [
    ("take-flat", lambda x: np.take(x, [0, 7, 7, 19])),
    ("take-axis", lambda x: np.take(x, np.array([[4, 0], [4, 4]]), axis=1)),
    ("take-negative-axis", lambda x: np.take(x, [3, 3], axis=-2)),
    ("take-wrap", lambda x: np.take(x, [6, -7], axis=1, mode="wrap")),
    ("take-clip", lambda x: np.take(x, [9, -1], axis=0, mode="clip")),
    ("take-method", lambda x: x.take([1, 2])),
    ("take_along_axis", lambda x: np.take_along_axis(x, ORDER, axis=1)),
    ("take_along_axis-0", lambda x: np.take_along_axis(x, COLUMN_ORDER[:2], axis=0)),
    ("take_along_axis-repeats", lambda x: np.take_along_axis(x, np.zeros((4, 3), int), 1)),
    ("take_along_axis-None", lambda x: np.take_along_axis(x, np.array([0, 0, 19]), None)),
]


@pytest.mark.parametrize("fun", [f for _, f in TAKES], ids=[n for n, _ in TAKES])
def test_take_values_and_gradients(fun):
    x = _x()
    np.testing.assert_array_equal(fun(tg.tensor(x, requires_grad=True)).data, fun(x))
    check_grads(fun, x, order=2)


def test_take_along_axis_of_argsort_sorts_with_the_right_gradient():
    x = tg.tensor(np.array([3.0, 1.0, 2.0]), requires_grad=True)
    ordered = np.take_along_axis(x, np.argsort(x), axis=0)
    np.testing.assert_array_equal(ordered.data, [1.0, 2.0, 3.0])
    np.sum(ordered * np.array([1.0, 10.0, 100.0])).backward()
    np.testing.assert_array_equal(x.grad, [100.0, 1.0, 10.0])


# -- x[index] = value --------------------------------------------------------------

# (index, shape of the value) into x of shape (4, 5)
SETS = {
    "row": (1, (5,)),
    "row-broadcast": (1, (1,)),
    "column-scalar": ((slice(None), 2), ()),
    "block": ((slice(1, 3), slice(0, 4, 2)), (2, 2)),
    "block-broadcast": ((slice(1, 3), slice(None)), (1, 5)),
    "leading-ones": (0, (1, 5)),
    "negative-step": (slice(None, None, -2), (2, 5)),
    "int-array": (np.array([3, 0]), (2, 5)),
    "repeated": (np.array([1, 2, 1]), (3, 5)),
    "repeated-broadcast": ((np.array([0, 0, 0]), np.array([4, 4, 1])), ()),
    "repeated-row-broadcast": (np.array([2, 2]), (5,)),
    "bool-mask": (MASK, ()),
    "bool-mask-values": (MASK, (int(MASK.sum()),)),
    "ellipsis": ((Ellipsis, 0), (4,)),
    "repeated-tuple-in-tuple": (((0, 2, 0),), (3, 5)),
    "repeated-tuples": (((1, 1), (3, 3)), (2,)),
}


def _assign(index):
    def assign(x, value):
        y = x * 1.0  # a leaf that requires grad cannot be assigned to in place
        y[index] = value
        return y

    return assign


@pytest.mark.parametrize(("index", "value_shape"), SETS.values(), ids=SETS.keys())
def test_setitem_values_and_gradients(index, value_shape):
    x = _x()
    value = np.random.default_rng(1).standard_normal(value_shape)
    assign = _assign(index)
    out = assign(tg.tensor(x, requires_grad=True), tg.tensor(value, requires_grad=True))
    np.testing.assert_array_equal(out.data, assign(x, value))
    check_grads(assign, x, value, order=2)


def test_setitem_gradients_by_hand():
    x = tg.tensor(np.ones((2, 3)), requires_grad=True)
    v = tg.tensor(np.array([5.0, 6.0, 7.0]), requires_grad=True)
    y = x * 1.0
    y[1] = v
    np.sum(y * np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(v.grad, [4.0, 5.0, 6.0])


def test_repeated_writes_keep_the_last_and_only_it_gets_a_gradient():
    x = tg.tensor(np.zeros(3), requires_grad=True)
    v = tg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 1.0
    y[np.array([0, 0, 2])] = v
    np.testing.assert_array_equal(y.data, [2.0, 0.0, 3.0])  # numpy: last write wins
    np.sum(y * np.array([10.0, 20.0, 30.0])).backward()
    np.testing.assert_array_equal(v.grad, [0.0, 10.0, 30.0])
    np.testing.assert_array_equal(x.grad, [0.0, 20.0, 0.0])


def test_setitem_rebinds_and_keeps_dtype():
    x = tg.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    v = tg.tensor(np.array(2.0), requires_grad=True)  # float64 value into float32
    y = x * 1.0
    before = y
    y[1] = v
    assert y is before and y.dtype == np.float32
    np.sum(y).backward()
    assert v.grad.dtype == np.float64 and float(v.grad) == 1.0
    assert x.grad.dtype == np.float32


def test_functional_setitem_leaves_its_input_alone():
    x = tg.tensor(np.zeros(3), requires_grad=True)
    y = tg.setitem(x, 0, 1.0)
    np.testing.assert_array_equal(x.data, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(y.data, [1.0, 0.0, 0.0])


def test_setitem_on_a_leaf_that_requires_grad_is_refused():
    x = tg.tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="item assignment"):
        x[0] = 1.0
    with tg.no_grad():
        x[0] = 1.0
    np.testing.assert_array_equal(x.data, [1.0, 0.0, 0.0])


def test_augmented_assignment_through_an_index():
    x = tg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 1.0
    y[1:] += x[:2] * 10.0
    np.testing.assert_array_equal(y.data, [1.0, 12.0, 23.0])
    check_grads(_augmented, np.array([1.0, 2.0, 3.0]), order=2)


def _augmented(x):
    y = x * 1.0
    y[1:] += x[:2] * x[:2]
    return y


def test_repeated_entries_of_a_sequence_index_accumulate():
    # x[((0, 0, 1),)] is x[np.array([0, 0, 1])]; the tuple was once scattered
    # with plain assignment, so row 0 got one share instead of two.
    grad = tg.grad(lambda t: tg.sum(t[((0, 0, 1),)]))(np.zeros((3, 2)))
    np.testing.assert_array_equal(grad, [[2.0, 2.0], [1.0, 1.0], [0.0, 0.0]])


def test_a_wrong_shaped_value_names_the_assignment_and_the_shapes():
    y = tg.tensor(np.zeros((2, 3)), requires_grad=True) * 1.0
    with pytest.raises(ValueError, match=r"x\[index\] = value.*\(2, 3\).*\(2,\)"):
        y[0] = tg.tensor(np.ones(2), requires_grad=True)


def test_assigning_into_an_integer_tensor_rounds_and_carries_no_gradient():
    x = tg.tensor(np.array([1.75, 2.5]), requires_grad=True)
    y = tg.tensor(np.zeros(2, dtype=np.int64))
    y[0] = x[0]
    assert y.dtype == np.int64 and not y.requires_grad
    np.testing.assert_array_equal(y.data, [1, 0])
    grad = tg.grad(lambda t: tg.sum(tg.setitem(np.zeros(2, dtype=np.int64), 0, t[0]) * t))(
        np.array([1.75, 2.5])
    )
    np.testing.assert_array_equal(grad, [1.0, 0.0])  # only the factor t, not through the cast


@pytest.mark.parametrize("kwargs", [{}, {"axis": 0}, {"axis": None}, {"kind": "stable"}])
def test_sort_values_and_gradients(kwargs):
    x = _x()
    expected = np.sort(x, **kwargs)
    out = np.sort(tg.tensor(x, requires_grad=True), **kwargs)
    np.testing.assert_array_equal(out.data, expected)
    weights = np.arange(expected.size, dtype=float).reshape(expected.shape)
    check_grads(lambda t: np.sort(t, **kwargs) * weights, x, order=2)


def test_sort_routes_each_cotangent_to_its_source_ties_by_argsort():
    x = np.array([2.0, 1.0, 2.0, 0.5])
    weights = np.array([1.0, 2.0, 3.0, 4.0])
    grad = tg.grad(lambda t: tg.sum(np.sort(t, kind="stable") * weights))(x)
    # sorted: 0.5 (from 3), 1.0 (from 1), 2.0 (from 0), 2.0 (from 2): stable order
    np.testing.assert_array_equal(grad, [3.0, 2.0, 4.0, 1.0])


# -- partition, put_along_axis, select, piecewise ----------------------------------------------

_P = np.random.default_rng(8).standard_normal((2, 3, 5))


@pytest.mark.parametrize("kth", [0, 2, [0, 3], -1])
def test_partition_is_numpys_arrangement_and_moves_the_gradient_back(kth):
    out = np.partition(tg.tensor(_P), kth, axis=-1)
    np.testing.assert_array_equal(out.data, np.partition(_P, kth, axis=-1))
    check_grads(lambda x: np.partition(x, kth, axis=-1), _P, order=2)
    np.testing.assert_array_equal(
        np.partition(tg.tensor(_P), 3, axis=None).data, np.partition(_P, 3, axis=None)
    )


def test_put_along_axis_is_functional_and_differentiates_both_arrays():
    positions = np.argsort(_P, axis=1)[:, :2]
    expected = _P.copy()
    np.put_along_axis(expected, positions, 7.0, axis=1)
    out = tg.put_along_axis(tg.tensor(_P), positions, 7.0, axis=1)
    np.testing.assert_array_equal(out.data, expected)
    check_grads(
        lambda x, v: tg.put_along_axis(x, positions, v, axis=1), _P, np.ones((2, 2, 5)), order=2
    )
    flat = _P.copy()
    np.put_along_axis(flat, np.array([0, 5, 7]), 9.0, axis=None)
    out = tg.put_along_axis(tg.tensor(_P), [0, 5, 7], 9.0, axis=None)
    np.testing.assert_array_equal(out.data, flat)


def test_select_takes_the_first_true_condition_and_differentiates_each_choice():
    conditions = [_P > 0.5, _P < -0.5]
    expected = np.select(conditions, [_P, _P**2], default=-_P)
    out = np.select(conditions, [tg.tensor(_P), tg.tensor(_P) ** 2], default=tg.tensor(-_P))
    np.testing.assert_array_equal(out.data, expected)
    scalar = np.select(conditions, [tg.tensor(_P), 2.0], 0.5)
    np.testing.assert_array_equal(scalar.data, np.select(conditions, [_P, 2.0], 0.5))
    check_grads(lambda x: np.select([x > 0.5, x < -0.5], [x, x**2], default=-x), _P, order=2)


def test_piecewise_records_each_piece():
    x = np.linspace(-2.3, 2.1, 9) + 0.01
    functions = [lambda v: v**3, 2.0, np.sin]  # the last one: "otherwise"
    expected = np.piecewise(x, [x < -1, x > 1], functions)
    np.testing.assert_array_equal(
        np.piecewise(tg.tensor(x), [x < -1, x > 1], functions).data, expected
    )
    check_grads(lambda x: np.piecewise(x, [x < -1, x > 1], functions), x, order=2)
