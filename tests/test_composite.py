"""Random composite expressions, differentiated to second order.

Each example is a small program: one or two input arrays, then a few steps,
each applying an op from ``UNARY`` or ``BINARY`` to earlier values (inputs or results, so
values are reused and the program is a tree or a DAG). Its first and second
derivatives are checked against finite differences with ``check_grads``.

The op tests check each rule alone; this checks that rules compose:
cotangents unbroadcast between steps, accumulate where a value is used
twice, and rules recorded under ``create_graph`` feed other rules. Values
stay in a range where finite differences are reliable (no step may leave
[-1e3, 1e3]), and hypothesis is derandomized, so CI sees the same programs
on every run.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import tapegrad as tg
from tapegrad.testing import check_grads

SETTINGS = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_STEPS = 5
MAX_SIZE = 36  # elements in any intermediate value
LIMIT = 1e3  # largest magnitude any intermediate value may reach


# -- the op table: name -> make(rng, *shapes) -> (label, function) or None ----------------
#
# ``make`` sees the shapes of its operands, draws the op's options (axes,
# indices, constants) and returns a function of the operand values, or None
# when the op does not apply to these shapes.


def _unary(name, fun):
    def make(rng, shape):
        return name, fun

    return make


def _smooth_ops():
    return {
        "tanh": _unary("tanh", np.tanh),
        "sin": _unary("sin", np.sin),
        "exp": _unary("exp(x / 2)", lambda x: np.exp(x * 0.5)),
        "sigmoid": _unary("sigmoid", tg.sigmoid),
        "softplus": _unary("softplus", tg.softplus),
        "square": _unary("square", np.square),
        "cube": _unary("x ** 3", lambda x: x**3),
        "log1p": _unary("log1p(x ** 2)", lambda x: np.log1p(x * x)),
        "sqrt": _unary("sqrt(1 + x ** 2)", lambda x: np.sqrt(1.0 + x * x)),
        "reciprocal": _unary("1 / (1 + x ** 2)", lambda x: 1.0 / (1.0 + x * x)),
        "arctan": _unary("arctan", np.arctan),
        "negative": _unary("-x", lambda x: -x),
        "scale": _unary("0.5 * x - 1", lambda x: 0.5 * x - 1.0),
        "exp2": _unary("2 ** tanh(x)", lambda x: 2.0 ** np.tanh(x)),
    }


def _kinked_ops():
    # Random values sit at a kink with probability 0; ties between values
    # built the same way have equal derivatives, so the convention agrees
    # with finite differences there too.
    def clip(rng, shape):
        low = _pick(rng, [-1.0, -0.5, 0.0])
        return f"clip(x, {low}, {low + 1.0})", lambda x: np.clip(x, low, low + 1.0)

    def maximum(rng, shape):
        c = _pick(rng, [-0.5, 0.0, 0.5])
        return f"maximum(x, {c})", lambda x: np.maximum(x, c)

    return {"abs": _unary("abs", np.abs), "clip": clip, "maximum_const": maximum}


def _axis(rng, ndim, tuples=True):
    """None, an int (maybe negative) or a tuple of distinct axes of an ndim array."""
    choices = [None]
    if ndim:
        choices += list(range(-ndim, ndim))
        if tuples:
            choices += [(0, ndim - 1), tuple(range(ndim))]
    axis = _pick(rng, choices)
    if isinstance(axis, tuple):
        axis = tuple(sorted({a % ndim for a in axis}))
    return axis


def _reduction(name, fun):
    def make(rng, shape):
        axis = _axis(rng, len(shape))
        keepdims = bool(rng.integers(2))
        return f"{name}(axis={axis}, keepdims={keepdims})", lambda x: fun(
            x, axis=axis, keepdims=keepdims
        )

    return make


def _std(rng, shape):
    # Groups of at least two elements: std of one element is the constant 0.
    if len(shape) == 0 or max(shape) < 2:
        return None
    axis = _pick(rng, [a for a in range(len(shape)) if shape[a] >= 2])
    ddof = _pick(rng, [0, 1])
    return f"std(axis={axis}, ddof={ddof})", lambda x: np.std(x, axis=axis, ddof=ddof)


def _scan(name, fun):
    def make(rng, shape):
        axis = _axis(rng, len(shape), tuples=False)
        if axis is None and len(shape) > 1:
            axis = -1
        return f"{name}(axis={axis})", lambda x: fun(x, axis=axis)

    return make


def _norm(rng, shape):
    if len(shape) == 0:
        return None
    order = _pick(rng, [2, 1, 3, np.inf])
    axis = int(rng.integers(-len(shape), len(shape)))
    return f"norm(ord={order}, axis={axis})", lambda x: np.linalg.norm(x, ord=order, axis=axis)


def _reduce_ops():
    return {
        "sum": _reduction("sum", np.sum),
        "mean": _reduction("mean", np.mean),
        "prod": _reduction("prod", np.prod),
        "max": _reduction("max", np.max),
        "min": _reduction("min", np.min),
        "var": _reduction("var", np.var),
        "logsumexp": _reduction("logsumexp", tg.logsumexp),
        "std": _std,
        "cumsum": _scan("cumsum", np.cumsum),
        "cumprod": _scan("cumprod", np.cumprod),
        "norm": _norm,
    }


def _reshape(rng, shape):
    size = int(np.prod(shape))
    target = _pick(rng, [(size,), (1, size), tuple(reversed(shape)), (size, 1)])
    order = _pick(rng, ["C", "F"])
    return f"reshape({target}, order={order})", lambda x: np.reshape(x, target, order=order)


def _transpose(rng, shape):
    axes = tuple(int(a) for a in rng.permutation(len(shape)))
    return f"transpose({axes})", lambda x: np.transpose(x, axes)


def _swapaxes(rng, shape):
    if len(shape) < 2:
        return None
    return "swapaxes(0, -1)", lambda x: np.swapaxes(x, 0, -1)


def _expand(rng, shape):
    axis = int(rng.integers(-len(shape) - 1, len(shape) + 1))
    return f"expand_dims({axis})", lambda x: np.expand_dims(x, axis)


def _squeeze(rng, shape):
    if 1 not in shape:
        return None
    return "squeeze", np.squeeze


def _broadcast(rng, shape):
    target = (2, *shape)
    return f"broadcast_to({target})", lambda x: np.broadcast_to(x, target)


def _flip(rng, shape):
    axis = None if not shape else _pick(rng, [None, *range(-len(shape), len(shape))])
    return f"flip({axis})", lambda x: np.flip(x, axis)


def _roll(rng, shape):
    shift = int(rng.integers(-2, 3))
    axis = None if not shape else _pick(rng, [None, len(shape) - 1])
    return f"roll({shift}, {axis})", lambda x: np.roll(x, shift, axis)


def _tile(rng, shape):
    reps = _pick(rng, [2, (2, 1), (1, 2)])
    return f"tile({reps})", lambda x: np.tile(x, reps)


def _repeat(rng, shape):
    axis = None if not shape else _pick(rng, [None, 0])
    return f"repeat(2, {axis})", lambda x: np.repeat(x, 2, axis=axis)


def _pad(rng, shape):
    if not shape:
        return None
    mode = _pick(rng, ["constant", "edge", "reflect", "wrap"])
    if mode == "reflect" and min(shape) < 2:
        mode = "symmetric"
    return f"pad(1, {mode})", lambda x: np.pad(x, 1, mode=mode)


def _getitem(rng, shape):
    if not shape:
        return None
    n = shape[0]
    index = _pick(
        rng,
        [
            slice(None, None, -1),
            np.array([0, n - 1, 0]),  # a repeat: cotangents must add up
            ((0, 0),),  # a sequence inside a tuple: an index array to numpy
            (Ellipsis, None, slice(0, 1)),
            -1,
            np.arange(n) % 2 == 0,
        ],
    )
    return f"x[{index!r}]", lambda x: x[index]


def _take(rng, shape):
    if not shape:
        return None
    n = shape[-1]
    indices = np.array([n - 1, 0, n - 1])
    return "take(.., axis=-1)", lambda x: np.take(x, indices, axis=-1)


def _diagonal(rng, shape):
    if len(shape) < 2:
        return None
    offset = _pick(rng, [0, 1, -1])
    return f"diagonal({offset})", lambda x: np.diagonal(x, offset)


def _triangle(rng, shape):
    if len(shape) < 2:
        return None
    k = _pick(rng, [0, 1, -1])
    upper = bool(rng.integers(2))
    fun = np.triu if upper else np.tril
    return f"{fun.__name__}({k})", lambda x: fun(x, k)


def _setitem(rng, shape):
    if not shape:
        return None
    n = shape[0]
    index = _pick(rng, [0, slice(None, None, -2), np.array([0, n - 1, 0])])

    def assign(x):
        y = x * 1.0
        y[index] = np.tanh(x[index]) * 2.0  # the assigned value depends on x too
        return y

    return f"x[{index!r}] = 2 tanh(x[...])", assign


def _shape_ops():
    return {
        "reshape": _reshape,
        "transpose": _transpose,
        "swapaxes": _swapaxes,
        "expand_dims": _expand,
        "squeeze": _squeeze,
        "broadcast_to": _broadcast,
        "flip": _flip,
        "roll": _roll,
        "tile": _tile,
        "repeat": _repeat,
        "pad": _pad,
        "getitem": _getitem,
        "take": _take,
        "diagonal": _diagonal,
        "triangle": _triangle,
        "setitem": _setitem,
    }


def _gram(x):
    """A well-conditioned SPD matrix from the rows of x."""
    n = np.shape(x)[0]
    return np.matmul(x, np.swapaxes(x, -1, -2)) * 0.25 + 2.0 * np.eye(n)


def _linalg(rng, shape):
    if not shape:
        return None
    rows = shape[0]
    name = _pick(rng, ["inv", "det", "slogdet", "solve", "cholesky", "einsum", "trace"])
    funs = {
        "inv": lambda m: np.linalg.inv(_gram(m)),
        "det": lambda m: np.linalg.det(_gram(m)),
        "slogdet": lambda m: np.linalg.slogdet(_gram(m))[1],
        "solve": lambda m: np.linalg.solve(_gram(m), m),
        "cholesky": lambda m: np.linalg.cholesky(_gram(m)),
        "einsum": lambda m: np.einsum("ij,kj->ik", m, m),
        "trace": lambda m: np.trace(np.outer(m, m)),
    }
    fun = funs[name]
    # Any array as a matrix: its first axis the rows.
    return f"{name}(gram of x as rows)", lambda x: fun(np.reshape(x, (rows, -1)))


def _self_product(rng, shape):
    if len(shape) == 0:
        return None
    return "x @ x.T", lambda x: np.matmul(x, np.swapaxes(x, -1, -2)) if len(shape) > 1 else x @ x


UNARY = {**_smooth_ops(), **_kinked_ops(), **_reduce_ops(), **_shape_ops()}
UNARY["linalg"] = _linalg
UNARY["self_product"] = _self_product


def _broadcasts(a, b):
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


def _elementwise_binary(name, fun):
    def make(rng, a, b):
        if _broadcasts(a, b):
            return name, fun
        # Shapes that do not broadcast meet through a scalar.
        return f"{name} with sum(b)", lambda x, y: fun(x, np.sum(y))

    return make


def _matmul(rng, a, b):
    if len(a) >= 1 and len(b) >= 1 and a[-1] == b[-2 if len(b) > 1 else 0]:
        return "a @ b", np.matmul
    return None


def _concatenate(rng, a, b):
    if len(a) == len(b) >= 1 and a[1:] == b[1:]:
        return "concatenate([a, b])", lambda x, y: np.concatenate([x, y])
    if a == b:
        axis = int(rng.integers(-len(a) - 1, len(a) + 1))
        return f"stack([a, b], {axis})", lambda x, y: np.stack([x, y], axis=axis)
    return None


def _where(rng, a, b):
    if not _broadcasts(a, b):
        return None
    return "where(a > b, a, b * b)", lambda x, y: np.where(x > y, x, y * y)


def _outer(rng, a, b):
    return "outer(a, b)", np.outer


def _tensordot(rng, a, b):
    if a and b and a[-1] == b[0]:
        return "tensordot(a, b, 1)", lambda x, y: np.tensordot(x, y, 1)
    if a == b:
        return "vdot(a, b)", np.vdot
    return None


BINARY = {
    "outer": _outer,
    "tensordot": _tensordot,
    "add": _elementwise_binary("a + b", lambda x, y: x + y),
    "subtract": _elementwise_binary("a - b", lambda x, y: x - y),
    "multiply": _elementwise_binary("a * b", lambda x, y: x * y),
    "divide": _elementwise_binary("a / (1 + b ** 2)", lambda x, y: x / (1.0 + y * y)),
    "power": _elementwise_binary("(1 + a**2) ** tanh(b)", lambda x, y: (1 + x * x) ** np.tanh(y)),
    "logaddexp": _elementwise_binary("logaddexp", np.logaddexp),
    "maximum": _elementwise_binary("maximum", np.maximum),
    "arctan2": _elementwise_binary("arctan2(a, 1 + b ** 2)", lambda x, y: np.arctan2(x, 1 + y * y)),
    "matmul": _matmul,
    "concatenate": _concatenate,
    "where": _where,
}


# -- programs ----------------------------------------------------------------------------------


class Program:
    """Inputs plus steps; each step is (label, function, operand positions)."""

    def __init__(self, inputs, steps):
        self.inputs = inputs
        self.steps = steps

    def __call__(self, *inputs):
        values = list(inputs)
        for _, fun, operands in self.steps:
            values.append(fun(*(values[i] for i in operands)))
        return values[-1]

    def __repr__(self):
        lines = [f"v{i} = input of shape {x.shape}" for i, x in enumerate(self.inputs)]
        first = len(self.inputs)
        for n, (label, _, operands) in enumerate(self.steps, start=first):
            args = ", ".join(f"v{i}" for i in operands)
            lines.append(f"v{n} = {label} of ({args})")
        return "\n".join(lines)


def _fits(value):
    data = np.asarray(value)
    return (
        data.dtype.kind == "f"
        and 0 < data.size <= MAX_SIZE
        and bool(np.all(np.isfinite(data)))
        and float(np.max(np.abs(data))) <= LIMIT
    )


def random_program(seed):
    """A program drawn by a numpy generator from ``seed``.

    Drawing from numpy rather than from hypothesis' choices keeps the
    programs as varied as the table (hypothesis, derandomized, leans towards
    its simplest choices); hypothesis only picks the seeds.
    """
    rng = np.random.default_rng(seed)
    inputs = [_values(_shape(rng), rng) for _ in range(int(rng.integers(1, 3)))]
    values = [tg.tensor(x) for x in inputs]
    steps = []
    while len(steps) < int(rng.integers(2, MAX_STEPS + 1)) and len(steps) < 3 * MAX_STEPS:
        binary = len(values) > 1 and rng.random() < 0.4
        table = BINARY if binary else UNARY
        name = _pick(rng, sorted(table))
        # Later values more often: chains grow deep, earlier values still get reused.
        operands = tuple(_operand(rng, len(values)) for _ in range(1 + binary))
        made = table[name](rng, *(values[i].shape for i in operands))
        if made is None:
            continue
        label, fun = made
        with np.errstate(all="ignore"):
            result = fun(*(values[i] for i in operands))
        if not _fits(result):
            continue  # too large, or an empty result: try another op
        steps.append((label, fun, operands))
        values.append(tg.tensor(result))
    if not steps:
        steps.append(("tanh", np.tanh, (0,)))
    return Program(inputs, steps)


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _operand(rng, count):
    return count - 1 - min(int(rng.geometric(0.5)) - 1, count - 1)


def _shape(rng):
    return tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 3)))


def _values(shape, rng):
    # Entries in [-1.5, 1.5], at least 0.05 from 0 and with distinct sizes:
    # no kink of abs or max sits within a finite-difference step.
    size = int(np.prod(shape))
    spread = rng.permutation(size) + rng.uniform(0.0, 0.5, size)
    magnitudes = 0.05 + 1.45 * spread / size
    signs = rng.choice([-1.0, 1.0], size)
    return (signs * magnitudes).reshape(shape)


@SETTINGS
@given(st.integers(0, 2**32 - 1))
def test_random_composites_have_correct_first_and_second_derivatives(seed):
    program = random_program(seed)
    note(f"random_program({seed}):\n{program!r}")
    check_grads(program, *program.inputs, order=2, name="program")


@settings(SETTINGS, max_examples=200)
@given(st.integers(0, 2**32 - 1))
def test_random_composites_in_float32(seed):
    # Float32 inputs: values, cotangents and their rounding follow each op's
    # dtype rules (check_grads compares with float32 tolerances).
    program = random_program(seed)
    inputs = [x.astype(np.float32) for x in program.inputs]
    note(f"random_program({seed}) in float32:\n{program!r}")
    check_grads(program, *inputs, order=2, name="program")


def test_the_table_covers_every_op_family():
    # Guards the generator against silently losing a family.
    names = set(UNARY) | set(BINARY)
    assert {"tanh", "abs", "sum", "max", "cumprod", "reshape", "getitem", "setitem"} <= names
    assert {"linalg", "matmul", "concatenate", "where", "maximum", "power"} <= names


def test_a_hand_written_composite():
    # One fixed program, so a failure of the machinery itself shows plainly.
    rng = np.random.default_rng(1)
    x = _values((2, 3), rng)
    y = _values((3,), rng)

    def program(a, b):
        h = np.tanh(a @ np.diag(b)) * b
        h = np.concatenate([h, np.flip(h, 0)], axis=0)
        h[np.array([0, 0, 3])] = np.exp(h[1] * 0.5)
        return tg.logsumexp(np.maximum(h, 0.1) + np.cumsum(h, axis=1), axis=-1)

    check_grads(program, x, y, order=2)
