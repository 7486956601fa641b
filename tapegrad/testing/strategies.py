"""Hypothesis strategies for arrays, tensors and whole primitive examples.

The value kinds and shape families are those of :mod:`tapegrad.domain`
(``VALUE_KINDS``, ``SHAPE_FAMILIES``). Shapes include 0-d and size-0 arrays;
dtypes are float64 and float32. Values keep away from what finite differences
cannot handle: no subnormals, nothing tinier than 1e-3 but exact zero, and
each kind keeps its promised distance from the edges of its domain. Every
strategy shrinks towards few dimensions, short sides and simple values, so a
failing example comes back small.

>>> from hypothesis import given
>>> from tapegrad.testing import strategies as tst
>>> @given(tst.arrays("positive", dtype="float32"))
... def test_log_grad(x): ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..core.primitive import Primitive
from ..core.tensor import Tensor
from ..domain import SHAPE_FAMILIES, VALUE_KINDS, Domain
from ._extra import hypothesis_is_missing, needs_hypothesis

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as error:
    if not hypothesis_is_missing(error):
        raise
    raise needs_hypothesis(__name__) from None

MAX_DIMS = 3
MAX_SIDE = 4
FLOAT_DTYPES = ("float64", "float32")
MATRIX_KINDS = ("spd", "wellcond")
ARRAY_KINDS = tuple(k for k in VALUE_KINDS if k not in ("index", "any"))
# Distinct values are multiples of this (exact in float32, at least 0.1 apart).
DISTINCT_SPACING = 0.125


class DomainError(ValueError):
    """A Domain that cannot describe its primitive's inputs."""


# -- elements ---------------------------------------------------------------


def _flush_tiny(x):
    # Tiny nonzero values make relative steps meaningless; exact zero is kept.
    return 0.0 if abs(x) < 1e-3 else x


def _floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _signed(x_and_sign):
    x, negative = x_and_sign
    return -x if negative else x


def _zero_or_value(choice_and_value):
    choice, x = choice_and_value
    return 0.0 if choice == 0 else _flush_tiny(x)


def _away_from_zero():
    return st.tuples(_floats(0.1, 10.0), st.booleans()).map(_signed)


def elements(kind):
    """Scalar floats of a value kind (one of the elementwise kinds of VALUE_KINDS)."""
    if kind == "real":
        return _floats(-10.0, 10.0).map(_flush_tiny)
    if kind == "positive":
        return _floats(0.1, 10.0)
    if kind in ("nonzero", "kinkfree"):
        return _away_from_zero()
    if kind == "unit":
        return _floats(-0.9, 0.9).map(_flush_tiny)
    if kind == "above1":
        return _floats(1.1, 10.0)
    if kind == "withzeros":
        # One draw in five is an exact zero; shrinks towards zero.
        return st.tuples(st.integers(0, 4), _floats(-1.5, 1.5)).map(_zero_or_value)
    raise ValueError(f"no elementwise strategy for value kind {kind!r}")


# -- shapes and axes --------------------------------------------------------


def float_dtypes(dtypes=FLOAT_DTYPES):
    """float64 (shrinks to it) or float32, as np.dtype."""
    return st.sampled_from([np.dtype(d) for d in dtypes])


def shapes(min_dims=0, max_dims=MAX_DIMS, min_side=0, max_side=MAX_SIDE):
    """Array shapes, 0-d and size-0 included by default."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=MAX_DIMS, min_side=0, max_side=MAX_SIDE
):
    """A tuple of ``num_shapes`` shapes that broadcast together (numpy's rules)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes,
        min_dims=min_dims,
        max_dims=max_dims,
        min_side=min_side,
        max_side=max_side,
    ).map(_input_shapes)


def _input_shapes(broadcast):
    return tuple(broadcast.input_shapes)


@st.composite
def _axis_tuple(draw, ndim):
    chosen = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    flips = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    return tuple(a - ndim if flip else a for a, flip in zip(chosen, flips))


