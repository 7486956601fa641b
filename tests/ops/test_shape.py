"""Shape ops: values agree with numpy, gradients with finite differences (order 2).

Each row is a function written against numpy's API; run on ndarrays it is
plain numpy (the reference), run on Tensors it records through the numpy
protocols. So one table checks values, gradients and dispatch together.
"""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import check_grads

rng = np.random.default_rng(0)
CONSTANT = rng.standard_normal((2, 3))

# (id, function of the inputs, input shapes)
CASES = [
    ("reshape", lambda x: np.reshape(x, (2, 6)), [(3, 4)]),
    ("reshape-F", lambda x: np.reshape(x, (4, 3), order="F"), [(3, 4)]),
    ("reshape-infer", lambda x: np.reshape(x, (-1, 2)), [(3, 4)]),
    ("reshape-method", lambda x: x.reshape(4, 3), [(3, 4)]),
    ("reshape-0d", lambda x: np.reshape(x, (1, 1)), [()]),
    ("reshape-size0", lambda x: np.reshape(x, (3, 0)), [(0, 3)]),
    ("ravel", lambda x: np.ravel(x), [(2, 3)]),
    ("ravel-F", lambda x: np.ravel(x, order="F"), [(2, 3)]),
    ("flatten", lambda x: x.flatten(), [(2, 3)]),
    ("ravel-of-transpose-K", lambda x: np.ravel(np.transpose(x), order="K"), [(2, 3)]),
    ("transpose", lambda x: np.transpose(x), [(2, 3, 4)]),
    ("transpose-axes", lambda x: np.transpose(x, (1, 2, 0)), [(2, 3, 4)]),
    ("transpose-negative", lambda x: np.transpose(x, (-1, 0, -2)), [(2, 3, 4)]),
    ("T", lambda x: x.T, [(2, 3)]),
    ("permute_dims", lambda x: np.permute_dims(x, (2, 0, 1)), [(2, 3, 4)]),
    ("swapaxes", lambda x: np.swapaxes(x, 0, -1), [(2, 3, 4)]),
    ("swapaxes-keywords", lambda x: np.swapaxes(x, axis1=1, axis2=0), [(2, 3)]),
    ("matrix_transpose", lambda x: np.matrix_transpose(x), [(2, 3, 4)]),
    ("moveaxis", lambda x: np.moveaxis(x, 0, -1), [(2, 3, 4)]),
    ("moveaxis-many", lambda x: np.moveaxis(x, (0, 1), (2, 0)), [(2, 3, 4)]),
    ("squeeze", lambda x: np.squeeze(x), [(1, 3, 1)]),
    ("squeeze-axis", lambda x: np.squeeze(x, axis=-1), [(1, 3, 1)]),
    ("expand_dims", lambda x: np.expand_dims(x, 1), [(2, 3)]),
    ("expand_dims-tuple", lambda x: np.expand_dims(x, (0, -1)), [(2, 3)]),
    ("broadcast_to", lambda x: np.broadcast_to(x, (2, 4, 3)), [(4, 1)]),
    ("broadcast_to-0d", lambda x: np.broadcast_to(x, (2, 3)), [()]),
    ("concatenate", lambda x, y: np.concatenate([x, y]), [(2, 3), (1, 3)]),
    ("concatenate-axis", lambda x, y: np.concatenate((x, y), axis=-1), [(2, 3), (2, 1)]),
    ("concatenate-None", lambda x, y: np.concatenate([x, y], axis=None), [(2, 3), (4,)]),
    ("concatenate-mixed", lambda x: np.concatenate([CONSTANT, x, CONSTANT], 0), [(1, 3)]),
    ("concatenate-size0", lambda x, y: np.concatenate([x, y]), [(0, 3), (2, 3)]),
    ("stack", lambda x, y: np.stack([x, y]), [(2, 3), (2, 3)]),
    ("stack-last", lambda x, y: np.stack([x, y], axis=-1), [(2, 3), (2, 3)]),
    ("stack-0d", lambda x, y: np.stack([x, y, x]), [(), ()]),
    ("hstack-1d", lambda x, y: np.hstack([x, y]), [(2,), (3,)]),
    ("hstack-2d", lambda x: np.hstack([x, CONSTANT]), [(2, 1)]),
    ("vstack-1d", lambda x, y: np.vstack([x, y]), [(3,), (3,)]),
    ("vstack-2d", lambda x: np.vstack((CONSTANT, x)), [(2, 3)]),
    ("column_stack", lambda x, y: np.column_stack([x, y]), [(3,), (3, 2)]),
    ("split", lambda x: _weighted(np.split(x, 3)), [(6, 2)]),
    ("split-indices", lambda x: _weighted(np.split(x, [1, 3], axis=1)), [(2, 5)]),
    ("array_split", lambda x: _weighted(np.array_split(x, 3, axis=-1)), [(2, 5)]),
    ("hsplit", lambda x: _weighted(np.hsplit(x, 2)), [(3, 4)]),
    ("vsplit", lambda x: _weighted(np.vsplit(x, [2])), [(3, 4)]),
    ("flip", lambda x: np.flip(x), [(2, 3)]),
    ("flip-axis", lambda x: np.flip(x, axis=-1), [(2, 3)]),
    ("flip-0d", lambda x: np.flip(x), [()]),
    ("fliplr", lambda x: np.fliplr(x), [(2, 3)]),
    ("flipud", lambda x: np.flipud(x), [(2, 3)]),
    ("roll", lambda x: np.roll(x, 2), [(2, 3)]),
    ("roll-axes", lambda x: np.roll(x, (1, -1), axis=(0, 1)), [(2, 3)]),
    ("roll-axis", lambda x: np.roll(x, -4, axis=1), [(2, 3)]),
    ("tile", lambda x: np.tile(x, 2), [(3,)]),
    ("tile-more-reps", lambda x: np.tile(x, (2, 1, 3)), [(2, 3)]),
    ("tile-fewer-reps", lambda x: np.tile(x, 2), [(2, 3)]),
    ("repeat", lambda x: np.repeat(x, 2), [(2, 3)]),
    ("repeat-axis", lambda x: np.repeat(x, [1, 0, 3], axis=1), [(2, 3)]),
    ("repeat-method", lambda x: x.repeat(3, axis=0), [(2, 3)]),
    ("pad", lambda x: np.pad(x, 1), [(2, 3)]),
    ("pad-widths", lambda x: np.pad(x, ((0, 2), (1, 0)), constant_values=5.0), [(2, 3)]),
    ("pad-edge", lambda x: np.pad(x, (2, 1), mode="edge"), [(2, 3)]),
    ("pad-reflect", lambda x: np.pad(x, ((1, 1), (2, 2)), mode="reflect"), [(3, 3)]),
    ("pad-symmetric", lambda x: np.pad(x, 2, mode="symmetric"), [(2, 3)]),
    ("pad-wrap", lambda x: np.pad(x, ((1, 0), (0, 4)), mode="wrap"), [(2, 3)]),
    ("diagonal", lambda x: np.diagonal(x), [(3, 4)]),
    ("diagonal-offset", lambda x: np.diagonal(x, 1), [(3, 4)]),
    ("diagonal-negative-offset", lambda x: np.diagonal(x, -2), [(3, 4)]),
    ("diagonal-axes", lambda x: np.diagonal(x, 0, 2, 0), [(3, 2, 4)]),
    ("diagonal-method", lambda x: x.diagonal(offset=1, axis1=1, axis2=2), [(2, 3, 3)]),
    ("diagonal-empty", lambda x: np.diagonal(x, 5), [(3, 4)]),
    ("diag-vector", lambda x: np.diag(x), [(3,)]),
    ("diag-vector-k", lambda x: np.diag(x, -1), [(2,)]),
    ("diag-matrix", lambda x: np.diag(x, 1), [(3, 3)]),
    ("triu", lambda x: np.triu(x), [(3, 4)]),
    ("triu-k", lambda x: np.triu(x, -1), [(2, 3, 3)]),
    ("tril", lambda x: np.tril(x, 1), [(4, 3)]),
    ("tril-1d", lambda x: np.tril(x), [(3,)]),
    ("atleast_1d", lambda x: np.atleast_1d(x), [()]),
    ("atleast_2d", lambda x: np.atleast_2d(x), [(3,)]),
    ("atleast_3d", lambda x: np.atleast_3d(x), [(2, 3)]),
    ("atleast_2d-many", lambda x, y: _weighted(np.atleast_2d(x, y)), [(), (2,)]),
]


