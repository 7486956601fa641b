"""Every numpy function tapegrad handles gives numpy's result, on every memory layout.

For each numpy function in tapegrad's handler map (``NUMPY_HANDLERS``), its
inputs come from the Domain of the primitive it dispatches to (derandomized
draws) or, for composites, from the call table ``CALLS`` below. Each input
array is then laid out four ways (C order, Fortran order, negative strides, a
non-contiguous slice; 0-d and size-0 arrays included where numpy takes them)
in float64 and float32, and the function on Tensors (requiring grad, and not)
must give numpy's values, dtype and shape on the same arrays, or raise where
numpy raises. Values must agree bit for bit, except where numpy's own result
depends on the layout (a sum in memory order): then within a few ulps.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import tapegrad as tg
from tapegrad.core.primitive import NUMPY_HANDLERS, Primitive
from tapegrad.testing import builtin_primitives, describe
from tapegrad.testing.strategies import examples

PRIMITIVES = builtin_primitives()
DTYPES = (np.float64, np.float32)
DOMAIN_EXAMPLES = 4  # per dtype
# Within this many ulps of numpy where numpy's own result depends on the layout.
LAYOUT_ULPS = 64


def _numpy_name(function):
    module = getattr(function, "__module__", None) or "numpy"
    return f"{module.replace('numpy', 'np', 1)}.{function.__name__}"


NUMPY_FUNCTIONS = {
    _numpy_name(f): f
    for f in NUMPY_HANDLERS
    if (getattr(f, "__module__", None) or "").startswith("numpy")
}


# -- layouts --------------------------------------------------------------------------------


# Each keeps a 0-d array 0-d (np.asfortranarray would make it 1-d).


def _c_order(v):
    return np.ascontiguousarray(v) if v.ndim else v.copy()


def _fortran(v):
    return np.asfortranarray(v) if v.ndim else v.copy()


def _negative_strides(v):
    # The same values, read backwards along every axis.
    return np.flip(np.flip(v).copy()) if v.ndim else v.copy()


def _strided(v):
    # The same values, every other element of a larger array.
    if not v.ndim:
        return v.copy()
    big = np.zeros(tuple(2 * n for n in v.shape), dtype=v.dtype)
    every_other = (slice(None, None, 2),) * v.ndim
    big[every_other] = v
    return big[every_other]


LAYOUTS = {
    "C": _c_order,
    "F": _fortran,
    "negative strides": _negative_strides,
    "strided": _strided,
}


@dataclasses.dataclass(frozen=True)
class Const:
    """An array argument that stays a plain ndarray (coordinates, weights, ...)."""

    value: np.ndarray


def _map_arrays(tree, fun):
    """``tree`` (nested tuples, lists, dicts) with every ndarray replaced by ``fun(array)``."""
    if isinstance(tree, Const):
        return Const(fun(tree.value))
    if isinstance(tree, np.ndarray):
        return fun(tree)
    if isinstance(tree, tuple):
        return tuple(_map_arrays(v, fun) for v in tree)
    if isinstance(tree, list):
        return [_map_arrays(v, fun) for v in tree]
    if isinstance(tree, dict):
        return {k: _map_arrays(v, fun) for k, v in tree.items()}
    return tree


def _numpy_arguments(tree):
    if isinstance(tree, Const):
        return tree.value
    if isinstance(tree, (tuple, list)):
        return type(tree)(_numpy_arguments(v) for v in tree)
    if isinstance(tree, dict):
        return {k: _numpy_arguments(v) for k, v in tree.items()}
    return tree


def _tensor_arguments(tree, requires_grad):
    """Float arrays become Tensors; Const arrays, index arrays and the rest stay."""
    if isinstance(tree, Const):
        return tree.value
    if isinstance(tree, np.ndarray) and tree.dtype.kind == "f":
        return tg.tensor(tree, requires_grad=requires_grad)
    if isinstance(tree, (tuple, list)):
        return type(tree)(_tensor_arguments(v, requires_grad) for v in tree)
    if isinstance(tree, dict):
        return {k: _tensor_arguments(v, requires_grad) for k, v in tree.items()}
    return tree


def _arrays_in(tree):
    out = []
    _map_arrays(tree, lambda v: out.append(v) or v)
    return out


# -- comparing results ----------------------------------------------------------------------


class NotNumpysError(AssertionError):
    pass


def _value(x):
    if isinstance(x, tg.Tensor):
        return x.data
    return np.asarray(x)


def _compare(ours, theirs, exact, path="result"):
    if isinstance(theirs, (tuple, list)):
        if not isinstance(ours, (tuple, list)) or len(ours) != len(theirs):
            raise NotNumpysError(
                f"{path}: numpy gives a sequence of {len(theirs)}, tapegrad {ours!r}"
            )
        fields = getattr(theirs, "_fields", None)
        if fields is not None and getattr(ours, "_fields", None) != fields:
            raise NotNumpysError(
                f"{path}: numpy's fields {fields}, tapegrad's {type(ours).__name__}"
            )
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _compare(a, b, exact, f"{path}[{i}]")
        return
    a, b = _value(ours), np.asarray(theirs)
    if a.shape != b.shape:
        raise NotNumpysError(f"{path}: shape {a.shape}, numpy's {b.shape}")
    if a.dtype != b.dtype:
        raise NotNumpysError(f"{path}: dtype {a.dtype}, numpy's {b.dtype}")
    if exact or b.dtype.kind not in "fc":
        if not np.array_equal(a, b, equal_nan=b.dtype.kind in "fc"):
            raise NotNumpysError(
                f"{path}: values differ from numpy's\n  ours:  {a!r}\n  numpy: {b!r}"
            )
        return
    eps = np.finfo(b.dtype).eps * LAYOUT_ULPS
    finite = np.abs(b[np.isfinite(b)])
    scale = float(finite.max()) if finite.size else 0.0
    if not np.allclose(a, b, rtol=eps, atol=eps * scale, equal_nan=True):
        raise NotNumpysError(
            f"{path}: values differ from numpy's by more than {LAYOUT_ULPS} ulps\n"
            f"  ours:  {a!r}\n  numpy: {b!r}"
        )


def _bitwise_equal(x, y):
    try:
        _compare(x, y, exact=True)
    except NotNumpysError:
        return False
    return True


def _call(function, args, kwargs):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def check_call(name, function, args, kwargs, refusals=()):
    """``function(*args, **kwargs)`` on Tensors against numpy, for every layout of
    the arrays in ``args`` and ``kwargs`` (given C-ordered)."""
    layouts = LAYOUTS if any(v.ndim for v in _arrays_in((args, kwargs))) else {"C": _c_order}
    laid_out = {label: _map_arrays((args, kwargs), lay) for label, lay in layouts.items()}
    expected = {}
    for label, (a, k) in laid_out.items():
        try:
            expected[label] = _call(function, _numpy_arguments(a), _numpy_arguments(k))
        except Exception as error:
            expected[label] = error
    raised = [e for e in expected.values() if isinstance(e, Exception)]
    if raised and len(raised) < len(expected):
        raise NotNumpysError(f"{name}: numpy itself raises on some layouts only: {raised[0]!r}")
    results = list(expected.values())
    exact = not raised and all(_bitwise_equal(r, results[0]) for r in results[1:])
    for label, (a, k) in laid_out.items():
        for requires_grad in (False, True):
            where = (
                f"{name}({describe(_numpy_arguments(a), _numpy_arguments(k))}), "
                f"layout {label}, requires_grad={requires_grad}"
            )
            try:
                ours = _call(
                    function,
                    _tensor_arguments(a, requires_grad),
                    _tensor_arguments(k, requires_grad),
                )
            except Exception as error:
                if raised:
                    continue  # numpy raises too
                if requires_grad and isinstance(error, NotImplementedError) and refusals:
                    continue  # a documented refusal (see REFUSALS)
                raise NotNumpysError(
                    f"{where}: tapegrad raised {error!r}; numpy gives a result"
                ) from error
            if raised:
                raise NotNumpysError(
                    f"{where}: numpy raises {raised[0]!r}; tapegrad gives {ours!r}"
                )
            try:
                _compare(ours, expected[label], exact)
            except NotNumpysError as error:
                raise NotNumpysError(f"{where}: {error}") from None


# -- inputs for the composites ----------------------------------------------------------------


class Arrays:
    """C-ordered random inputs of one dtype; the test lays each out four ways."""

    def __init__(self, dtype, seed=0):
        self.dtype = np.dtype(dtype)
        self.rng = np.random.default_rng(seed)

    def __call__(self, *shape):
        return self.rng.standard_normal(shape).astype(self.dtype)

    def positive(self, *shape):
        return self.rng.uniform(0.5, 2.0, shape).astype(self.dtype)

    def spd(self, n, *batch):
        b = self.rng.standard_normal((*batch, n, n))
        return (b @ np.swapaxes(b, -1, -2) + n * np.eye(n)).astype(self.dtype)

    def wellcond(self, n, *batch):
        return (2.0 * np.eye(n) + self.rng.uniform(-1, 1, (*batch, n, n)) / n).astype(self.dtype)

    def increasing(self, n):
        return np.cumsum(self.rng.uniform(0.5, 1.5, n)).astype(self.dtype)

    def with_nans(self, *shape):
        x = self(*shape)
        x[self.rng.random(shape) < 0.25] = np.nan
        return x

    def exactly(self, values):
        return np.array(values, dtype=self.dtype)


def call(*args, **kwargs):
    return args, kwargs


SHAPES = [(), (0,), (5,), (0, 3), (3, 4), (2, 3, 4)]


def _axes(ndim, keepdims=False):
    out = [{}]
    for axis in ([0, -1] if ndim else []) + ([(0, -1)] if ndim >= 2 else []):
        out.append({"axis": axis})
        if keepdims:
            out.append({"axis": axis, "keepdims": True})
    return out


def sweep(*positional, axes=False, keepdims=False, tuple_axes=True, kind=None, variants=({},)):
    """``np.f(x, *positional, **variant)`` for x of every shape in SHAPES, with
    ``axis`` options when ``axes`` (tuples of axes unless ``tuple_axes`` is False)."""

    def build(a):
        make = getattr(a, kind) if kind else a
        out = []
        for shape in SHAPES:
            options = _axes(len(shape), keepdims) if axes else [{}]
            if not tuple_axes:
                options = [o for o in options if not isinstance(o.get("axis"), tuple)]
            for option in options:
                for variant in variants:
                    out.append(call(make(*shape), *positional, **option, **variant))
        return out

    return build


def _stacks(a):
    return [
        call([a(3), a(3)]),
        call([a(2, 3), a(1, 3)]),
        call([a(2, 3), a(2, 3), a(2, 3)]),
        call([a(2, 3, 4), a(2, 3, 4)]),
        call([a(), a()]),
        call([a(0, 3), a(0, 3)]),
    ]


def _splits(axis_ok):
    def build(a):
        return [
            call(a(6), 3),
            call(a(6), [1, 4]),
            call(a(4, 6), 2),
            call(a(4, 6), [1, 3], axis=1) if axis_ok else call(a(4, 6), [1, 3]),
            call(a(2, 4, 6), 2),
            call(a(0, 4), 2),
        ]

    return build


def _percentiles(scale, kind=None):
    def build(a):
        make = getattr(a, kind) if kind else a
        q = [0.1 * scale, 0.5 * scale, 0.9 * scale]
        return [
            call(make(5), 0.3 * scale),
            call(make(3, 4), q, axis=0),
            call(make(3, 4), 0.25 * scale, axis=1, keepdims=True),
            call(make(2, 3, 4), q[1], axis=(0, 2)),
            call(make(7), q, method="lower"),
            call(make(7), q, method="nearest"),
            call(make(7), q, method="midpoint"),
            call(make(0, 3), 0.5 * scale, axis=1),
        ]

    return build


def _nan_reductions(*extra):
    return sweep(axes=True, keepdims=True, kind="with_nans", variants=({}, *extra))


CALLS = {
    # indexing and sorting
    "np.take": lambda a: [
        call(a(3, 4), np.array([0, 2, -1])),
        call(a(3, 4), np.array([1, 0]), axis=1),
        call(a(5), np.array([], dtype=int)),
        call(a(), np.array([0, 0])),
        call(a(2, 3, 4), np.array([[0, 1], [2, 0]]), axis=-1),
    ],
    "np.take_along_axis": lambda a: [
        call(a(3, 4), np.array([[0, 1, 2, 3]] * 3)[:, ::-1].copy(), axis=1),
        call(a(3, 4), np.array([[2], [0], [1]]), axis=1),
        call(a(5), np.array([4, 0, 0]), axis=0),
        call(a(3, 4), np.array([0, 5, 11]), axis=None),
    ],
    "np.sort": lambda a: [
        *sweep(axes=True, tuple_axes=False)(a),
        call(a(3, 4), axis=None),
        call(a(), axis=None),
    ],
    "np.partition": lambda a: [
        call(a(5), 2),
        call(a(3, 4), 1, axis=0),
        call(a(3, 4), [0, 3]),
        call(a(2, 3, 4), -1, axis=None),
    ],
    "np.select": lambda a: [
        call([np.array([True, False, False]), np.array([False, True, False])], [a(3), a(3)]),
        call([np.eye(3, dtype=bool)], [a(3, 3)], default=0.5),
        call([np.array([True, False])], [a(2)], default=a(2)),
    ],
    "np.piecewise": lambda a: [
        call(x := a(6), [x < 0, x >= 0], [lambda v: -v, lambda v: v * v]),
        call(x := a(3, 4), [x < -0.5, x > 0.5], [0.0, lambda v: 2 * v, lambda v: v]),
    ],
    # cumulative
    "np.cumulative_sum": sweep(
        axes=True, tuple_axes=False, variants=({}, {"include_initial": True})
    ),
    "np.cumulative_prod": sweep(
        axes=True, tuple_axes=False, variants=({}, {"include_initial": True})
    ),
    # shapes
    "np.ravel": sweep(variants=({}, {"order": "F"}, {"order": "K"}, {"order": "A"})),
    "np.expand_dims": lambda a: [
        call(x, axis) for x in (a(), a(5), a(3, 4), a(0, 3)) for axis in (0, -1, (0, 2))
    ],
    "np.squeeze": lambda a: [
        call(a(1, 3, 1)),
        call(a(1, 3, 1), axis=0),
        call(a(1, 3, 1), axis=(0, -1)),
        call(a(3, 4)),
        call(a()),
        call(a(1, 0)),
    ],
    "np.atleast_1d": sweep(),
    "np.atleast_2d": sweep(),
    "np.atleast_3d": sweep(),
    "np.matrix_transpose": lambda a: [call(a(3, 4)), call(a(2, 3, 4)), call(a(0, 3))],
    "np.moveaxis": lambda a: [
        call(a(2, 3, 4), 0, -1),
        call(a(2, 3, 4), [0, 1], [2, 0]),
        call(a(3, 4), -1, 0),
    ],
    "np.rollaxis": lambda a: [call(a(2, 3, 4), 2), call(a(2, 3, 4), 0, 2), call(a(3, 4), 1)],
    "np.rot90": lambda a: [
        call(a(3, 4)),
        call(a(3, 4), 2),
        call(a(3, 4), -1),
        call(a(2, 3, 4), 1, (1, 2)),
        call(a(2, 3, 4), 3, (2, 0)),
    ],
    "np.broadcast_arrays": lambda a: [
        call(a(3, 1), a(4)),
        call(a(), a(2, 3)),
        call(a(0, 1), a(3)),
    ],
    "np.hstack": _stacks,
    "np.vstack": _stacks,
    "np.column_stack": _stacks,
    "np.dstack": _stacks,
    "np.append": lambda a: [
        call(a(3), a(2)),
        call(a(2, 3), a(1, 3), axis=0),
        call(a(2, 3), a(2, 3)),
        call(a(), a(2)),
    ],
    "np.block": lambda a: [
        call([[a(2, 2), a(2, 3)], [a(1, 2), a(1, 3)]]),
        call([a(2), a(3)]),
        call([[a(2, 2)], [a(1, 2)]]),
    ],
    "np.array_split": lambda a: [
        call(a(7), 3),
        call(a(3, 4), 2, axis=1),
        call(a(6), [1, 4]),
        call(a(0, 2), 2),
    ],
    "np.split": _splits(axis_ok=True),
    "np.hsplit": lambda a: [call(a(4, 6), 2), call(a(6), [1, 4]), call(a(2, 4, 6), [1])],
    "np.vsplit": lambda a: [call(a(4, 6), 2), call(a(4, 6), [1, 3]), call(a(4, 2, 3), 4)],
    "np.dsplit": lambda a: [call(a(2, 3, 4), 2), call(a(2, 3, 4), [1, 3])],
    "np.fliplr": lambda a: [call(a(3, 4)), call(a(2, 3, 4)), call(a(0, 3))],
    "np.flipud": lambda a: [call(a(5)), call(a(3, 4)), call(a(2, 3, 4)), call(a(0, 3))],
    "np.tile": lambda a: [
        call(a(3), 2),
        call(a(2, 3), (2, 1)),
        call(a(), 3),
        call(a(2, 3), (2, 1, 2)),
        call(a(2, 3), 0),
        call(a(0, 3), 2),
    ],
    "np.repeat": lambda a: [
        call(a(3), 2),
        call(a(2, 3), [1, 2], axis=0),
        call(a(2, 3), 2),
        call(a(), 3),
        call(a(2, 3, 4), 2, axis=-1),
    ],
    "np.diagonal": lambda a: [
        call(a(3, 4)),
        call(a(3, 4), 1),
        call(a(3, 4), -2),
        call(a(2, 3, 4), 0, 1, 2),
        call(a(0, 3)),
    ],
    "np.diag": lambda a: [
        call(a(4)),
        call(a(3, 4)),
        call(a(3, 4), 1),
        call(a(4), -1),
        call(a(0)),
    ],
    "np.triu": lambda a: [call(a(3, 4)), call(a(3, 4), 1), call(a(2, 3, 4), -1), call(a(4))],
    "np.tril": lambda a: [call(a(3, 4)), call(a(3, 4), 1), call(a(2, 3, 4), -1), call(a(4))],
    # construction
    "np.linspace": lambda a: [
        call(a(), a(), 5),
        call(a(3), a(3), 4, axis=-1),
        call(a(2), a(), 3, endpoint=False),
        call(a(), a(), 5, retstep=True),
        call(a(), a(), 1),
        call(a(), a(), 0),
    ],
    "np.logspace": lambda a: [
        call(a(), a(), 5),
        call(a(3), a(3), 4, base=2.0),
        call(a(), a(), 4, endpoint=False, axis=0),
    ],
    "np.geomspace": lambda a: [
        call(a.positive(), a.positive(), 5),
        call(a.positive(3), a.positive(3), 4, endpoint=False),
        call(-a.positive(), -a.positive(), 3),
    ],
    "np.meshgrid": lambda a: [
        call(a(3), a(4)),
        call(a(3), a(4), indexing="ij"),
        call(a(3), a(4), a(2), sparse=True),
        call(a(3)),
    ],
    "np.vander": lambda a: [
        call(a(4)),
        call(a(4), 3),
        call(a(3), increasing=True),
        call(a(0)),
    ],
    # products
    "np.tensordot": lambda a: [
        call(a(3, 4), a(4, 5), 1),
        call(a(2, 3, 4), a(3, 4, 2), ([1, 2], [0, 1])),
        call(a(3), a(2), 0),
        call(a(2, 3, 4), a(2, 3, 4)),
    ],
    "np.linalg.tensordot": lambda a: [
        call(a(3, 4), a(4, 5), axes=1),
        call(a(2, 3, 4), a(3, 4, 2), axes=([1, 2], [0, 1])),
    ],
    "np.dot": lambda a: [
        call(a(3, 4), a(4, 5)),
        call(a(4), a(4)),
        call(a(), a(3)),
        call(a(2, 3, 4), a(4, 2)),
        call(a(3, 4), a(4)),
        call(a(0, 3), a(3, 2)),
    ],
    "np.vdot": lambda a: [call(a(3, 4), a(3, 4)), call(a(5), a(5)), call(a(0), a(0))],
    "np.inner": lambda a: [call(a(3, 4), a(2, 4)), call(a(5), a(5)), call(a(), a(3))],
    "np.outer": lambda a: [call(a(3), a(4)), call(a(2, 3), a(2)), call(a(0), a(3))],
    "np.linalg.outer": lambda a: [call(a(3), a(4)), call(a(0), a(2))],
    "np.vecdot": lambda a: [
        call(a(3, 4), a(3, 4)),
        call(a(2, 3, 4), a(4)),
        call(a(3, 4), a(3, 4), axis=0),
    ],
    "np.linalg.vecdot": lambda a: [call(a(3, 4), a(3, 4)), call(a(2, 3, 4), a(4))],
    "np.trace": lambda a: [
        call(a(3, 4)),
        call(a(3, 4), 1),
        call(a(2, 3, 4), 0, 1, 2),
        call(a(0, 3)),
    ],
    "np.linalg.trace": lambda a: [call(a(3, 4)), call(a(2, 3, 4), offset=1)],
    "np.linalg.diagonal": lambda a: [call(a(3, 4)), call(a(2, 3, 4), offset=-1)],
    "np.kron": lambda a: [call(a(2, 3), a(2, 2)), call(a(3), a(2)), call(a(), a(2))],
    **{
        f"np.fft.{name}": lambda a: [
            call(a(3, 4)),
            call(a(2, 3, 4), s=(4, 5), norm="ortho"),
            call(a(3, 4), axes=(1, 0), norm="forward"),
        ]
        for name in ("fft2", "ifft2", "rfft2", "irfft2")
    },
    "np.cross": lambda a: [
        call(a(3), a(3)),
        call(a(4, 3), a(4, 3)),
        call(a(3, 4), a(3, 4), axis=0),
        call(a(4, 3), a(3)),
    ],
    "np.linalg.cross": lambda a: [call(a(3), a(3)), call(a(4, 3), a(4, 3))],
    # norms and decompositions
    "np.linalg.norm": lambda a: (
        [
            call(x, *options)
            for x in (a(), a(0), a(5), a(3, 4), a(2, 3, 4))
            for options in ((), (None, -1), (2, 0), (1, -1, True), ("fro", (0, -1)), (-2, (1, 0)))
        ]
        + [call(a(3, 4), order) for order in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)]
        + [call(a(5), order) for order in (0, 1, 2, -1, 0.5, 3, np.inf, -np.inf)]
    ),
    "np.linalg.matrix_norm": lambda a: (
        [
            call(x, ord=order)
            for x in (a(3, 4), a(2, 3, 4))
            for order in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)
        ]
        + [call(a(3, 4), keepdims=True)]
    ),
    "np.linalg.eigvals": lambda a: [call(a.spd(3)), call(a.spd(2, 2)), call(a.spd(1))],
    "np.linalg.matrix_power": lambda a: (
        [call(a.wellcond(3), n) for n in (0, 1, 2, 3, -1, -2)] + [call(a.wellcond(2, 2), 2)]
    ),
    "np.linalg.multi_dot": lambda a: [
        call([a(2, 3), a(3, 4), a(4, 2)]),
        call([a(3), a(3, 4), a(4)]),
        call([a(2, 3), a(3, 2)]),
    ],
    "np.linalg.tensorsolve": lambda a: [
        call(a.wellcond(6).reshape(2, 3, 6), a(2, 3)),
        call(a.wellcond(4).reshape(4, 2, 2), a(4)),
    ],
    "np.linalg.tensorinv": lambda a: [
        call(a.wellcond(6).reshape(6, 2, 3), ind=1),
        call(a.wellcond(4).reshape(2, 2, 2, 2)),
    ],
    "np.linalg.cond": lambda a: [
        call(a.wellcond(3)),
        call(a.wellcond(3), "fro"),
        call(a.wellcond(3), 1),
        call(a.wellcond(3), -2),
        call(a.wellcond(3), np.inf),
        call(a.wellcond(3, 2)),
        call(a(3, 4)),
    ],
    # elementwise composites
    "np.conjugate": sweep(),
    "np.real": sweep(),
    "np.fabs": sweep(),
    "np.nan_to_num": lambda a: [
        call(a.exactly([1.0, np.nan, np.inf, -np.inf, -2.0])),
        call(a.exactly([1.0, np.nan, np.inf, -np.inf]), nan=0.5, posinf=9.0, neginf=-9.0),
        call(a.with_nans(3, 4)),
        call(a()),
    ],
    # differences, integrals, interpolation
    "np.diff": lambda a: [
        call(a(5)),
        call(a(3, 4), 2, axis=0),
        call(a(5), prepend=0.0),
        call(a(3, 4), append=a(3, 1)),
        call(a(5), 0),
        call(a(0, 3)),
    ],
    "np.ediff1d": lambda a: [
        call(a(5)),
        call(a(3, 4)),
        call(a(5), to_end=a(2), to_begin=1.0),
        call(a()),
    ],
    "np.gradient": lambda a: [
        call(a(5)),
        call(a(3, 4)),
        call(a(5), 2.0),
        call(a(5), edge_order=2),
        call(a(3, 4), axis=0),
        call(a(5), Const(a.increasing(5))),
        call(a(3, 4), 0.5, Const(a.increasing(4))),
    ],
    "np.convolve": lambda a: [
        call(a(5), a(3)),
        call(a(5), a(3), mode="same"),
        call(a(3), a(5), mode="valid"),
        call(a(1), a(4)),
    ],
    "np.trapezoid": lambda a: [
        call(a(5)),
        call(a(3, 4), dx=0.5, axis=0),
        call(a(5), x=Const(a.increasing(5))),
        call(a(0)),
    ],
    "np.interp": lambda a: [
        call(a(4), Const(a.increasing(5)), a(5)),
        call(a(3, 2), Const(a.increasing(5)), a(5), left=-9.0, right=9.0),
        call(a(), Const(a.increasing(3)), a(3)),
    ],
    "np.polyval": lambda a: [call(a(3), a(4)), call(a(3), a()), call(a(1), a(2, 3))],
    # statistics
    "np.average": lambda a: [
        call(a(3, 4)),
        call(a(3, 4), axis=0, weights=a.positive(3)),
        call(a(3, 4), axis=1, weights=a.positive(4), returned=True),
        call(a(5), keepdims=True),
        call(a(2, 3, 4), axis=(0, 2)),
    ],
    "np.ptp": sweep(axes=True, keepdims=True),
    "np.median": sweep(axes=True, keepdims=True),
    "np.quantile": _percentiles(1.0),
    "np.percentile": _percentiles(100.0),
    "np.nanmedian": _nan_reductions(),
    "np.nanquantile": _percentiles(1.0, kind="with_nans"),
    "np.nanpercentile": _percentiles(100.0, kind="with_nans"),
    "np.nansum": _nan_reductions(),
    "np.nanprod": _nan_reductions(),
    "np.nanmean": _nan_reductions(),
    "np.nanmax": _nan_reductions(),
    "np.nanmin": _nan_reductions(),
    "np.nanvar": _nan_reductions({"ddof": 1}),
    "np.nanstd": _nan_reductions({"ddof": 1}),
    "np.nancumsum": sweep(axes=True, tuple_axes=False, kind="with_nans"),
    "np.nancumprod": sweep(axes=True, tuple_axes=False, kind="with_nans"),
}
# Handled numpy functions left out, and why.
EXCLUDED = {
    "np.copyto": "an in-place writer: refuses Tensors by design "
    "(core/test_nothing_silently_lost.py::test_numpy_in_place_writers_refuse_tensors)",
}


# -- inputs from the primitives' Domains --------------------------------------------------


def _sequence(args, kwargs):
    return (list(args),), kwargs


def _einsum(args, kwargs):
    kwargs = dict(kwargs)
    return (kwargs.pop("subscripts"), *args), kwargs


# numpy functions whose arguments are spelled differently from their primitive's.
SPELLINGS = {"np.concatenate": _sequence, "np.stack": _sequence, "np.einsum": _einsum}
# Documented refusals: with an input that requires grad, tapegrad raises
# NotImplementedError here (and must still give numpy's result without grad).
REFUSALS = {
    "np.linalg.svd": "full_matrices=True on a non-square matrix: the extra vectors "
    "have no derivative",
}


def _primitive_for(name):
    """The primitive whose Domain gives ``np.<name>``'s inputs, or None."""
    handler = NUMPY_HANDLERS[NUMPY_FUNCTIONS[name]]
    if isinstance(handler, Primitive):
        return handler if handler.domain is not None else None
    prim = PRIMITIVES.get(getattr(handler, "__name__", None))
    return prim if prim is not None and prim.domain is not None else None


