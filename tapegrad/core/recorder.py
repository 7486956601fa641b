"""Forward: call a primitive and record a node. The one place that does it.

``record`` is the general path; ``make_unary`` and ``make_binary`` build
the fast paths for ``tg.tanh(x)`` and ``x * y``, which handle the common
case inline and hand everything else to the same post-forward policy
(``finish``). The policy, in one list:

- Tensor arguments become their arrays; options (keyword or trailing
  positional parameters with defaults) that receive a Tensor needing a
  gradient raise, because an option never gets one.
- While recording, ndarray, list and dict operands are snapshotted (dicts
  after the forward, which may update them): the caller may change them
  later, and a rule may read them in backward.
- A forward that is not tapegrad's or numpy's sees read-only views.
- An integer or bool result is a constant (rounding has no gradient); an
  object result that would need a gradient raises. Complex results are
  recorded like real ones (the operators' fast paths send them here).
- A forward that returns a tuple has several outputs: one Tensor each.
- A result that views caller memory is copied, so no Tensor shares memory
  with an array the caller can write.
"""

from __future__ import annotations

import numpy as np

from . import tracing
from .tape import Node, OutputNode, add_note, grad_mode
from .tensor import Tensor, is_duck_array, new_tensor, to_array

# How many threads are tracing for tg.compile (tracing.py keeps it): the fast
# paths read this one global and go through `record`, which logs, when set.
TRACING = 0
_NO_OPTIONS: dict = {}  # shared by every node recorded without options; never mutated
ndarray = np.ndarray
generic = np.generic
asarray = np.asarray


def record(prim, args, kwargs):
    """``prim(*args, **kwargs)`` on Tensors: run the forward, record a node when needed."""
    n_inputs = prim.n_inputs
    if n_inputs is not None and len(args) > n_inputs:
        args, kwargs = _options_by_name(prim, args, kwargs)
    recording = grad_mode.enabled
    given_kwargs = kwargs
    if kwargs:
        kwargs = _unwrap_options(prim, kwargs, recording)
    values = list(args)
    parents = [None] * len(args)
    needs_any = False
    caller_memory = False
    nondiff = prim.nondiff
    lazy = False  # a Dask array among the inputs
    settings = False  # a dict among the inputs (dropout_param, bn_param)
    for i, arg in enumerate(args):
        kind = type(arg)
        if kind is Tensor:
            values[i] = data = arg._data
            if arg._node is not None and i not in nondiff:
                parents[i] = arg._node
                needs_any = True
            if type(data) is not ndarray:
                lazy = lazy or is_duck_array(data)
        elif kind is ndarray or kind is list or kind is tuple:
            caller_memory = True
        elif kind is dict:
            settings = True
        elif isinstance(arg, Tensor):
            raise TypeError(f"{prim.name}: subclasses of Tensor are not supported")
        elif kind is not float and kind is not int:
            lazy = lazy or is_duck_array(arg)
    recording = recording and needs_any
    if recording and caller_memory:
        # A rule may read these in backward: snapshot what the caller can change.
        for i, arg in enumerate(args):
            kind = type(arg)
            if kind is ndarray:
                values[i] = arg.copy()
            elif kind is list or kind is tuple:
                # An operand becomes its array; an index or axes stays a tuple.
                values[i] = _frozen(arg) if i in nondiff else np.array(arg)
        caller_memory = False
    if not prim.trusted:
        values = [_read_only(v) for v in values]
    ans = run_forward(prim, values, kwargs)
    if settings and recording:
        # The forward saw (and may have updated) the caller's dict; the rule must
        # see it as it was then, not as the caller changes it later.
        values = [dict(v) if type(v) is dict else v for v in values]
    if lazy and (type(ans) is ndarray or isinstance(ans, (tuple, list))):
        _check_stayed_lazy(prim, ans)
    result = finish(prim, ans, parents, values, kwargs, recording, caller_memory)
    if TRACING and tracing.state.tracer is not None:
        tracing.forward(tracing.state.tracer, prim, args, given_kwargs, values, kwargs, result)
    return result


def _check_stayed_lazy(prim, ans):
    outputs = ans if isinstance(ans, (tuple, list)) else (ans,)
    if any(type(a) is ndarray for a in outputs):
        raise TypeError(
            f"primitive {prim.name!r} has no lazy implementation for Dask arrays: Dask "
            "computed the whole input to run numpy's function. Compute the input first "
            "(x.compute()) if it fits in memory, or use an op Dask provides"
        )


def run_forward(prim, values, kwargs):
    try:
        return prim.fun(*values, **kwargs)
    except Exception as error:
        _name_in(error, prim, values)
        raise