def _weighted(pieces):
    """One array from a list of pieces, each scaled differently (so mixups show)."""
    return np.concatenate([np.ravel(p) * (i + 1.0) for i, p in enumerate(pieces)])


def _inputs(shapes, dtype=np.float64, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(s).astype(dtype) for s in shapes]


@pytest.mark.parametrize(("fun", "shapes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_values_match_numpy(fun, shapes):
    arrays = _inputs(shapes)
    tensors = [tg.tensor(a, requires_grad=True) for a in arrays]
    out = fun(*tensors)
    assert isinstance(out, tg.Tensor)
    expected = fun(*arrays)
    assert out.shape == np.shape(expected)
    np.testing.assert_array_equal(out.data, expected)


@pytest.mark.parametrize(("fun", "shapes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_gradients_second_order(fun, shapes):
    check_grads(fun, *_inputs(shapes), order=2)


@pytest.mark.parametrize(("fun", "shapes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_float32_stays_float32(fun, shapes):
    arrays = _inputs(shapes, np.float32)
    tensors = [tg.tensor(a, requires_grad=True) for a in arrays]
    out = fun(*tensors)
    assert out.dtype == np.result_type(fun(*arrays))  # float32 unless a float64 constant joins
    out.backward(np.ones(out.shape, dtype=out.dtype))
    for t in tensors:
        assert not isinstance(t.grad, tg.Tensor)  # a first-order rule never leaks a Tensor
        assert t.grad.dtype == np.float32 and np.shape(t.grad) == t.shape


def test_top_level_names_are_the_numpy_handlers():
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    pairs = [
        (tg.reshape(x, (3, 2)), np.reshape(x, (3, 2))),
        (tg.transpose(x), np.transpose(x)),
        (tg.concatenate([x, x], axis=1), np.concatenate([x, x], axis=1)),
        (tg.stack([x, x]), np.stack([x, x])),
        (tg.flip(x, 0), np.flip(x, 0)),
        (tg.tile(x, 2), np.tile(x, 2)),
        (tg.triu(x), np.triu(x)),
        (tg.flatten(x), x.flatten()),
    ]
    for ours, theirs in pairs:
        np.testing.assert_array_equal(ours.data, theirs.data)


def test_split_returns_a_list_of_tensors_whose_gradients_add_up():
    x = tg.tensor(np.arange(6.0), requires_grad=True)
    pieces = np.split(x, [2, 5])
    assert isinstance(pieces, list) and [p.shape for p in pieces] == [(2,), (3,), (1,)]
    total = np.sum(pieces[0]) + 2.0 * np.sum(pieces[1]) + 3.0 * np.sum(pieces[2])
    total.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 2.0, 2.0, 2.0, 3.0])


def test_repeat_and_tile_gradients_count_the_copies():
    x = tg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    np.sum(np.repeat(x, [2, 0, 3])).backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 3.0])
    y = tg.tensor(np.ones((2, 2)), requires_grad=True)
    np.sum(np.tile(y, (3, 2))).backward()
    np.testing.assert_array_equal(y.grad, np.full((2, 2), 6.0))


def test_concatenate_of_arrays_only_gives_no_gradient_path():
    # np.concatenate of ndarrays alone stays plain numpy.
    out = np.concatenate([CONSTANT, CONSTANT])
    assert type(out) is np.ndarray


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda x: np.pad(x, 1, mode="linear_ramp"), TypeError),
        (lambda x: np.pad(x, 1, mode="reflect", reflect_type="odd"), TypeError),
        (lambda x: np.concatenate([x, x], out=np.empty((4, 3))), TypeError),
        (lambda x: np.split(x, 3), ValueError),
        (lambda x: np.moveaxis(x, 0, 5), np.exceptions.AxisError),
        (lambda x: np.diagonal(np.ravel(x)), ValueError),
    ],
    ids=["pad-mode", "pad-reflect-odd", "out", "split-unequal", "moveaxis-axis", "diagonal-1d"],
)
def test_bad_arguments_raise(call, error):
    x = tg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(error):
        call(x)


