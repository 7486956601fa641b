"""Primitives: a numpy forward, its VJP rule and its test domain, registered once.

The engine does the chores so that a rule is only the math: it unbroadcasts
cotangents back to each input's shape, casts them to the input's dtype, skips
``None`` ("no gradient"), validates what a rule returns, and for elementwise
primitives makes a zero cotangent contribute exactly zero (see
``fit_cotangent``).
"""

from __future__ import annotations

import inspect

import numpy as np

from .domain import Domain
from .tape import Node, _add_note, _has_nan, grad_mode
from .tensor import Tensor, _new_tensor

_REGISTRY: dict[str, Primitive] = {}
# Shared by every node recorded without options; never mutated.
_NO_OPTIONS: dict = {}

# numpy callables (functions and ufuncs) -> implementation taking Tensors.
NUMPY_HANDLERS: dict = {}
# numpy functions that never carry a gradient: on Tensors they return plain arrays.
NUMPY_NONDIFFERENTIABLE: set = set()


class Primitive:
    """A differentiable operation: ``fun`` runs on ndarrays, ``vjp`` is its rule.

    Calling a primitive unwraps Tensor arguments, runs ``fun`` and, when some
    differentiable input requires grad and grad mode is on, records a node.
    """

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
    ):
        self.fun = fun
        self.n_inputs, self.option_names = _split_signature(fun)
        self.name = name or fun.__name__
        self.vjp = None
        self.rule_takes_needs = False
        # unary() skips the general bookkeeping: only for plain one-input forwards.
        self.unary_ok = not nondiff and not residuals
        self.domain = domain
        self.nondiff = frozenset(nondiff)
        self.elementwise = elementwise
        # The engine's NaN probe (see fit_cotangent) is pointless for a rule
        # that maps a zero cotangent to exactly zero whatever the inputs are
        # (add: g; where: a selection of g).
        self.probes_nan = elementwise and not zero_preserving
        self.residuals = residuals
        self.numpy = numpy
        self.__doc__ = fun.__doc__
        self.__wrapped__ = fun
        self.__name__ = self.name
        self.__qualname__ = getattr(fun, "__qualname__", self.name)
        self.__module__ = getattr(fun, "__module__", None)
        # Fast paths for operators and one-argument calls: plain functions
        # closed over this primitive, so Tensor.__mul__ can be the function
        # itself (no extra frame).
        self.unary = _make_unary(self)
        self.binary = _make_binary(self)

    def __repr__(self):
        return f"<tapegrad primitive {self.name}>"

    def defvjp(self, rule):
        """Register ``rule(g, ans, *inputs, **kwargs) -> tuple of cotangents``.

        A rule that declares a keyword parameter ``needs_grad`` receives a
        tuple of bools, one per input, and may return None for inputs that
        need no gradient (a constant operand of a matmul). Returns the rule,
        so it can be used as a decorator.
        """
        self.vjp = rule
        try:
            self.rule_takes_needs = "needs_grad" in inspect.signature(rule).parameters
        except (TypeError, ValueError):
            self.rule_takes_needs = False
        return rule

    # -- the hot path: forward --------------------------------------------

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and self.unary_ok and type(args[0]) is Tensor:
            return self.unary(args[0])  # tg.tanh(x): the common case, fast
        if self.n_inputs is not None and len(args) > self.n_inputs:
            args, kwargs = self._options_by_name(args, kwargs)
        values = list(args)
        parents = [None] * len(args)
        recording = False
        writeable_constants = None
        nondiff = self.nondiff
        for i, arg in enumerate(args):
            if isinstance(arg, Tensor):
                values[i] = arg._data
                if arg._node is not None and i not in nondiff:
                    parents[i] = arg._node
                    recording = True
            elif type(arg) is np.ndarray and arg.flags.writeable:
                # The caller may change this array later (handled below).
                if writeable_constants is None:
                    writeable_constants = []
                writeable_constants.append(i)
        recording = recording and grad_mode.enabled
        if recording and writeable_constants is not None:
            # A rule may save this array; copy it so that a later in-place
            # change by the caller cannot alter the gradient.
            for i in writeable_constants:
                values[i] = values[i].copy()
        try:
            if self.residuals:
                ans, residuals = self.fun(*values, **kwargs)
            else:
                ans, residuals = self.fun(*values, **kwargs), None
        except Exception as error:
            self._name_in(error, values)
            raise
        if type(ans) is not np.ndarray:
            ans = np.asarray(ans)
        if not recording or ans.dtype.kind != "f":
            # An integer or bool result (a cast, a dtype= option) is a
            # constant: rounding has no gradient, and int tensors carry none.
            if writeable_constants is not None and ans.base is not None:
                ans = ans.copy()  # a view of caller memory must not back a Tensor
            return _new_tensor(ans, None)
        if self.vjp is None:
            self._missing_rule()
        node = Node(self, tuple(parents), tuple(values), kwargs, ans, residuals)
        return _new_tensor(ans, node)

    def _name_in(self, error, values):
        # numpy's message often names no operation ("operands could not be
        # broadcast together"); say which primitive and which input shapes.
        shapes = ", ".join(str(np.shape(v)) for v in values)
        _add_note(
            error,
            f"(in the forward of tapegrad primitive {self.name!r}, inputs of shapes {shapes})",
        )

    def _missing_rule(self):
        raise NotImplementedError(
            f"primitive {self.name!r} has no VJP rule: register one with "
            f"@{self.name}.defvjp before differentiating through it"
        )

    def _options_by_name(self, args, kwargs):
        # np.sum(x, 0) passes axis positionally; the rule must see it as an
        # option (a keyword), not as an input that needs a cotangent.
        n = self.n_inputs
        kwargs = dict(kwargs)
        for name, value in zip(self.option_names, args[n:], strict=False):
            if name in kwargs:
                raise TypeError(f"{self.name}() got multiple values for argument {name!r}")
            kwargs[name] = value
        if len(args) - n > len(self.option_names):
            raise TypeError(
                f"{self.name}() takes at most {n + len(self.option_names)} positional "
                f"arguments ({len(args)} given)"
            )
        return args[:n], kwargs

    # -- the engine's side of backward --------------------------------------

    def call_vjp(self, g, ans, values, kwargs, residuals, parents=None):
        if self.rule_takes_needs:
            needs = tuple(p is not None for p in parents) if parents else (True,) * len(values)
            kwargs = {**kwargs, "needs_grad": needs}
        if self.residuals:
            cts = self.vjp(g, ans, *values, residuals=residuals, **kwargs)
        elif kwargs:
            cts = self.vjp(g, ans, *values, **kwargs)
        else:
            cts = self.vjp(g, ans, *values)
        if type(cts) is not tuple or len(cts) != len(values):
            got = type(cts).__name__ if type(cts) is not tuple else f"{len(cts)} cotangents"
            raise TypeError(
                f"the VJP rule of {self.name!r} must return a tuple of {len(values)} "
                f"cotangents (one per positional input, None for no gradient); got {got}"
            )
        return cts

    def fit_cotangent(self, ct, g, value):
        """Make ``ct`` match ``value`` in shape and dtype, or raise naming the rule."""
        if type(ct) is Tensor and ct._node is None:
            # A constant Tensor (a primitive called inside a first-order
            # rule): its array is the cotangent.
            ct = ct._data
        if type(ct) is Tensor:
            ct_data = ct._data
        else:
            if type(ct) is not np.ndarray:
                ct = np.asarray(ct)
            ct_data = ct
        if self.probes_nan and ct_data.shape == np.shape(g):
            ct = _zero_where_unused(ct, ct_data, g)
        shape = np.shape(value)
        if ct_data.shape != shape:
            ct = _unbroadcast(ct, ct_data.shape, shape, self.name)
        dtype = _float_dtype(value)
        if ct_data.dtype != dtype:
            if ct_data.dtype.kind != "f":
                raise TypeError(
                    f"the VJP rule of {self.name!r} returned a cotangent of dtype "
                    f"{ct_data.dtype} for an input of dtype {np.result_type(value)}; "
                    "cotangents must be real floating point"
                )
            ct = ct.astype(dtype)
        return ct


