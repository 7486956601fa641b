"""Primitive: a numpy forward, its rules, its test domain and its flags. Plain data.

Calling a primitive records it (``recorder.record``); backward calls its
VJP rule (``backward.py``). Everything is decided at registration, so the
engine never inspects a rule's signature.

The rule contract:

- ``vjp(g, ans, *inputs, **options) -> tuple`` with one cotangent per
  positional input (None for "no gradient"). ``g`` and ``ans`` are one array
  each, or for a primitive with several outputs one tuple each (an entry of
  ``g`` is None where that output did not reach the loss).
- Registered with ``defvjp(needs_grad=True)``, the rule also receives
  ``needs_grad=(bool, ...)``, one per input, and may return None for inputs
  that need no gradient (the constant operand of a matmul).
- ``jvp(tangents, ans, *inputs, **options) -> output tangent`` (forward mode;
  ``tangents`` has one entry per input, None for a zero tangent; a tuple of
  tangents for several outputs). Optional: a ``linear`` primitive is its own
  JVP, an ``elementwise`` one uses its VJP rule on the tangent, and any
  other gets the transpose of its VJP (``forward_mode.py``).
"""

from __future__ import annotations

import inspect
import types

from . import recorder

_REGISTRY: dict[str, Primitive] = {}

# numpy callables (functions and ufuncs) -> implementation taking Tensors.
NUMPY_HANDLERS: dict = {}
# numpy functions that never carry a gradient: on Tensors they return plain arrays.
NUMPY_NONDIFFERENTIABLE: set = set()


class Primitive:
    """A differentiable operation: ``fun`` runs on ndarrays, ``vjp`` is its rule."""

    def __init__(
        self,
        fun,
        *,
        name=None,
        domain=None,
        nondiff=(),
        elementwise=False,
        zero_preserving=False,
        residuals=False,
        numpy=None,
        linear=False,
        real_only=False,
    ):
        self.fun = fun
        self.n_inputs, self.option_names = _split_signature(fun)
        self.name = name or fun.__name__
        self.vjp = None
        self.vjp_needs_grad = False
        self.jvp = None
        self.domain = domain
        self.nondiff = frozenset(nondiff)
        self.elementwise = elementwise
        # The engine's NaN probe (backward.py) is pointless for a rule that
        # maps a zero cotangent to exactly zero whatever the inputs are (add:
        # g; where: a selection of g).
        self.probes_nan = elementwise and not zero_preserving
        self.residuals = residuals
        # A rule derived for real inputs only: recording it on complex inputs
        # raises (recorder.finish) instead of giving a wrong gradient.
        self.real_only = real_only
        self.numpy = numpy
        # Linear in all its differentiable inputs jointly (reshape, sum, add):
        # forward mode applies the forward itself to the tangents.
        self.linear = linear
        # Only numpy's and our own forwards may see the saved arrays writeable:
        # a user's forward gets read-only views, so it cannot change the tape.
        module = getattr(fun, "__module__", None) or ""
        self.trusted = module.startswith(("tapegrad.", "numpy")) or isinstance(fun, _ufunc)
        # The operators' fast paths (recorder.make_unary/make_binary) skip the
        # general bookkeeping: only for plain forwards of our own. (A real_only
        # rule may have a real result from a complex input: record() checks.)
        self.fast = self.trusted and not nondiff and not residuals and not real_only
        # help(tg.tanh) shows the forward's own doc and signature.
        self.__doc__ = fun.__doc__
        self.__wrapped__ = fun
        self.__name__ = self.name
        self.__qualname__ = getattr(fun, "__qualname__", self.name)
        self.__module__ = module or None
        # Fast paths (recorder.py): plain functions closed over this
        # primitive, so that Tensor.__mul__ can be the function itself.
        self.unary = recorder.make_unary(self)
        self.binary = recorder.make_binary(self)

    def __repr__(self):
        return f"<tapegrad primitive {self.name}>"

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs:
            return self.unary(args[0])  # tg.tanh(x): the common case, fast
        return recorder.record(self, args, kwargs)

    def __get__(self, instance, owner=None):
        # Bound like a function (so a primitive can be a method), which also
        # makes help(tg.tanh) show the forward's signature and doc.
        return self if instance is None else types.MethodType(self, instance)

    def defvjp(self, rule=None, *, needs_grad=False):
        """Register the VJP rule (see the module docstring); also a decorator.

        ``@p.defvjp`` or ``@p.defvjp(needs_grad=True)``. Returns the rule.
        """
        if rule is None:
            return lambda r: self.defvjp(r, needs_grad=needs_grad)
        self.vjp = rule
        self.vjp_needs_grad = needs_grad
        return rule

    def defjvp(self, rule):
        """Register the forward-mode rule (see the module docstring); also a decorator."""
        self.jvp = rule
        return rule

    def deflinear(self):
        """Declare the forward linear in its differentiable inputs: it is its own JVP."""
        self.linear = True
        return self


