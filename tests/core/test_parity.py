"""Every entry point to a primitive gives the same result.

A primitive is reached in up to six ways: the primitive object itself (whose
one-argument call takes the fast path of ``core/recorder.py``), the general
path (``recorder.record``), the tapegrad function of the same name
(``tg.sum``, ``tg.linalg.eigh``), the numpy functions that dispatch to it
(``np.sum``, ``np.amax``), the Tensor method of the same name (``t.sum()``)
and the operator (``x + y``, ``-x``, ``x[i]``). For examples drawn from each
built-in primitive's Domain (derandomized, so every run sees the same ones),
each entry point that applies must give the same values (bit for bit), dtype,
shape and ``requires_grad``: with every float input requiring grad, with
none, and with the first one a plain ndarray (the reflected operators).
"""

from __future__ import annotations

import dataclasses
import operator
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import tapegrad as tg
import tapegrad.nn.functional
from tapegrad.core import recorder
from tapegrad.core.primitive import NUMPY_HANDLERS
from tapegrad.testing import builtin_primitives, describe
from tapegrad.testing.strategies import examples

EXAMPLES_PER_PRIMITIVE = 6


# Two user primitives beside the built-ins: a user forward (not on the fast
# path) with an option, and one whose result is an integer (a constant on
# every path, once recorded with requires_grad=True by the fast path).
@tg.primitive(domain=tg.Domain(("real",), kwargs={"t": (0.5, 2.0)}))
def parity_softclip(x, t=1.0):
    return t * np.tanh(x / t)


@parity_softclip.defvjp
def _parity_softclip_vjp(g, ans, x, t=1.0):
    return (g * (1.0 - (ans / t) ** 2),)


@tg.primitive(domain=tg.Domain(("real",)))
def parity_count_positive(x):
    return np.sum(x > 0)


@parity_count_positive.defvjp
def _parity_count_positive_vjp(g, ans, x):
    return (None,)


PRIMITIVES = {
    **builtin_primitives(),
    "parity_softclip": parity_softclip,
    "parity_count_positive": parity_count_positive,
}
# Entry points that disagree today, each with the failing call; strict, so a
# fix makes the test fail until its line here is removed.
KNOWN_FAILURES: dict[str, str] = {}  # name -> why (strict xfail); none known
NAMESPACES = (("tg", tg), ("tg.linalg", tg.linalg), ("tg.nn.functional", tapegrad.nn.functional))

OPERATORS = {
    "add": operator.add,
    "subtract": operator.sub,
    "multiply": operator.mul,
    "divide": operator.truediv,
    "power": operator.pow,
    "matmul": operator.matmul,
    "remainder": operator.mod,
    "negative": operator.neg,
    "positive": operator.pos,
    "absolute": operator.abs,
    "getitem": operator.getitem,
}


def _setitem_operator(x, index, value):
    # Item assignment rebinds a Tensor; a leaf that requires grad refuses it,
    # so write into a recorded copy (np.copy is the identity primitive).
    target = np.copy(x) if isinstance(x, tg.Tensor) else tg.tensor(x)
    target[index] = value
    return target


OPERATORS["setitem"] = _setitem_operator


# Where the public spelling takes its arguments differently from the primitive:
# name -> call(function, args, kwargs) for the tapegrad function and numpy's.
def _sequence(function, args, kwargs):
    return function(list(args), **kwargs)


def _einsum(function, args, kwargs):
    kwargs = dict(kwargs)
    return function(kwargs.pop("subscripts"), *args, **kwargs)


def _reduced_svd(function, args, kwargs):
    return function(*args, full_matrices=False, **kwargs)


SPELLINGS = {
    "concatenate": _sequence,
    "stack": _sequence,
    "einsum": _einsum,
    "svd": _reduced_svd,
}


def _plain_call(function, args, kwargs):
    return function(*args, **kwargs)


@dataclasses.dataclass
class Entry:
    label: str
    call: object  # (args, kwargs) -> result
    needs_tensor_first: bool = False  # a method: only when the first input is a Tensor


