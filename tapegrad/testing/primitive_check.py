"""check_primitive: property-test one primitive from its declared Domain.

For each example hypothesis draws from the domain:

* the forward runs and does not write into its inputs;
* it agrees with the numpy reference (``domain.reference`` or the numpy
  function the primitive was registered for), in values, shape and dtype;
* float32 in gives float32 out (unless the primitive takes a dtype argument);
* on an example with elements, the output is finite, and first (and, up to
  ``domain.order``, second) derivatives agree with finite differences
  (:func:`check_grads`); on a size-0 example only cotangent shapes and dtypes
  are checked, since there is nothing to difference;
* forward mode (the JVP rule, or the route forward mode takes without one)
  agrees with differences along a random tangent and with the VJP rule
  (``<v, J t> == <J^T v, t>``), at first order.

A failure raises :class:`PrimitiveCheckError` (an AssertionError) for the
smallest example hypothesis can shrink to, naming the primitive, the check
that failed and the example.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib
import pkgutil
import warnings

import numpy as np

from ..core.primitive import Primitive, primitives
from ..core.tensor import Tensor
from ..forward_mode import jvp
from ..transforms import vjp
from ._extra import hypothesis_is_missing, needs_hypothesis
from .gradcheck import check_grads, error_text
from .strategies import DomainError, examples, input_spec

try:
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed
except ImportError as error:
    if not hypothesis_is_missing(error):
        raise
    raise needs_hypothesis(__name__) from None

DEFAULT_MAX_EXAMPLES = 25
# Forward vs numpy reference: (rtol, atol relative to the largest value).
REFERENCE_TOLERANCES = {np.dtype(np.float32): 1e-4, np.dtype(np.float16): 1e-2}
REFERENCE_RTOL = 1e-6
# Modules outside ``import tapegrad`` that register built-in primitives.
OPTIONAL_MODULES = (
    "tapegrad.nn.functional",
    "tapegrad.nn.layers",
    "tapegrad.linalg",
    "tapegrad.scipy",
)
# Optional extras those modules need: a missing one skips the module.
OPTIONAL_DEPENDENCIES = ("scipy",)


class PrimitiveCheckError(AssertionError):
    """A primitive failed its property test.

    ``primitive`` (name), ``check`` (what failed: 'domain', 'forward',
    'reference', 'dtype', 'mutation', 'gradient', 'jvp'), ``args`` and ``kwargs`` of
    the (shrunk) failing example, and ``report`` (a :class:`PrimitiveReport`).
    """

    def __init__(self, message, primitive=None, check=None, example=None):
        super().__init__(message)
        self.primitive = primitive
        self.check = check
        self.example_args, self.example_kwargs = example if example is not None else ((), {})
        self.report = None


@dataclasses.dataclass
class PrimitiveReport:
    """What ``check_primitive`` saw: examples run and the worst relative errors."""

    name: str
    order: int = 2
    examples: int = 0
    rejected: int = 0  # examples the forward and its numpy reference both refused
    worst: dict = dataclasses.field(default_factory=dict)  # order -> worst relative error
    failure: str | None = None

    @property
    def passed(self):
        return self.failure is None


def check_primitive(prim, max_examples=DEFAULT_MAX_EXAMPLES, *, order=None, seed=None, dtypes=None):
    """Property-test ``prim`` on examples drawn from its Domain; AssertionError on a fault.

    ``order`` (default ``domain.order``) is the highest derivative checked;
    ``seed`` makes the run reproducible; ``dtypes`` restricts the float dtypes.
    Works on registered and unregistered primitives alike. Returns a
    :class:`PrimitiveReport`.
    """
    if not isinstance(prim, Primitive):
        raise TypeError(f"check_primitive expects a tapegrad Primitive, got {prim!r}")
    try:
        spec = input_spec(prim)
    except DomainError as error:
        raise PrimitiveCheckError(f"{prim.name}: {error}", prim.name, "domain") from error
    if dtypes is not None:
        spec = dataclasses.replace(spec, dtypes=tuple(dtypes))
    order = spec.domain.order if order is None else order
    report = PrimitiveReport(prim.name, order=order)

    def check_example(example):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # numpy's own warnings (mean of an empty slice) are not failures;
            # non-finite results are judged explicitly.
            warnings.simplefilter("ignore", RuntimeWarning)
            _check_example(prim, spec, example, order, report)

    test = given(examples(spec))(check_example)
    test = settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        verbosity=Verbosity.quiet,
    )(test)
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    try:
        test()
    except PrimitiveCheckError as error:
        report.failure = str(error)
        error.report = report
        raise
    except Exception as error:
        # An error outside the checks: the Domain's sample hook, or hypothesis itself.
        report.failure = f"{prim.name}: drawing examples failed: {error_text(error)}"
        failure = PrimitiveCheckError(report.failure, prim.name, "domain")
        failure.report = report
        raise failure from error
    if report.examples == 0 and report.rejected > 0:
        report.failure = (
            f"{prim.name}: the forward and its numpy reference refused all {report.rejected} "
            "examples drawn from the Domain; nothing was tested. Narrow the Domain."
        )
        failure = PrimitiveCheckError(report.failure, prim.name, "domain")
        failure.report = report
        raise failure
    return report


def primitive_test(prim, max_examples=DEFAULT_MAX_EXAMPLES, **options):
    """A pytest test function for ``prim``: ``test_softplus = primitive_test(softplus)``."""

    def test():
        check_primitive(prim, max_examples, **options)

    test.__name__ = f"test_{prim.name}"
    test.__qualname__ = test.__name__
    test.__doc__ = f"Property test of the primitive {prim.name!r} from its Domain."
    return test


# -- one example ---------------------------------------------------------------


def _check_example(prim, spec, example, order, report):
    args, kwargs = example
    names = spec.input_names

    def fail(check, message):
        raise PrimitiveCheckError(
            f"{prim.name}: {message}\n  example: {describe(args, kwargs, names)}",
            prim.name,
            check,
            example,
        )

    reference = spec.domain.reference or prim.numpy
    snapshot = copy.deepcopy(args)
    try:
        out = prim(*args, **kwargs)
    except Exception as error:
        if reference is not None and _raises(reference, args, kwargs):
            report.rejected += 1  # numpy refuses this input too (max of nothing, ...)
            return
        if "read-only" in str(error) and isinstance(error, ValueError):
            # The engine hands a user's forward read-only views of its inputs;
            # run the bare forward on writeable copies to say which it wrote.
            writeable = copy.deepcopy(args)
            with contextlib.suppress(Exception):
                prim.fun(*writeable, **kwargs)
            changed = _first_difference(snapshot, writeable)
            which = "an input" if changed is None else f"its input {_name(names, changed)}"
            fail("mutation", f"the forward wrote into {which} in place")
        fail("forward", f"the forward raised {error_text(error)}")
    changed = _first_difference(snapshot, args)
    if changed is not None:
        fail("mutation", f"the forward wrote into its input {_name(names, changed)} in place")
    if isinstance(out, (tuple, list)):
        _check_outputs(prim, spec, args, kwargs, names, out, reference, order, report, fail)
        return
    out = out._data if isinstance(out, Tensor) else np.asarray(out)

    diff = differentiable_positions(prim, args)
    if reference is not None:
        _check_reference(prim, reference, args, kwargs, out, spec.domain, fail)
    elif diff and out.dtype.kind == "f" and not _takes_dtype(args, kwargs, names):
        expected = np.result_type(*[args[i] for i in diff])
        if out.dtype != expected:
            fail(
                "dtype",
                f"the forward returned dtype {out.dtype} for {expected} inputs; "
                "the output dtype must follow the input dtype",
            )
    if not diff or out.dtype.kind != "f":
        report.examples += 1
        return
    if prim.vjp is None:
        fail("gradient", "no VJP rule registered (use @prim.defvjp)")

    def forward(*values):
        full = list(args)
        for i, value in zip(diff, values):
            full[i] = value
        return prim(*full, **kwargs)

    values = [args[i] for i in diff]
    argnames = [_name(names, i) for i in diff]
    if out.size == 0 or any(v.size == 0 for v in values):
        # Nothing to difference; the cotangents (and the output's tangent)
        # must still fit.
        _check_cotangent_types(forward, values, out, argnames, fail)
        _check_tangent_type(forward, values, out, fail)
        report.examples += 1
        return
    if not np.all(np.isfinite(out)):
        if reference is not None:
            report.rejected += 1  # numpy gives NaN here too (a variance of one element)
            return
        fail(
            "forward",
            "the forward returned non-finite values on an example from its Domain; "
            "narrow the Domain (a value kind such as 'positive' or 'unit') or fix the forward",
        )
    _check_derivatives(prim, spec, forward, values, argnames, order, report, fail)


def _check_outputs(prim, spec, args, kwargs, names, outs, reference, order, report, fail):
    """A primitive with several outputs: each against numpy, then the rule through a
    weighted sum of a rotating subset of the outputs (so the rule also meets None
    cotangents, for outputs that do not reach the loss)."""
    arrays = [o._data if isinstance(o, Tensor) else np.asarray(o) for o in outs]
    if reference is not None:
        try:
            expected = reference(*args, **kwargs)
        except Exception as error:
            fail("reference", f"numpy's {_callable_name(reference)} raised {error_text(error)}")
        if len(expected) != len(arrays):
            fail(
                "reference",
                f"the forward returned {len(arrays)} outputs, numpy gives {len(expected)}",
            )
        for array, want in zip(arrays, expected):
            _check_reference(
                prim, lambda *a, want=want, **k: want, args, kwargs, array, spec.domain, fail
            )
    diff = differentiable_positions(prim, args)
    floats = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    if not diff or not floats:
        report.examples += 1
        return
    if prim.vjp is None:
        fail("gradient", "no VJP rule registered (use @prim.defvjp)")
    subsets = [[i] for i in floats] + [floats]
    chosen = subsets[report.examples % len(subsets)]
    weights = {i: np.linspace(0.5, 1.5, arrays[i].size).reshape(arrays[i].shape) for i in chosen}

    def forward(*values):
        full = list(args)
        for i, value in zip(diff, values):
            full[i] = value
        results = prim(*full, **kwargs)
        return sum(np.sum(results[i] * weights[i].astype(arrays[i].dtype)) for i in chosen)

    values = [args[i] for i in diff]
    if any(v.size == 0 for v in values) or any(arrays[i].size == 0 for i in chosen):
        report.examples += 1
        return
    argnames = [_name(names, i) for i in diff]
    prefix = f"outputs {chosen}: "
    _check_derivatives(prim, spec, forward, values, argnames, order, report, fail, prefix)


def _check_derivatives(prim, spec, forward, values, argnames, order, report, fail, prefix=""):
    """check_grads on one example; a failure is the 'gradient' or 'jvp' check.

    Forward mode is checked at first order (the JVP rule, or its fallback,
    against differences and against the VJP by the dot-product test): a
    second-order forward check would only repeat other primitives' rules.
    """
    try:
        worst = check_grads(
            forward,
            *values,
            order=order,
            rtol=spec.domain.rtol,
            atol=spec.domain.atol,
            name=prim.name,
            argnames=argnames,
            modes=("rev", "fwd"),
            fwd_order=1,
        )
    except AssertionError as error:
        message = str(error).removeprefix(f"{prim.name}: ")
        fail("jvp" if "forward-mode" in message else "gradient", prefix + message)
    except Exception as error:
        fail("gradient", f"checking derivatives raised {error_text(error)}")
    report.examples += 1
    for k, value in worst.items():
        report.worst[k] = max(report.worst.get(k, 0.0), value)


def _check_reference(prim, reference, args, kwargs, out, domain, fail):
    try:
        expected = np.asarray(reference(*args, **kwargs))
    except Exception as error:
        fail(
            "reference",
            f"the forward succeeded but its numpy reference {_callable_name(reference)} "
            f"raised {error_text(error)}",
        )
    if expected.shape != out.shape:
        fail(
            "reference",
            f"the forward returned shape {out.shape}, numpy's {_callable_name(reference)} "
            f"gives {expected.shape}",
        )
    if expected.dtype != out.dtype and (out.dtype.kind == "f" or expected.dtype.kind == "f"):
        fail(
            "dtype",
            f"the forward returned dtype {out.dtype}, numpy's {_callable_name(reference)} "
            f"gives {expected.dtype}: the output dtype must follow the input dtype",
        )
    if out.dtype.kind not in "fc" or out.size == 0:
        if not np.array_equal(out, expected):
            fail("reference", f"the forward disagrees with {_callable_name(reference)}")
        return
    rtol = REFERENCE_TOLERANCES.get(out.dtype, REFERENCE_RTOL)
    rtol = max(rtol, domain.rtol or 0.0)
    finite = np.abs(expected[np.isfinite(expected)])
    atol = rtol * (float(finite.max()) if finite.size else 0.0) + (domain.atol or 0.0)
    if not np.allclose(out, expected, rtol=rtol, atol=atol, equal_nan=True):
        error = np.abs(out.astype(np.float64) - expected)
        where = np.unravel_index(int(np.nanargmax(error)), out.shape) if out.ndim else ()
        fail(
            "reference",
            f"the forward disagrees with numpy's {_callable_name(reference)}: at "
            f"{tuple(int(i) for i in where)} it gives {out[where]!r}, numpy gives "
            f"{expected[where]!r} (rtol={rtol:.0e})",
        )


def _check_cotangent_types(forward, values, out, argnames, fail):
    try:
        _, vjp_fn = vjp(forward, *values)
        cotangents = vjp_fn(np.ones(out.shape, dtype=out.dtype))
    except Exception as error:
        fail("gradient", f"the backward pass raised {error_text(error)}")
    for value, ct, label in zip(values, cotangents, argnames):
        ct = ct._data if isinstance(ct, Tensor) else np.asarray(ct)
        if ct.shape != value.shape or ct.dtype != value.dtype:
            fail(
                "gradient",
                f"the cotangent of input {label} has shape {ct.shape} and dtype {ct.dtype}; "
                f"the input has shape {value.shape} and dtype {value.dtype}",
            )


def _check_tangent_type(forward, values, out, fail):
    try:
        _, t_out = jvp(forward, tuple(values), tuple(np.zeros_like(v) for v in values))
    except Exception as error:
        fail("jvp", f"forward mode raised {error_text(error)}")
    t_out = t_out._data if isinstance(t_out, Tensor) else np.asarray(t_out)
    if t_out.shape != out.shape or t_out.dtype != out.dtype:
        fail(
            "jvp",
            f"the output's tangent has shape {t_out.shape} and dtype {t_out.dtype}; "
            f"the output has shape {out.shape} and dtype {out.dtype}",
        )


def differentiable_positions(prim, args):
    """Positions of the floating point array inputs a gradient can flow to."""
    limit = len(args) if prim.n_inputs is None else prim.n_inputs
    return [
        i
        for i, a in enumerate(args[:limit])
        if i not in prim.nondiff and isinstance(a, np.ndarray) and a.dtype.kind == "f"
    ]


def _takes_dtype(args, kwargs, names):
    # astype-like primitives choose their output dtype.
    if "dtype" in kwargs or "dtype" in names[: len(args)]:
        return True
    return any(_is_dtype(v) for v in (*args, *kwargs.values()))


def _is_dtype(value):
    return isinstance(value, np.dtype) or (
        isinstance(value, type) and issubclass(value, np.generic)
    )


def _raises(fun, args, kwargs):
    try:
        fun(*args, **kwargs)
    except Exception:
        return True
    return False


def _first_difference(before, after):
    """Position of the first argument that differs from its snapshot, or None."""
    for i, (b, a) in enumerate(zip(before, after)):
        if not _same(b, a):
            return i
    return None


def _same(b, a):
    if isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(b, a))
    # Scalars cannot be written in place; a dict is a state container the
    # forward may update by design (the running averages in bn_param).
    return True


def _name(names, i):
    return f"{i} ({names[i]})" if i < len(names) else str(i)


def _callable_name(fun):
    module = getattr(fun, "__module__", None) or ""
    name = getattr(fun, "__name__", repr(fun))
    if isinstance(fun, np.ufunc) or module.startswith("numpy"):
        return f"np.{name}"
    return name


def describe(args, kwargs, names=()):
    """A short, readable rendering of an example (small arrays in full)."""
    parts = [f"{names[i] if i < len(names) else f'arg{i}'}={_short(a)}" for i, a in enumerate(args)]
    parts += [f"{k}={_short(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _short(value):
    if isinstance(value, np.ndarray):
        if 0 < value.size <= 8:
            body = " ".join(np.array2string(value, separator=", ", precision=6).split())
            return f"array({body}, dtype={value.dtype})"
        return f"<{value.dtype} array of shape {value.shape}>"
    if isinstance(value, tuple):
        inner = ", ".join(_short(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return repr(value)


# -- the registry ----------------------------------------------------------------


def import_builtins():
    """Import every tapegrad module that registers primitives (missing ones are skipped)."""
    import tapegrad.ops

    for info in pkgutil.iter_modules(tapegrad.ops.__path__, "tapegrad.ops."):
        importlib.import_module(info.name)
    for name in OPTIONAL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            # Only a missing module itself (or its optional extra) is fine; a
            # broken import inside it is not.
            missing = error.name or ""
            if not missing or not (
                name.startswith(missing) or missing.split(".")[0] in OPTIONAL_DEPENDENCIES
            ):
                raise


def builtin_primitives():
    """The primitives tapegrad itself registers, by name."""
    import_builtins()
    return {
        name: prim
        for name, prim in primitives().items()
        if (prim.__module__ or "").startswith("tapegrad.")
        and not prim.__module__.startswith("tapegrad.testing")
    }