def test_pad_rejects_a_constant_that_needs_a_gradient():
    x = tg.tensor(np.ones(2), requires_grad=True)
    c = tg.tensor(1.0, requires_grad=True)
    with pytest.raises(TypeError, match="constant_values"):
        np.pad(x, 1, constant_values=c)


# -- regressions found by the op audit -------------------------------------------------------


@pytest.mark.parametrize("shape", [(6,), (3, 2), (1, 6)])
def test_reshape_order_a_of_a_fortran_array(shape):
    # order='A' reads a Fortran-ordered input in Fortran order; the rule once
    # reshaped the (C-ordered) cotangent with 'A' too, in the other order.
    x = np.arange(6.0).reshape(2, 3)
    weights = np.random.default_rng(3).standard_normal(shape)

    def f(a):
        return np.reshape(a.T, shape, order="A") * weights

    np.testing.assert_array_equal(f(tg.tensor(x)).data, f(x))
    check_grads(f, x, order=2)


@pytest.mark.parametrize("join", [np.concatenate, np.stack], ids=["concatenate", "stack"])
def test_joining_into_an_integer_dtype_carries_no_gradient(join):
    x = np.array([1.5, 0.75])

    def f(t):
        return tg.sum(join([t, t], dtype=np.int64, casting="unsafe") * 1.0)

    np.testing.assert_array_equal(tg.grad(f)(x), [0.0, 0.0])