def axes(ndim, allow_none=True, allow_tuple=True):
    """An ``axis`` argument for an array of ``ndim`` dims: None, int (maybe negative), tuple."""
    options = []
    if allow_none:
        options.append(st.none())
    if ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
    if allow_tuple:
        options.append(_axis_tuple(ndim))
    if not options:
        raise ValueError("axes: nothing to draw for a 0-d array without None or tuples")
    return st.one_of(options)


@st.composite
def matmul_shapes(draw, max_side=MAX_SIDE):
    """Shapes of two operands ``np.matmul`` accepts: 1-D, 2-D and broadcast batches."""
    m, k, n = (draw(st.integers(0, max_side)) for _ in range(3))
    batch_a, batch_b = draw(broadcastable_shapes(2, max_dims=2, min_side=1, max_side=3))
    a_form = draw(st.sampled_from(("matrix", "vector", "batched")))
    b_form = draw(st.sampled_from(("matrix", "vector", "batched")))
    a = {"vector": (k,), "matrix": (m, k), "batched": (*batch_a, m, k)}[a_form]
    b = {"vector": (k,), "matrix": (k, n), "batched": (*batch_b, k, n)}[b_form]
    return a, b


@st.composite
def square_shapes(draw, num_shapes=1, max_side=MAX_SIDE):
    """``num_shapes`` copies of one (..., n, n) shape (batch dims may have size 0)."""
    batch = draw(shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    n = draw(st.integers(1, max_side))
    return ((*batch, n, n),) * num_shapes


def _repeat(count, shape):
    return (shape,) * count


def family_shapes(family, num_shapes, min_dims=0):
    """Shapes for ``num_shapes`` array inputs of a shape family (see SHAPE_FAMILIES)."""
    if family in ("same", "reduce", "scan"):
        return shapes(min_dims=min_dims).map(functools.partial(_repeat, num_shapes))
    if family == "broadcast":
        return broadcastable_shapes(num_shapes, min_dims=min_dims)
    if family == "matmul":
        if num_shapes != 2:
            raise DomainError(f"shape family 'matmul' takes 2 array inputs, not {num_shapes}")
        return matmul_shapes()
    if family == "square":
        return square_shapes(num_shapes)
    raise DomainError(f"unknown shape family {family!r}; known: {sorted(SHAPE_FAMILIES)}")


# -- arrays and tensors -----------------------------------------------------


def _float_array(kind, shape):
    return hnp.arrays(np.float64, shape, elements=elements(kind))


@st.composite
def _matrix(draw, kind, shape):
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise DomainError(f"value kind {kind!r} needs square (..., n, n) shapes, got {shape}")
    n = shape[-1]
    a = draw(hnp.arrays(np.float64, shape, elements=_floats(-1.0, 1.0)))
    if kind == "spd":
        # Eigenvalues in [n, n + n**2]: condition number at most n + 1.
        return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)
    # Singular values of 2I + a/n lie in [1, 3]; flipping rows keeps them.
    signs = draw(hnp.arrays(np.float64, shape[:-1], elements=st.sampled_from((1.0, -1.0))))
    return signs[..., :, None] * (2.0 * np.eye(n) + a / n)


@st.composite
def _distinct_arrays(draw, shapes_):
    """Arrays whose elements, all together, are pairwise >= 0.1 apart."""
    total = sum(int(np.prod(s)) for s in shapes_)
    reach = max(80, total)
    pool = draw(hnp.arrays(np.int64, total, elements=st.integers(-reach, reach), unique=True))
    out, start = [], 0
    for s in shapes_:
        size = int(np.prod(s))
        out.append((pool[start : start + size] * DISTINCT_SPACING).reshape(s))
        start += size
    return out


@st.composite
def value_arrays(draw, kinds, shapes_, dtype):
    """One array per (kind, shape), cast to ``dtype``; 'distinct' inputs are distinct jointly."""
    out = [None] * len(kinds)
    distinct = [i for i, k in enumerate(kinds) if k == "distinct"]
    if distinct:
        for i, a in zip(distinct, draw(_distinct_arrays([shapes_[i] for i in distinct]))):
            out[i] = a
    for i, (kind, shape) in enumerate(zip(kinds, shapes_)):
        if kind in MATRIX_KINDS:
            out[i] = draw(_matrix(kind, shape))
        elif kind != "distinct":
            out[i] = draw(_float_array(kind, shape))
    return [np.asarray(a, dtype=dtype) for a in out]