def _check_domain_examples(name, prim):
    function = NUMPY_FUNCTIONS[name]
    spell = SPELLINGS.get(name, lambda args, kwargs: (args, kwargs))
    for dtype in DTYPES:
        if np.dtype(dtype).name not in prim.domain.dtypes:
            continue

        @settings(
            max_examples=DOMAIN_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(examples(prim, dtype=dtype))
        def check(example):
            args, kwargs = spell(*example)
            check_call(name, function, tuple(args), dict(kwargs), refusals=name in REFUSALS)

        check()


def _kind_values(kind, shape, rng, dtype):
    """Values of a Domain value kind (tapegrad.domain.VALUE_KINDS), C-ordered."""
    size = int(np.prod(shape))
    magnitude = rng.uniform(0.5, 2.0, shape)
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    values = {
        "real": lambda: rng.standard_normal(shape),
        "positive": lambda: magnitude,
        "nonzero": lambda: sign * magnitude,
        "kinkfree": lambda: sign * magnitude,
        "unit": lambda: rng.uniform(-0.9, 0.9, shape),
        "above1": lambda: 1.0 + magnitude,
        "distinct": lambda: (rng.permutation(size) - size / 2).reshape(shape) * 0.375,
        "withzeros": lambda: np.where(rng.random(shape) < 0.2, 0.0, rng.standard_normal(shape)),
    }[kind]()
    return np.asarray(values, dtype=dtype)


def _check_shape_sweep(name, prim):
    """Elementwise and reducing primitives on every shape in SHAPES (0-d and size-0
    included), with each input of its value kind, and axes for reductions."""
    domain = prim.domain
    if domain.sample is not None or domain.shapes not in ("same", "broadcast", "reduce", "scan"):
        return
    if any(k not in ("real", "positive", "nonzero", "kinkfree", "unit", "above1", "distinct",
                     "withzeros") for k in domain.inputs):  # fmt: skip
        return
    function = NUMPY_FUNCTIONS[name]
    options = {k: v[0] if isinstance(v, (tuple, list)) else v for k, v in domain.kwargs.items()}
    rng = np.random.default_rng(0)
    for dtype in DTYPES:
        for shape in SHAPES:
            args = tuple(_kind_values(k, shape, rng, dtype) for k in domain.inputs)
            axes = [{}]
            if domain.shapes in ("reduce", "scan"):
                axes = [
                    a
                    for a in _axes(len(shape))
                    if domain.shapes == "reduce" or not isinstance(a.get("axis"), tuple)
                ]
            for axis in axes:
                check_call(name, function, args, {**options, **axis})


def _check_table(name):
    function = NUMPY_FUNCTIONS[name]
    for dtype in DTYPES:
        for args, kwargs in CALLS[name](Arrays(dtype)):
            check_call(name, function, args, kwargs, refusals=name in REFUSALS)


# -- the tests ------------------------------------------------------------------------------

# Functions that do not give numpy's result today, each with a failing call;
# strict, so a fix makes the test fail until its line here is removed.
_EMPTY_ROWS = "tg.tensor(np.zeros((0, 3)))"
_RESHAPE = "ValueError 'cannot reshape array of size 0 into shape (0,newaxis)'"
KNOWN_FAILURES: dict[str, str] = {}  # name -> why (strict xfail); none known

TESTED = sorted(set(NUMPY_FUNCTIONS) - set(EXCLUDED))


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_FAILURES[n], strict=True))
        if n in KNOWN_FAILURES
        else n
        for n in TESTED
    ],
)
def test_numpy_function_on_tensors_gives_numpys_result(name):
    prim = _primitive_for(name)
    assert name in CALLS or prim is not None, f"{name}: no inputs (add it to CALLS)"
    if name in CALLS:
        _check_table(name)
    if prim is not None:
        _check_domain_examples(name, prim)
        _check_shape_sweep(name, prim)