def entry_points(prim):
    """(label, call) for every way to reach ``prim``."""
    entries = [
        Entry("primitive", lambda args, kwargs: prim(*args, **kwargs)),
        Entry("general path", lambda args, kwargs: recorder.record(prim, args, kwargs)),
    ]
    spell = SPELLINGS.get(prim.name, _plain_call)
    public = []
    for label, namespace in NAMESPACES:
        function = getattr(namespace, prim.name, None)
        if callable(function) and function is not prim:
            public.append(function)
            entries.append(Entry(f"{label}.{prim.name}", _bind(spell, function)))
    numpy_functions = {prim.numpy} if prim.numpy is not None else set()
    numpy_functions |= {f for f, h in NUMPY_HANDLERS.items() if h is prim or h in public}
    for function in sorted(numpy_functions, key=_numpy_name):
        entries.append(Entry(_numpy_name(function), _bind(spell, function)))
    if callable(getattr(tg.Tensor, prim.name, None)):
        entries.append(Entry(f"Tensor.{prim.name}", _method(prim), needs_tensor_first=True))
    if prim.name in OPERATORS:
        entries.append(Entry(f"operator ({prim.name})", _bind(_plain_call, OPERATORS[prim.name])))
    return entries


def _bind(spell, function):
    return lambda args, kwargs: spell(function, args, kwargs)


def _method(prim):
    def call(args, kwargs):
        return getattr(args[0], prim.name)(*args[1:], **kwargs)

    return call


def _numpy_name(function):
    module = getattr(function, "__module__", None) or "numpy"
    return f"{module.replace('numpy', 'np', 1)}.{function.__name__}"


def _method_form(prim, args, kwargs):
    """How ndarray takes the call as a method: ``(args, kwargs)`` as given, or with
    the options passed by position (``a.transpose(axes=...)`` is refused, but
    ``a.transpose((1, 0))`` works), or None when it takes neither."""
    method = getattr(np.ndarray, prim.name, None)
    if method is None:
        return args, kwargs  # a tapegrad-only method (none yet)
    positional = [kwargs[n] for n in prim.option_names if n in kwargs]
    forms = [(args, kwargs)]
    if len(positional) == len(kwargs):
        forms.append(((*args, *positional), {}))
    for form_args, form_kwargs in forms:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                method(*form_args, **form_kwargs)
        except TypeError:
            continue
        except Exception:
            pass  # refused for its values: the Tensor method must refuse them too
        return form_args, form_kwargs
    return None


# -- the example's inputs, three ways -----------------------------------------------------


def _float_positions(prim, args):
    limit = len(args) if prim.n_inputs is None else prim.n_inputs
    return [
        i
        for i, a in enumerate(args[:limit])
        if i not in prim.nondiff and isinstance(a, (np.ndarray, np.generic)) and a.dtype.kind == "f"
    ]


def _inputs(prim, args, variant):
    """The example's arguments with its float inputs made Tensors: all requiring
    grad, none requiring grad, or the first left a plain ndarray."""
    positions = _float_positions(prim, args)
    out = list(args)
    for k, i in enumerate(positions):
        if variant == "first-constant" and k == 0:
            continue
        out[i] = tg.tensor(args[i], requires_grad=variant != "no-grad")
    return tuple(out)


VARIANTS = ("requires-grad", "no-grad", "first-constant")


# -- comparing results ----------------------------------------------------------------------