@st.composite
def arrays(draw, kind="real", shape=None, dtype=None):
    """ndarrays of a value kind; ``shape`` and ``dtype`` drawn when not given."""
    if kind not in ARRAY_KINDS:
        raise ValueError(
            f"arrays: value kind {kind!r} is not an array kind; use one of {ARRAY_KINDS}"
        )
    dtype = np.dtype(dtype) if dtype is not None else draw(float_dtypes())
    if shape is None:
        shape = draw(square_shapes())[0] if kind in MATRIX_KINDS else draw(shapes())
    return draw(value_arrays([kind], [tuple(shape)], dtype))[0]


def tensors(kind="real", shape=None, dtype=None, requires_grad=False):
    """Tensors of a value kind (see :func:`arrays`)."""
    return arrays(kind, shape, dtype).map(functools.partial(_tensor, requires_grad))


def _tensor(requires_grad, array):
    return Tensor(array, requires_grad=requires_grad)


# -- whole examples from a Domain -------------------------------------------


@dataclass(frozen=True)
class InputSpec:
    """A primitive's inputs as its Domain describes them, ready to draw from."""

    name: str
    n_inputs: int | None
    input_names: tuple
    kinds: tuple  # one per positional input; 'any' inputs are drawn from positional_choices
    positional_choices: Mapping[str, tuple]
    options: Mapping[str, tuple]  # keyword options and the values they take
    family: str
    dtypes: tuple
    nondiff: frozenset
    sample: Callable | None
    domain: Domain
    takes_axis: bool = True  # whether a 'reduce' forward has an `axis` to draw