def test_every_handled_numpy_function_has_inputs():
    missing = [n for n in TESTED if n not in CALLS and _primitive_for(n) is None]
    assert not missing, f"numpy functions without inputs: add them to CALLS: {missing}"
    stale = sorted((set(CALLS) | set(EXCLUDED) | set(KNOWN_FAILURES)) - set(NUMPY_FUNCTIONS))
    assert not stale, f"entries for numpy functions tapegrad does not handle: {stale}"


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_layouts_keep_the_values(layout):
    x = np.arange(24.0).reshape(2, 3, 4)
    laid_out = LAYOUTS[layout](x)
    np.testing.assert_array_equal(laid_out, x)
    flags = laid_out.flags
    assert {
        "C": flags.c_contiguous,
        "F": flags.f_contiguous and not flags.c_contiguous,
        "negative strides": all(s < 0 for s in laid_out.strides),
        "strided": not flags.c_contiguous and not flags.f_contiguous,
    }[layout]


def test_a_wrong_value_dtype_or_shape_fails_the_check():
    # The check itself can fail: a function that is off by one ulp, returns
    # float64 for float32, or drops a dimension.
    def off_by_an_ulp(x):
        y = np.sin(x)
        return y if isinstance(x, np.ndarray) else tg.tensor(np.nextafter(y.data, np.inf))

    def wrong_dtype(x):
        return np.sin(x) if isinstance(x, np.ndarray) else np.sin(x).astype(np.float64)

    def wrong_shape(x):
        return np.sin(x) if isinstance(x, np.ndarray) else np.sin(x).ravel()

    x = Arrays(np.float32)(3, 4)
    for fun in (off_by_an_ulp, wrong_dtype, wrong_shape):
        with pytest.raises(NotNumpysError):
            check_call(fun.__name__, fun, (x,), {})