_ufunc = type(__import__("numpy").add)


def _split_signature(fun):
    """(number of inputs, names of positional options) of a forward function.

    Inputs are the leading positional parameters without defaults; those with
    defaults are options. A forward taking ``*arrays`` has any number of inputs.
    """
    if isinstance(fun, _ufunc):
        return fun.nin, ()
    try:
        parameters = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return None, ()
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return None, ()
    names = [p for p in parameters if p.kind in positional]
    inputs = [p for p in names if p.default is inspect.Parameter.empty]
    return len(inputs), tuple(p.name for p in names[len(inputs) :])


def primitive(fun=None, **options):
    """Register ``fun`` (a function of ndarrays) as a primitive.

    Options: ``domain`` (a :class:`tapegrad.Domain`, used by tapegrad.testing),
    ``nondiff`` (positions of inputs that never get a gradient: indices, axes,
    flags), ``elementwise`` (output element i depends only on input element i,
    after broadcasting; the engine then makes a zero cotangent contribute
    exactly zero), ``zero_preserving`` (an elementwise rule that already does:
    it returns g or a selection of g), ``residuals`` (``fun`` returns ``(ans,
    residuals)`` and the rule gets ``residuals=``: None when it must rebuild
    them from Tensor inputs under ``create_graph``), ``numpy`` (numpy
    callables that dispatch here when given Tensors), ``linear`` (linear in
    all its differentiable inputs jointly, so forward mode applies ``fun``
    to the tangents), ``real_only`` (the rule is derived for real inputs:
    recording it on a complex input raises), ``name``.

    ``fun`` may return a tuple of arrays: the primitive then has several
    outputs, and its rule gets one cotangent per output.
    """
    if fun is None:
        return lambda f: primitive(f, **options)
    numpy_funcs = options.pop("numpy", None)
    prim = Primitive(fun, **options)
    _register(prim)
    if numpy_funcs is not None:
        if not isinstance(numpy_funcs, (tuple, list)):
            numpy_funcs = (numpy_funcs,)
        prim.numpy = numpy_funcs[0]
        for f in numpy_funcs:
            NUMPY_HANDLERS[f] = prim
        if not prim.__doc__:  # help(tg.sum) points at numpy's documentation
            name = getattr(prim.numpy, "__name__", prim.name)
            module = getattr(prim.numpy, "__module__", None) or "numpy"
            prim.__doc__ = (
                f"``{module}.{name}`` on Tensors, recorded on the tape; see "
                f"``help({module}.{name})`` for the arguments."
            )
    return prim


def _register(prim):
    key = prim.name
    existing = _REGISTRY.get(key)
    if existing is not None and (existing.__module__, existing.__qualname__) != (
        prim.__module__,
        prim.__qualname__,
    ):
        # Two different functions share a short name (a user's softplus and
        # ours): keep both, the later one under its qualified name.
        key = f"{prim.__module__}.{prim.__qualname__}"
        prim.name = key
    _REGISTRY[key] = prim


def primitives() -> dict[str, Primitive]:
    """Every registered primitive, by name (sorted)."""
    return dict(sorted(_REGISTRY.items()))


def implements(*numpy_funcs):
    """Route numpy functions called on Tensors to the decorated function.

    For composites (``np.mean`` written with sum and divide): the function is
    built from primitives, so it needs no rule of its own.
    """

    def register(fun):
        for f in numpy_funcs:
            NUMPY_HANDLERS[f] = fun
        return fun

    return register


def nondifferentiable(*numpy_funcs):
    """numpy functions whose result never carries a gradient (argmax, floor, ...)."""
    NUMPY_NONDIFFERENTIABLE.update(numpy_funcs)