def _choices(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def input_spec(prim_or_domain) -> InputSpec:
    """Read a Primitive's (or a bare Domain's) inputs; DomainError when they don't fit."""
    if isinstance(prim_or_domain, Domain):
        domain, prim = prim_or_domain, None
        n = len(domain.inputs) if domain.sample is None else None
        names = tuple(f"x{i}" for i in range(n or 0))
        label, nondiff, takes_axis = "domain", frozenset(), True
    elif isinstance(prim_or_domain, Primitive):
        prim = prim_or_domain
        domain = prim.domain
        n = prim.n_inputs
        names = _input_names(prim.fun, n)
        label, nondiff = prim.name, prim.nondiff
        takes_axis = _accepts(prim.fun, "axis")
        if domain is None:
            # The documented default: real arrays of one shared shape, one per input.
            domain = Domain(("real",) * (n if n is not None else 2))
    else:
        raise TypeError(f"expected a tapegrad Primitive or Domain, got {prim_or_domain!r}")

    options = {k: _choices(v) for k, v in domain.kwargs.items()}
    if domain.sample is not None:
        return InputSpec(label, n, names, (), {}, options, domain.shapes, domain.dtypes,
                         nondiff, domain.sample, domain, takes_axis)  # fmt: skip
    kinds = list(domain.inputs)
    count = n if n is not None else len(kinds)
    if len(kinds) > count:
        raise DomainError(
            f"the Domain of {label} gives {len(kinds)} value kinds {tuple(kinds)} for "
            f"{count} positional inputs {names}"
        )
    positional = {}
    for i in range(count):
        name = names[i] if i < len(names) else f"x{i}"
        if i >= len(kinds) or kinds[i] == "any":
            if name not in options:
                given = f"{len(domain.inputs)} value kinds {tuple(domain.inputs)}"
                raise DomainError(
                    f"the Domain of {label} gives {given} for {count} positional inputs "
                    f"{names}: input {i} ({name!r}) has no value kind; add one, or give its "
                    f"values as kwargs={{{name!r}: (...)}} with kind 'any'"
                )
            positional[name] = options.pop(name)
            if i >= len(kinds):
                kinds.append("any")
    family = domain.shapes
    if any(k in MATRIX_KINDS for k in kinds) and family not in ("square",):
        family = "square"
    return InputSpec(label, n, names, tuple(kinds), positional, options, family,
                     domain.dtypes, nondiff, None, domain, takes_axis)  # fmt: skip


def _accepts(fun, name):
    try:
        parameters = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _input_names(fun, n):
    try:
        parameters = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return ()
    return tuple(p.name for p in parameters[: n or 0])


def _min_dims_for(axis_choices):
    need = 0
    for axis in axis_choices:
        for a in () if axis is None else _choices(axis):
            need = max(need, a + 1 if a >= 0 else -a)
    return need


@st.composite
def _index_array(draw, first, axis_given, axis):
    if axis_given and axis is not None:
        bound = first.shape[axis] if first.ndim else 1
    elif axis_given or first.ndim == 0:
        bound = first.size if first.ndim else 1  # flat indices, as np.take(axis=None)
    else:
        bound = first.shape[0]  # x[index]
    length = draw(st.integers(0, 4)) if bound > 0 else 0
    return draw(hnp.arrays(np.int64, length, elements=st.integers(-bound, max(bound - 1, 0))))


@st.composite
def _vocabulary_example(draw, spec, dtype):
    dtype = np.dtype(dtype) if dtype is not None else draw(float_dtypes(spec.dtypes))
    kwargs = {name: draw(st.sampled_from(values)) for name, values in spec.options.items()}
    array_positions = [i for i, k in enumerate(spec.kinds) if k not in ("index", "any")]
    kinds = [spec.kinds[i] for i in array_positions]
    along_axis = spec.family in ("reduce", "scan")
    min_dims = 0
    if along_axis and "axis" in spec.options:
        min_dims = _min_dims_for(spec.options["axis"])
    shapes_ = draw(family_shapes(spec.family, len(array_positions), min_dims=min_dims))
    if along_axis and "axis" not in spec.options and spec.takes_axis and shapes_:
        kwargs["axis"] = draw(axes(len(shapes_[0]), allow_tuple=spec.family == "reduce"))
    values = draw(value_arrays(kinds, shapes_, dtype))
    args = [None] * len(spec.kinds)
    for i, v in zip(array_positions, values):
        args[i] = v
    for i, kind in enumerate(spec.kinds):
        if kind == "any":
            args[i] = draw(st.sampled_from(spec.positional_choices[spec.input_names[i]]))
        elif kind == "index":
            first = values[0] if values else np.zeros(0)
            args[i] = draw(_index_array(first, "axis" in kwargs, kwargs.get("axis")))
    return tuple(args), kwargs


@st.composite
def _sampled_example(draw, spec, dtype):
    dtype = np.dtype(dtype) if dtype is not None else draw(float_dtypes(spec.dtypes))
    seed = draw(st.integers(0, 2**32 - 1))
    args, kwargs = spec.sample(np.random.default_rng(seed), dtype)
    return tuple(args), dict(kwargs)


def examples(prim_or_domain, dtype=None):
    """``(args, kwargs)`` examples from a Primitive's (or a bare Domain's) declared domain.

    Vocabulary domains draw shapes from the family, values from each input's
    kind, keyword options from ``kwargs`` and, for ``shapes="reduce"`` (or
    ``"scan"``), an ``axis`` that fits. Sample-hook domains call ``sample(rng, dtype)`` with a
    Generator seeded by hypothesis. ``dtype`` fixes the float dtype.
    """
    spec = prim_or_domain if isinstance(prim_or_domain, InputSpec) else input_spec(prim_or_domain)
    if spec.sample is not None:
        return _sampled_example(spec, dtype)
    return _vocabulary_example(spec, dtype)


__all__ = [
    "DomainError",
    "InputSpec",
    "arrays",
    "axes",
    "broadcastable_shapes",
    "elements",
    "examples",
    "family_shapes",
    "float_dtypes",
    "input_spec",
    "matmul_shapes",
    "shapes",
    "square_shapes",
    "tensors",
    "value_arrays",
]