def _make_unary(prim):
    def unary(x):
        """``prim(x)`` for a Tensor ``x`` and no options (``tg.tanh(x)``, ``-x``)."""
        if type(x) is not Tensor:
            return prim(x)
        try:
            ans = prim.fun(x._data)
        except Exception as error:
            prim._name_in(error, (x._data,))
            raise
        if type(ans) is not np.ndarray:
            ans = np.asarray(ans)
        node = x._node
        out = object.__new__(Tensor)  # _new_tensor, inlined on the hot path
        out._data, out.grad = ans, None
        if node is None or not grad_mode.enabled:
            out._node = None
        else:
            if prim.vjp is None:
                prim._missing_rule()
            out._node = Node(prim, (node,), (x._data,), _NO_OPTIONS, ans)
        return out

    return unary


def _make_binary(prim):
    ndarray = np.ndarray

    def binary(x, y):
        """``prim(x, y)`` for Tensor, ndarray or Python-number operands (``x * 2.0``).

        Only for primitives whose result is a new array (the operators'
        ufuncs and matmul), never a view of an operand.
        """
        tx, ty = type(x), type(y)
        if tx is Tensor:
            x_value, x_node = x._data, x._node
        elif tx is float or tx is int or tx is ndarray:
            x_value, x_node = x, None
        else:
            return prim(x, y)
        if ty is Tensor:
            y_value, y_node = y._data, y._node
        elif ty is float or ty is int or ty is ndarray:
            y_value, y_node = y, None
        else:
            return prim(x, y)
        recording = (x_node is not None or y_node is not None) and grad_mode.enabled
        if recording:
            # A writeable ndarray operand may be saved by the rule: copy it,
            # so that the caller changing it later cannot alter the gradient.
            if tx is ndarray and x.flags.writeable:
                x_value = x.copy()
            if ty is ndarray and y.flags.writeable:
                y_value = y.copy()
        try:
            ans = prim.fun(x_value, y_value)
        except Exception as error:
            prim._name_in(error, (x_value, y_value))
            raise
        if type(ans) is not np.ndarray:
            ans = np.asarray(ans)
        out = object.__new__(Tensor)  # _new_tensor, inlined on the hot path
        out._data, out.grad = ans, None
        if not recording:
            out._node = None
        else:
            if prim.vjp is None:
                prim._missing_rule()
            out._node = Node(prim, (x_node, y_node), (x_value, y_value), _NO_OPTIONS, ans)
        return out

    return binary