def _outputs(result, what):
    """The Tensors of a result. A public function may return more than its
    primitive: fields without a gradient (slogdet's sign, lstsq's rank) are
    plain values, and are left out here."""
    if isinstance(result, tg.Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [r for r in result if isinstance(r, tg.Tensor)]
    raise AssertionError(
        f"{what} returned {type(result).__name__}, not a Tensor or a tuple of Tensors (if "
        "the public function spells the primitive differently, add it to SPELLINGS)"
    )


def _same(label, reference, result, where):
    ours, theirs = _outputs(result, f"{where}: {label}"), _outputs(reference, where)
    assert len(ours) == len(theirs), f"{where}: {label} returned {len(ours)} outputs"
    for k, (a, b) in enumerate(zip(ours, theirs)):
        what = f"{where}: output {k} of {label}"
        assert a.shape == b.shape, f"{what} has shape {a.shape}, the primitive's {b.shape}"
        assert a.dtype == b.dtype, f"{what} has dtype {a.dtype}, the primitive's {b.dtype}"
        assert a.requires_grad == b.requires_grad, (
            f"{what} has requires_grad={a.requires_grad}, the primitive's {b.requires_grad}"
        )
        np.testing.assert_array_equal(a.data, b.data, err_msg=f"{what}: values differ")
        if a.dtype.kind == "f":
            np.testing.assert_array_equal(
                np.signbit(a.data), np.signbit(b.data), err_msg=f"{what}: signs of zero differ"
            )


def _run(entry, args, kwargs):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return entry.call(args, kwargs)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_FAILURES[n], strict=True))
        if n in KNOWN_FAILURES
        else n
        for n in sorted(PRIMITIVES)
    ],
)
def test_every_entry_point_gives_the_same_result(name):
    prim = PRIMITIVES[name]
    entries = entry_points(prim)
    seen = []

    @settings(
        max_examples=EXAMPLES_PER_PRIMITIVE,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(examples(prim))
    def check(example):
        args, kwargs = example
        for variant in VARIANTS:
            if variant == "first-constant" and len(_float_positions(prim, args)) < 2:
                continue  # no Tensor would be left
            inputs = _inputs(prim, args, variant)
            where = f"{name}, {variant}, example {describe(args, kwargs)}"
            calls = [(e, _call_form(e, prim, args, inputs, kwargs)) for e in entries[1:]]
            calls = [(e, form) for e, form in calls if form is not None]
            try:
                reference = _run(entries[0], inputs, kwargs)
            except Exception:
                # The primitive refuses this input (numpy does too: checked by
                # test_registry); every other entry point must refuse it as well.
                for entry, form in calls:
                    with pytest.raises(Exception):  # noqa: B017
                        _run(entry, *form)
                continue
            for entry, form in calls:
                _same(entry.label, reference, _run(entry, *form), where)
                seen.append(entry.label)

    check()
    # Every entry point but the fast/general pair ran on some example.
    missing = {e.label for e in entries[1:]} - set(seen)
    assert not missing, f"{name}: entry points never exercised: {sorted(missing)}"


def _call_form(entry, prim, args, inputs, kwargs):
    """The (args, kwargs) to call ``entry`` with, or None when it does not apply."""
    if not entry.needs_tensor_first:
        return inputs, kwargs
    if not isinstance(inputs[0], tg.Tensor):
        return None
    form = _method_form(prim, args, kwargs)
    if form is None:
        return None
    form_args, form_kwargs = form
    return (*inputs, *form_args[len(args) :]), form_kwargs


def test_the_table_reaches_the_entry_points_it_should():
    # A sample of what entry_points finds, so that a lookup that silently finds
    # nothing cannot pass the parity test vacuously.
    labels = {name: {e.label for e in entry_points(PRIMITIVES[name])} for name in PRIMITIVES}
    assert {"np.add", "operator (add)"} <= labels["add"]  # (tg.add is the primitive itself)
    assert {"np.max", "np.amax", "Tensor.max"} <= labels["max"]
    assert {"tg.linalg.eigh", "np.linalg.eigh"} <= labels["eigh"]
    assert {"tg.concatenate", "np.concatenate"} <= labels["concatenate"]
    assert {"operator (getitem)", "operator (setitem)", "tg.setitem"} <= (
        labels["getitem"] | labels["setitem"]
    )
    assert "Tensor.reshape" in labels["reshape"] and "np.reshape" in labels["reshape"]