def test_stack_of_different_shapes_names_them():
    with pytest.raises(ValueError, match=r"stack.*\(2, 3\).*\(3, 2\)"):
        np.stack([tg.tensor(np.ones((2, 3)), requires_grad=True), np.ones((3, 2))])


# -- rot90, rollaxis, append, dstack, dsplit, block, broadcast_arrays ------------------------

_X3 = np.random.default_rng(5).standard_normal((2, 3, 4))


def _assert_numpys(out, expected):
    if isinstance(expected, (tuple, list)):
        assert len(out) == len(expected)
        for o, e in zip(out, expected):
            _assert_numpys(o, e)
        return
    assert out.shape == expected.shape and out.dtype == expected.dtype
    np.testing.assert_array_equal(out.data, expected)


@pytest.mark.parametrize("k", [-1, 0, 1, 2, 3, 5])
@pytest.mark.parametrize("axes", [(0, 1), (1, 2), (2, 0), (-1, 0)], ids=str)
def test_rot90_equals_numpys(k, axes):
    _assert_numpys(np.rot90(tg.tensor(_X3), k, axes), np.rot90(_X3, k, axes))


def test_rot90_and_rollaxis_move_the_gradient_back():
    check_grads(lambda x: np.rot90(x, 1, (1, 2)), _X3, order=2)
    check_grads(lambda x: np.rollaxis(x, 2, 0), _X3, order=2)
    for axis in range(3):
        for start in range(4):
            _assert_numpys(np.rollaxis(tg.tensor(_X3), axis, start), np.rollaxis(_X3, axis, start))


def test_append_dstack_dsplit_equal_numpys():
    t = tg.tensor(_X3)
    _assert_numpys(np.append(t, t[:, :1], axis=1), np.append(_X3, _X3[:, :1], axis=1))
    _assert_numpys(np.append(t, [1.0, 2.0]), np.append(_X3, [1.0, 2.0]))
    _assert_numpys(np.dstack([t[0], t[1]]), np.dstack([_X3[0], _X3[1]]))
    _assert_numpys(np.dstack([t[0, 0], _X3[1, 0]]), np.dstack([_X3[0, 0], _X3[1, 0]]))
    _assert_numpys(np.dsplit(t, 2), np.dsplit(_X3, 2))
    _assert_numpys(np.dsplit(t, [1, 3]), np.dsplit(_X3, [1, 3]))
    check_grads(lambda x, v: np.append(x, v, axis=2), _X3, _X3[..., :2], order=2)
    check_grads(lambda a, b: np.dstack([a, b]), _X3[0], _X3[1], order=2)


def test_block_joins_inner_lists_last_and_gives_each_block_its_gradient():
    a, b, c = (np.random.default_rng(6).standard_normal(s) for s in [(2, 2), (2, 3), (1, 2)])
    d = np.ones((1, 3))
    ta, tb, tc = tg.tensor(a), tg.tensor(b), tg.tensor(c)
    _assert_numpys(np.block([[ta, tb], [tc, d]]), np.block([[a, b], [c, d]]))
    _assert_numpys(np.block([ta[0], 3.0, tb[0]]), np.block([a[0], 3.0, b[0]]))
    _assert_numpys(np.block([[[tg.tensor(_X3)]], [[_X3]]]), np.block([[[_X3]], [[_X3]]]))
    check_grads(lambda a, b, c: np.block([[a, b], [c, d]]), a, b, c, order=2)
    with pytest.raises(ValueError, match="depths are mismatched"):
        np.block([ta, [tb]])
    with pytest.raises(TypeError, match="tuple"):
        np.block((ta, tb))


def test_broadcast_arrays():
    a, b = np.ones((4, 1)), np.arange(5.0)
    _assert_numpys(np.broadcast_arrays(tg.tensor(a), tg.tensor(b)), np.broadcast_arrays(a, b))
    check_grads(lambda a, b: np.broadcast_arrays(a, b)[0] * np.broadcast_arrays(a, b)[1], a, b)