def _split_signature(fun):
    """(number of inputs, names of positional options) of a forward function.

    Inputs are the leading positional parameters without defaults; those with
    defaults are options. A forward taking ``*arrays`` has any number of inputs.
    """
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


def _float_dtype(value):
    dtype = value.dtype if type(value) is np.ndarray else np.result_type(value)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _zero_where_unused(ct, ct_data, g):
    """A zero cotangent means "this element does not reach the loss".

    Its contribution is exactly zero even where the local partial is infinite
    or NaN (sqrt at 0 under a mask, log of 0 in an unselected where-branch).
    """
    if not _has_nan(ct_data):
        return ct
    g_data = g._data if type(g) is Tensor else g
    return np.where(g_data == 0, 0.0, ct).astype(ct_data.dtype, copy=False)


def _unbroadcast(ct, ct_shape, shape, name):
    """Sum a cotangent of a broadcast shape back to the input's ``shape``."""
    lead = len(ct_shape) - len(shape)
    if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, ct_shape[lead:], strict=True)):
        raise ValueError(
            f"the VJP rule of {name!r} returned a cotangent of shape {ct_shape} "
            f"for an input of shape {shape}; it must be that shape or broadcast to it"
        )
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and ct_shape[lead + i] != 1
    )
    if axes:
        ct = np.sum(ct, axis=axes)
        if type(ct) is not Tensor and type(ct) is not np.ndarray:
            ct = np.asarray(ct)  # a full reduction gives a numpy scalar
    if np.shape(ct) != shape:
        ct = np.reshape(ct, shape)
    return ct


def primitive(fun=None, **options):
    """Register ``fun`` (a function of ndarrays) as a primitive.

    Options: ``domain`` (a :class:`tapegrad.Domain`, used by tapegrad.testing),
    ``nondiff`` (positions of inputs that never get a gradient: indices, axes,
    flags), ``elementwise`` (output element i depends only on input element i,
    after broadcasting; the engine then makes a zero cotangent contribute
    exactly zero), ``zero_preserving`` (an elementwise rule that already
    does: it returns g or a selection of g), ``residuals`` (``fun`` returns ``(ans, residuals)`` and
    the rule gets ``residuals=`` : None when it must rebuild them from Tensor
    inputs under ``create_graph``), ``numpy`` (numpy callables that dispatch
    here when given Tensors), ``name``.
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


__all__ = ["Primitive", "primitive", "primitives", "implements", "nondifferentiable", "Domain"]