def _name_in(error, prim, values):
    # numpy's message often names no operation ("operands could not be
    # broadcast together"): say which primitive and which input shapes.
    shapes = ", ".join(str(np.shape(v)) for v in values)
    dtypes = ", ".join(_dtype_name(v) for v in values)
    add_note(
        error,
        f"(in the forward of tapegrad primitive {prim.name!r}, inputs of shapes "
        f"{shapes}; dtypes {dtypes})",
    )
    if not prim.trusted and isinstance(error, ValueError) and "read-only" in str(error):
        add_note(
            error,
            f"(the forward of {prim.name!r} wrote into one of its inputs: forwards must not "
            "modify their inputs, which the tape keeps for backward; work on a copy)",
        )


def finish(prim, ans, parents, values, kwargs, recording, caller_memory):
    """The post-forward policy (module docstring): Tensors for ``ans``, a node if needed."""
    residuals = None
    if recording and prim.real_only:
        _refuse_complex(prim, values, parents)
    if prim.residuals:
        ans, residuals = ans
    if isinstance(ans, (tuple, list)):
        return _finish_outputs(prim, ans, parents, values, kwargs, residuals, recording)
    if type(ans) is not ndarray:
        ans = to_array(ans)
    if recording:
        kind = ans.dtype.kind
        if kind == "f" or kind == "c":
            if prim.vjp is None:
                _missing_rule(prim)
            node = Node(prim, tuple(parents), tuple(values), kwargs or _NO_OPTIONS, ans, residuals)
            return new_tensor(ans, node)
        if kind not in "iub":
            _unsupported_result(prim, ans)
    elif caller_memory and type(ans) is ndarray and ans.base is not None:
        ans = ans.copy()  # a view of caller memory must not back a Tensor
    return new_tensor(ans, None)


def _finish_outputs(prim, outputs, parents, values, kwargs, residuals, recording):
    arrays = tuple(to_array(a) for a in outputs)
    if not recording:
        results = [
            new_tensor(a.copy() if type(a) is ndarray and a.base is not None else a, None)
            for a in arrays
        ]
    else:
        if prim.vjp is None:
            _missing_rule(prim)
        node = Node(prim, tuple(parents), tuple(values), kwargs or _NO_OPTIONS, arrays, residuals)
        results = []
        for index, a in enumerate(arrays):
            kind = a.dtype.kind
            if kind == "f" or kind == "c":
                results.append(new_tensor(a, OutputNode(node, index, a)))
            elif kind in "iub":
                results.append(new_tensor(a, None))
            else:
                _unsupported_result(prim, a)
    if type(outputs) is list:
        return results
    if type(outputs) is tuple:
        return tuple(results)
    return type(outputs)(*results)  # a namedtuple keeps its field names


def make_unary(prim):
    if not prim.fast:  # decided once, at registration

        def general_unary(x):
            return record(prim, (x,), _NO_OPTIONS)

        return general_unary

    def unary(x):
        """``prim(x)`` for a Tensor ``x`` and no options (``tg.tanh(x)``, ``-x``)."""
        if type(x) is not Tensor or TRACING:
            return record(prim, (x,), _NO_OPTIONS)
        data = x._data
        try:
            ans = prim.fun(data)
        except Exception as error:
            _name_in(error, prim, (data,))
            raise
        if type(ans) is not ndarray:
            if not isinstance(ans, generic):  # several outputs, or a Dask array
                recording = x._node is not None and grad_mode.enabled
                return finish(prim, ans, [x._node], (data,), _NO_OPTIONS, recording, False)
            ans = asarray(ans)  # 0-d ufunc results are numpy scalars
        node = x._node
        recording = node is not None and grad_mode.enabled
        if recording and (ans.dtype.kind != "f" or prim.vjp is None):
            return finish(prim, ans, [node], (data,), _NO_OPTIONS, True, False)
        if recording:
            node = Node(prim, (node,), (data,), _NO_OPTIONS, ans)
        else:
            node = None
        out = object.__new__(Tensor)  # new_tensor, inlined on the hot path
        out._data, out._node, out.grad = ans, node, None
        return out

    return unary


