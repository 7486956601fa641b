"""Strategies keep the promises of tapegrad.domain's vocabulary."""

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import tapegrad as tg
from tapegrad import Domain, Primitive
from tapegrad.domain import VALUE_KINDS
from tapegrad.testing import strategies as tst

FAST = settings(max_examples=40, deadline=None, derandomize=True)


def draw_one(strategy):
    drawn = []

    @settings(max_examples=1, database=None, derandomize=True, phases=[Phase.generate])
    @given(strategy)
    def collect(value):
        drawn.append(value)

    collect()
    return drawn[0]


BOUNDS = {
    "real": (-10.0, 10.0),
    "positive": (0.1, 10.0),
    "unit": (-0.9, 0.9),
    "above1": (1.1, 10.0),
}


@FAST
@given(st.data())
def test_arrays_stay_inside_their_kind(data):
    kind = data.draw(st.sampled_from(sorted(tst.ARRAY_KINDS)))
    x = data.draw(tst.arrays(kind))
    assert x.dtype in (np.float32, np.float64)
    assert np.all(np.isfinite(x))
    if kind not in ("spd", "wellcond"):  # matrices: entries are derived, not drawn
        tiny = (x != 0) & (np.abs(x) < 1e-3)
        assert not tiny.any()  # no near-zero values that make relative steps useless
    if kind in BOUNDS:
        low, high = BOUNDS[kind]
        slack = 1e-6 * abs(low)  # float32 rounding of the bound
        assert np.all((x >= np.float32(low) - slack) & (x <= high))
    if kind in ("nonzero", "kinkfree"):
        assert np.all(np.abs(x) >= np.float32(0.1) * (1 - 1e-6))
    if kind == "distinct":
        values = np.sort(x.ravel())
        assert np.all(np.diff(values) >= 0.1)
    if kind == "spd":
        assert np.allclose(x, np.swapaxes(x, -1, -2))
        if x.size:
            assert np.all(np.linalg.eigvalsh(x.astype(np.float64)) > 0)
    if kind == "wellcond" and x.size:
        assert np.all(np.linalg.cond(x.astype(np.float64)) < 10)


def test_every_value_kind_has_a_strategy_or_is_drawn_from_kwargs():
    assert set(tst.ARRAY_KINDS) | {"index", "any"} == set(VALUE_KINDS)


def test_shapes_include_zero_d_and_size_zero_and_both_dtypes():
    assert find(tst.arrays("real"), lambda x: x.ndim == 0).shape == ()
    assert find(tst.arrays("real"), lambda x: x.size == 0 and x.ndim > 0).size == 0
    assert find(tst.arrays("real"), lambda x: x.dtype == np.float32).dtype == np.float32
    assert find(tst.arrays("real"), lambda x: x.dtype == np.float64).dtype == np.float64


def test_tensors_wrap_arrays_of_the_kind():
    t = draw_one(tst.tensors("positive", shape=(2, 3), requires_grad=True))
    assert isinstance(t, tg.Tensor) and t.requires_grad and t.shape == (2, 3)
    assert np.all(t.data >= 0.1)


@FAST
@given(tst.broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)


@FAST
@given(st.data(), tst.shapes())
def test_axes_fit_the_array(data, shape):
    axis = data.draw(tst.axes(len(shape)))
    x = np.ones(shape)
    np.sum(x, axis=axis)  # raises AxisError if it does not fit
    if isinstance(axis, tuple):
        assert len({a % len(shape) for a in axis}) == len(axis)


def test_axes_cover_none_int_negative_and_tuple():
    strategy = tst.axes(3)
    assert find(strategy, lambda a: a is None) is None
    assert find(strategy, lambda a: isinstance(a, int) and a < 0) < 0
    assert find(strategy, lambda a: isinstance(a, tuple) and len(a) == 2)


def _add(x, y):
    return x + y


def _sum(x, axis=None, keepdims=False):
    return np.sum(x, axis=axis, keepdims=keepdims)


def _matmul(a, b):
    return a @ b


@FAST
@given(tst.examples(Primitive(_add, domain=Domain(("real", "positive"), shapes="broadcast"))))
def test_examples_follow_the_kinds_and_broadcast(example):
    (x, y), kwargs = example
    assert kwargs == {}
    assert x.dtype == y.dtype
    assert np.all(y >= 0.1)
    np.broadcast_shapes(x.shape, y.shape)


REDUCE = Domain(("real",), shapes="reduce", kwargs={"keepdims": (False, True)})


@FAST
@given(tst.examples(Primitive(_sum, domain=REDUCE)))
def test_reduce_examples_draw_an_axis_that_fits_and_keepdims_from_kwargs(example):
    (x,), kwargs = example
    assert set(kwargs) == {"axis", "keepdims"}
    assert x.ndim <= 3
    np.sum(x, **kwargs)


def _cumsum(x, axis=None):
    return np.cumsum(x, axis=axis)


@FAST
@given(tst.examples(Primitive(_cumsum, domain=Domain(("real",), shapes="scan"))))
def test_scan_examples_draw_none_or_one_axis_that_fits(example):
    (x,), kwargs = example
    assert set(kwargs) == {"axis"} and not isinstance(kwargs["axis"], tuple)
    assert x.ndim <= 3
    np.cumsum(x, **kwargs)


def test_scan_examples_cover_none_and_negative_axes():
    strategy = tst.examples(Primitive(_cumsum, domain=Domain(("real",), shapes="scan")))
    assert find(strategy, lambda e: e[1]["axis"] is None)[1] == {"axis": None}
    assert find(strategy, lambda e: (e[1]["axis"] or 0) < 0)[1]["axis"] < 0


def test_withzeros_arrays_hold_exact_zeros_and_nonzero_values_in_range():
    x = find(tst.arrays("withzeros"), lambda x: (x == 0).any() and (x != 0).any())
    assert np.all(np.abs(x) <= 1.5)
    assert find(tst.arrays("withzeros"), lambda x: x.size >= 4 and (x == 0).sum() >= 2).size


def test_an_axis_given_by_the_domain_is_used_and_the_array_has_room_for_it():
    domain = Domain(("real",), shapes="reduce", kwargs={"axis": (-2,)})
    (x,), kwargs = draw_one(tst.examples(Primitive(_sum, domain=domain)))
    assert kwargs == {"axis": -2} and x.ndim >= 2


@FAST
@given(tst.examples(Primitive(_matmul, domain=Domain(("real", "real"), shapes="matmul"))))
def test_matmul_examples_multiply(example):
    (a, b), _ = example
    np.matmul(a, b)


@FAST
@given(tst.examples(Domain(("spd", "real"), shapes="square")))
def test_square_examples_share_their_shape(example):
    (a, b), _ = example
    assert a.shape == b.shape and a.shape[-1] == a.shape[-2]


def _take(x, index):
    return x[index]


@FAST
@given(tst.examples(Primitive(_take, domain=Domain(("real", "index")))))
def test_index_inputs_are_valid_indices_into_the_first_input(example):
    (x, index), _ = example
    assert index.dtype.kind == "i"
    if x.ndim:
        x[index]  # raises IndexError if not valid


SEEDS = []


def _sample(rng, dtype):
    SEEDS.append(int(rng.integers(1 << 30)))
    return (rng.standard_normal(3).astype(dtype), 2), {"flag": True}


def test_a_sample_hook_gets_a_hypothesis_seeded_generator_and_the_dtype():
    prim = Primitive(_take, domain=Domain(sample=_sample))
    examples = []

    @FAST
    @given(tst.examples(prim))
    def collect(example):
        examples.append(example)

    collect()
    dtypes = {args[0].dtype for args, _ in examples}
    assert dtypes == {np.dtype(np.float32), np.dtype(np.float64)}
    assert len(set(SEEDS)) > 1
    assert all(kwargs == {"flag": True} and args[1] == 2 for args, kwargs in examples)


def _three(a, b, c):
    return a + b + c


def test_without_a_domain_one_real_array_per_input_of_one_shape():
    (a, b, c), kwargs = find(tst.examples(Primitive(_three)), lambda e: e[0][0].size > 1)
    assert a.shape == b.shape == c.shape and kwargs == {}


def test_dtype_can_be_fixed():
    prim = Primitive(_add, domain=Domain(("real", "real")))
    (x, y), _ = draw_one(tst.examples(prim, dtype="float32"))
    assert x.dtype == y.dtype == np.float32


def test_a_domain_that_misses_an_input_is_a_domain_error():
    with pytest.raises(tst.DomainError, match="input 1 \\('y'\\) has no value kind"):
        tst.input_spec(Primitive(_add, domain=Domain(("real",))))


def test_distinct_values_are_distinct_across_inputs():
    prim = Primitive(_add, domain=Domain(("distinct", "distinct"), shapes="broadcast"))

    @FAST
    @given(tst.examples(prim))
    def check(example):
        (x, y), _ = example
        both = np.sort(np.concatenate([x.ravel(), y.ravel()]))
        assert np.all(np.diff(both) >= 0.1)

    check()


def _total(x, keepdims=False):
    return np.sum(x, keepdims=keepdims)


def test_no_axis_is_drawn_for_a_reduction_that_takes_none():
    domain = Domain(("real",), shapes="reduce", kwargs={"keepdims": (True,)})
    _, kwargs = draw_one(tst.examples(Primitive(_total, domain=domain)))
    assert kwargs == {"keepdims": True}