def make_binary(prim):
    if not prim.fast:  # decided once, at registration

        def general_binary(x, y):
            return record(prim, (x, y), _NO_OPTIONS)

        return general_binary

    def binary(x, y):
        """``prim(x, y)`` for Tensor, ndarray or Python-number operands (``x * 2.0``)."""
        tx, ty = type(x), type(y)
        if TRACING:
            return record(prim, (x, y), _NO_OPTIONS)
        if tx is Tensor:
            x_value, x_node = x._data, x._node
        elif tx is float or tx is int or tx is ndarray:
            x_value, x_node = x, None
        else:
            return record(prim, (x, y), _NO_OPTIONS)
        if ty is Tensor:
            y_value, y_node = y._data, y._node
        elif ty is float or ty is int or ty is ndarray:
            y_value, y_node = y, None
        else:
            return record(prim, (x, y), _NO_OPTIONS)
        recording = (x_node is not None or y_node is not None) and grad_mode.enabled
        if recording:
            # A rule may read an ndarray operand in backward: snapshot it.
            if tx is ndarray:
                x_value = x.copy()
            if ty is ndarray:
                y_value = y.copy()
        try:
            ans = prim.fun(x_value, y_value)
        except Exception as error:
            _name_in(error, prim, (x_value, y_value))
            raise
        if type(ans) is not ndarray:
            if isinstance(ans, generic):
                ans = asarray(ans)  # 0-d ufunc results are numpy scalars
            else:
                return finish(
                    prim, ans, [x_node, y_node], (x_value, y_value), _NO_OPTIONS, recording, False
                )  # a Dask array
        if recording and (ans.dtype.kind != "f" or prim.vjp is None):
            return finish(prim, ans, [x_node, y_node], (x_value, y_value), _NO_OPTIONS, True, False)
        if not recording and (tx is ndarray or ty is ndarray) and ans.base is not None:
            ans = ans.copy()  # a view of caller memory must not back a Tensor
        out = object.__new__(Tensor)  # new_tensor, inlined on the hot path
        out._data, out.grad = ans, None
        if recording:
            out._node = Node(prim, (x_node, y_node), (x_value, y_value), _NO_OPTIONS, ans)
        else:
            out._node = None
        return out

    return binary


def _options_by_name(prim, args, kwargs):
    # np.sum(x, 0) passes axis positionally; the rule must see it as an
    # option (a keyword), not as an input that needs a cotangent.
    n = prim.n_inputs
    kwargs = dict(kwargs)
    names = prim.option_names
    if len(args) - n > len(names):
        raise TypeError(
            f"{prim.name}() takes at most {n + len(names)} positional arguments ({len(args)} given)"
        )
    for name, value in zip(names, args[n:]):
        if name in kwargs:
            raise TypeError(f"{prim.name}() got multiple values for argument {name!r}")
        kwargs[name] = value
    return args[:n], kwargs


def _unwrap_options(prim, kwargs, recording):
    options = {}
    for name, value in kwargs.items():
        if name == "out" and value is not None:
            raise TypeError(
                f"{prim.name}(..., out=...) on a Tensor: tensors are immutable, so the "
                "result cannot be written into `out`; use the returned value"
            )
        if type(value) is Tensor:
            if value._node is not None and recording:
                raise TypeError(
                    f"{prim.name}: option {name!r} received a Tensor that requires grad, "
                    f"but options get no gradient (shape {value.shape}, dtype "
                    f"{value.dtype}). Make it an input: a positional parameter without a "
                    "default in the primitive's forward, with a cotangent from its rule; "
                    f"or pass {name}=t.detach() if no gradient is wanted"
                )
            value = value._data
        elif type(value) is list:
            value = _frozen(value)  # kept on the node: the caller may change the list
        elif type(value) is ndarray and recording and value.flags.writeable:
            value = value.copy()
        options[name] = value
    return options


def _frozen(value):
    if type(value) is list or type(value) is tuple:
        return tuple(_frozen(v) for v in value)
    if type(value) is Tensor:
        return value._data
    return value


def _read_only(value):
    # A user's forward must not be able to write into arrays the tape keeps.
    if type(value) is ndarray and value.flags.writeable:
        value = value.view()
        value.flags.writeable = False
    return value


def _dtype_name(value):
    return str(value.dtype) if hasattr(value, "dtype") else type(value).__name__


def _refuse_complex(prim, values, parents):
    for position, (value, parent) in enumerate(zip(values, parents)):
        if parent is not None and getattr(getattr(value, "dtype", None), "kind", "") == "c":
            raise NotImplementedError(
                f"the gradient of {prim.name!r} for a complex input (input {position}, "
                f"dtype {value.dtype}, shape {np.shape(value)}) is not implemented: its "
                "rule is derived for real inputs. Work on the real and imaginary parts, "
                "or detach the input"
            )


def _missing_rule(prim):
    raise NotImplementedError(
        f"primitive {prim.name!r} has no VJP rule: register one with "
        f"@{prim.name}.defvjp before differentiating through it"
    )


def _unsupported_result(prim, ans):
    raise TypeError(
        f"primitive {prim.name!r} returned a result of dtype {ans.dtype} from inputs "
        "that require grad; tapegrad differentiates floating point and complex results "
        "only. Convert the result to a float or complex dtype inside the forward, or "
        "detach the inputs"
    )
