"""``tg.compile``: trace a function once, replay it as straight-line numpy.

The first call with a given input structure, shapes, dtypes and static
arguments runs ``f`` eagerly on the tape while ``core/tracing.py`` writes
down every call that makes an array: the primitives' forwards and, for
``tg.compile(tg.value_and_grad(f))``, the VJP rules in reverse order with the
walk's chores decided once (which inputs need a cotangent, unbroadcasting,
casts). That program becomes Python source, one numpy call per line on
local variables, compiled with ``compile()``; later calls run it directly,
without Tensors or Nodes. The NaN masking of zero cotangents stays a check
in the program, as in the eager walk, since it depends on values.

Why generated source rather than a list of bound calls: each step is then a
direct call with its arguments in local variables (no per-step tuple
unpacking or indirection), which measured about twice as fast on small
arrays; the source is also readable (``f.source()``).

What a replay reads at each call: the array arguments, and every array or
Tensor the function closed over, by reference (an in-place change is seen,
as eagerly). Rebinding a global name or a closure variable of ``f`` to a new
array retraces. Python numbers, strings and other objects passed as
arguments are static: each value gets its own trace (pass ``np.float64(lr)``
to make a number an input instead).
"""

from __future__ import annotations

import ast
import builtins
import collections
import functools
import inspect
import linecache
import re
import textwrap
import threading

import numpy as np

from .core import tracing
from .core.backward import _add
from .core.tape import add_note
from .core.tensor import Tensor, new_tensor
from .core.tracing import CompileError, Const, Seq, Tracer, Var, mask_nan
from .tree import tree_flatten, tree_unflatten

__all__ = ["CompileError", "compile"]

ndarray = np.ndarray
generic = np.generic
CacheInfo = collections.namedtuple("CacheInfo", "hits misses maxsize currsize")


def compile(fun=None, *, cache_size=64):  # noqa: A001  (tg.compile, like torch.compile)
    """``tg.compile(f)``: ``f`` traced once per input signature, then replayed as plain numpy.

    Same results as ``f`` (the same numpy calls in the same order). Array
    arguments (ndarrays, numpy scalars, Tensors that do not require grad)
    are inputs; anything else is static. Inside ``f`` array arguments are
    Tensors. ``cache_size`` bounds the number of traces kept (least
    recently used first out). Also a decorator: ``@tg.compile``.
    """
    if fun is None:
        return lambda f: compile(f, cache_size=cache_size)
    if not callable(fun):
        raise TypeError(f"tg.compile: expected a function, got {type(fun).__name__}")
    return Compiled(fun, cache_size)


class Compiled:
    """A compiled function: call it like ``f``; ``cache_info()``, ``source()``."""

    def __init__(self, fun, cache_size):
        self.fun = fun
        self.cache_size = int(cache_size)
        self._programs = collections.OrderedDict()
        self._hits = self._misses = 0
        self._lock = threading.Lock()
        self._guarded = _guarded_names(fun)
        functools.update_wrapper(self, fun)

    def __call__(self, *args, **kwargs):
        if tracing.current() is not None:
            # Called while another compiled function traces: its operations
            # become part of that program.
            return self.fun(*args, **kwargs)
        leaves, treedef = tree_flatten((args, kwargs))
        arrays = []
        signature = [treedef]
        for leaf in leaves:
            kind = type(leaf)
            if kind is ndarray:
                arrays.append(leaf)
                signature.append((leaf.shape, leaf.dtype))
            elif kind is Tensor:
                if leaf._node is not None:
                    # Called inside a transform (tg.grad of a compiled function): the
                    # eager function differentiates; a replay would not.
                    return self.fun(*args, **kwargs)
                arrays.append(leaf._data)
                signature.append((leaf._data.shape, leaf._data.dtype, Tensor))
            elif isinstance(leaf, generic):
                arrays.append(leaf)
                signature.append(((), leaf.dtype, generic))
            else:
                signature.append(_static(leaf))
        signature.append(_guard_ids(self._guarded))
        key = tuple(signature)
        program = self._programs.get(key)
        if program is None:
            with self._lock:
                self._misses += 1
                program = self._trace(args, kwargs, leaves, treedef, arrays)
                self._programs[key] = program
                if len(self._programs) > self.cache_size:
                    self._programs.popitem(last=False)
            return program.first_result
        self._hits += 1
        if len(self._programs) > 1:
            self._programs.move_to_end(key)
        return program.run(arrays)

    def cache_info(self):
        """``(hits, misses, maxsize, currsize)``: misses are traces."""
        return CacheInfo(self._hits, self._misses, self.cache_size, len(self._programs))

    def cache_clear(self):
        """Forget every trace (the next call traces again)."""
        self._programs.clear()
        self._hits = self._misses = 0

    def source(self):
        """The generated source of the most recently used trace."""
        if not self._programs:
            raise RuntimeError("tg.compile: nothing traced yet; call the function first")
        return next(reversed(self._programs.values())).source

    def _trace(self, args, kwargs, leaves, treedef, arrays):
        tracer = Tracer()
        traced_leaves = []
        inputs = iter(arrays)
        for leaf in leaves:
            if type(leaf) is ndarray or type(leaf) is Tensor or isinstance(leaf, generic):
                value = np.array(next(inputs))  # private: the trace keeps it
                tracer.add_input(value)
                traced_leaves.append(new_tensor(value, None))
            else:
                traced_leaves.append(leaf)
        traced_args, traced_kwargs = tree_unflatten(treedef, traced_leaves)
        tracing.start(tracer)
        try:
            out = self.fun(*traced_args, **traced_kwargs)
        finally:
            tracing.stop()
        program = Program(tracer, out, getattr(self.fun, "__name__", "f"))
        # This call's result is the eager one; later calls replay.
        program.first_result = out
        return program


def _static(leaf):
    """A hashable key for a static argument (its value, or its identity)."""
    try:
        hash(leaf)
    except TypeError:
        return Identity(leaf)
    return (type(leaf), leaf)


class Identity:
    """Keys an object by identity, and keeps it alive while the key is cached: an
    id alone could be reused by a new object after the first is collected."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return type(other) is Identity and other.obj is self.obj


def _guarded_names(fun):
    """``fun``'s closure cells and the global names its code reads (through wrappers)."""
    cells, names, seen = [], [], set()
    while fun is not None and id(fun) not in seen:
        seen.add(id(fun))
        code = getattr(fun, "__code__", None)
        if code is not None:
            cells.extend(fun.__closure__ or ())
            globals_ = fun.__globals__
            names.extend((globals_, name) for name in code.co_names if name in globals_)
        fun = getattr(fun, "__wrapped__", None)
    return tuple(cells), tuple(names)


def _guard_ids(guarded):
    # The identity of each array or Tensor the function reads from a global
    # or a closure: rebinding one to a new array retraces instead of
    # replaying the old one.
    cells, names = guarded
    ids = []
    for cell in cells:
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if isinstance(value, (ndarray, Tensor)):
            ids.append(Identity(value))
    for globals_, name in names:
        value = globals_.get(name)
        if isinstance(value, (ndarray, Tensor)):
            ids.append(Identity(value))
    return tuple(ids)


class Program:
    """One trace as generated Python: ``run(arrays)`` returns ``f``'s result structure."""

    def __init__(self, tracer, out, name):
        leaves, self.treedef = tree_flatten(out)
        for leaf in leaves:
            if not isinstance(
                leaf, (Tensor, ndarray, generic, int, float, complex, str, type(None))
            ):
                raise CompileError(
                    f"tg.compile: {name} returned a {type(leaf).__name__}; a compiled function "
                    "returns arrays, Tensors, numbers and pytrees of them (a function such as "
                    "tg.vjp's vjp_fn would be this trace's closure: compile a function that "
                    "calls it instead)"
                )
        outputs = [tracer.ref(leaf) for leaf in leaves]
        # What each result needs after a replay, decided now: (position, wrap it
        # in a Tensor, make a numpy scalar a 0-d array, copy it if it views
        # memory). Gradients the walk produced are fresh arrays in every replay
        # (the copies it needed are in the program); a forward result may view
        # an input or a constant, which the caller must not be handed.
        from_backward = {
            var.index
            for instruction in tracer.instructions
            if instruction.backward
            for var in _pattern_vars(instruction.outs)
        }
        self.post = []
        for i, (leaf, ref) in enumerate(zip(leaves, outputs)):
            wrap = type(leaf) is Tensor
            scalar_fix = type(leaf) in (Tensor, ndarray) and np.ndim(leaf) == 0
            view_check = type(leaf) in (Tensor, ndarray) and not (
                type(ref) is Var and ref.index in from_backward
            )
            if wrap or scalar_fix or view_check:
                self.post.append((i, wrap, scalar_fix))
        self.source, namespace, self.lines = _generate(tracer, outputs, name)
        filename = f"<tg.compile {name} #{id(self):x}>"
        # linecache lets tracebacks through the program show its lines.
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        exec(builtins.compile(self.source, filename, "exec"), namespace)
        self.filename = filename
        self.function = namespace["program"]
        self.first_result = None

    def run(self, arrays):
        try:
            flat = self.function(*arrays)
        except Exception as error:
            self._name_instruction(error)
            raise
        if self.post:
            flat = list(flat)
            for i, wrap, scalar_fix in self.post:
                value = flat[i]
                if type(value) is ndarray:
                    if value.base is not None:
                        value = value.copy()  # never a view of an input or a constant
                elif scalar_fix:
                    value = np.array(value)
                flat[i] = new_tensor(value, None) if wrap else value
        return tree_unflatten(self.treedef, flat)

    def _name_instruction(self, error):
        tb = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                name = self.lines.get(tb.tb_lineno)
                if name:
                    add_note(error, f"(in the compiled replay, at {name})")
                return
            tb = tb.tb_next


class _Names:
    """Names for constants and functions in the generated module's namespace."""

    def __init__(self):
        self.namespace = {"np": np, "errstate": np.errstate, "vdot": np.vdot, "_nan": _nan}
        self._ids = {}

    def name(self, obj, prefix):
        key = id(obj)
        found = self._ids.get(key)
        if found is None:
            found = f"{prefix}{len(self._ids)}"
            self._ids[key] = found
            self.namespace[found] = obj
        return found


def _generate(tracer, outputs, name):
    names = _Names()
    aliases = {}  # var index -> the expression it equals (copies a replay can skip)

    def var(v):
        return aliases.get(v.index, f"v{v.index}")

    def expr(ref):
        kind = type(ref)
        if kind is Var:
            return var(ref)
        if kind is Const:
            if ref.tensor:
                return names.name(ref.obj, "c") + "._data"
            obj = ref.obj
            if obj is None or (type(obj) in (bool, int, str) and len(repr(obj)) < 40):
                return repr(obj)
            return names.name(obj, "c")
        if kind is Seq:
            if ref.kind is dict:
                items = ", ".join(f"{names.name(k, 'k')}: {expr(v)}" for k, v in ref.items.items())
                return "{" + items + "}"
            inner = ", ".join(expr(v) for v in ref.items)
            if ref.kind is list:
                return f"[{inner}]"
            if ref.kind is tuple:
                return f"({inner},)" if len(ref.items) == 1 else f"({inner})"
            return f"{names.name(ref.kind, 't')}({inner})"  # a namedtuple
        raise AssertionError(f"unknown reference {ref!r}")

    def target(pattern):
        if pattern is None:
            return "_"
        if type(pattern) is Var:
            return f"v{pattern.index}"
        inner = ", ".join(target(p) for p in pattern)
        return f"({inner},)" if len(pattern) == 1 else f"({inner})"

    def emit(instruction, indent, probes):
        """The source lines of one instruction."""
        fn = instruction.fn
        call_args = [expr(a) for a in instruction.args]
        for key, value in instruction.kwargs.items():
            if key.isidentifier():
                call_args.append(f"{key}={expr(value)}")
            else:
                call_args.append(f"**{{{names.name(key, 'k')}: {expr(value)}}}")
        out = target(instruction.outs)
        if fn is _add:
            # The walk's sum of two contributions; numpy scalars may stay scalars here.
            return [f"{indent}{out} = {call_args[0]} + {call_args[1]}"]
        operator = _OPERATORS.get(fn) if not instruction.kwargs else None
        if (
            operator is not None
            and type(instruction.outs) is Var
            and np.ndim(instruction.outs.value) == 0
            and _numeric_operands(instruction.args, len(operator))
        ):
            # On 0-d values, np.multiply(a, b) as a * b: numpy's scalar arithmetic,
            # the same IEEE result about fifteen times cheaper than a ufunc call
            # (on arrays the operator is the ufunc, a little slower: kept as is).
            if len(call_args) == 1:
                return [f"{indent}{out} = {operator[0]}{call_args[0]}"]
            return [f"{indent}{out} = {call_args[0]} {operator[1]} {call_args[1]}"]
        inlined = _inline(fn, instruction, expr, names)
        if inlined is not None:
            return [f"{indent}{line}" for line in inlined]
        call = f"{names.name(fn, 'f')}({', '.join(call_args)})"
        if fn is mask_nan:
            ct = call_args[1]
            if not probes:
                return [f"{indent}{out} = {ct}"]
            # The walk's NaN probe, inline: one numpy call when nothing is NaN.
            return [
                f"{indent}probe = {_probe(ct, instruction.args[1].value)}",
                f"{indent}{out} = {ct} if probe == probe else {call}",
            ]
        return [f"{indent}{out} = {call}"]

    instructions = []
    for instruction in tracer.instructions:
        if _is_private_copy(instruction):
            # Tensor(x) copies x so the caller cannot change it; a replay has
            # no caller in between, so the copy is skipped.
            aliases[instruction.outs.index] = expr(instruction.args[0])
        else:
            instructions.append(instruction)
    sections = []  # (backward?, [instructions]) in order
    for instruction in instructions:
        if not sections or sections[-1][0] != instruction.backward:
            sections.append((instruction.backward, []))
        sections[-1][1].append(instruction)

    body = [f"def program({', '.join(f'v{v.index}' for v in tracer.inputs)}):"]
    lines = {}

    def add(instruction, indent, probes):
        for text in emit(instruction, indent, probes):
            body.append(text)
            lines[len(body)] = instruction.name

    optimistic = _optimistic(sections)
    for k, (backward, section) in enumerate(sections):
        if not backward:
            for instruction in section:
                add(instruction, "    ", True)
            continue
        # The walk's own errstate: rules meet 0/0 where a zero cotangent makes
        # the result irrelevant (the NaN masking zeroes those).
        errstate = 'with errstate(divide="ignore", invalid="ignore", over="ignore"):'
        body.append(f"    {errstate}")
        if not optimistic:
            for instruction in section:
                add(instruction, "        ", True)
            continue
        # Optimistic: without the per-rule NaN probes first. The rules are
        # linear in the cotangent and built-in, so a NaN that masking would
        # have zeroed either reaches a result of this section or is dropped
        # by a selection, exactly as a masked zero would be; only if a result
        # holds a NaN is the section run again, with the probes (the forward
        # values are reused: nothing runs twice that could draw or update state).
        for instruction in section:
            add(instruction, "        ", False)
        results = _section_results(section, [i for _, s in sections[k + 1 :] for i in s], outputs)
        checks = [_probe(var(v), v.value) for v in results if _is_float(v.value)]
        if checks:
            body.append(f"    if {' or '.join(f'_nan({c})' for c in checks)}:")
            body.append(f"        {errstate}")
            for instruction in section:
                add(instruction, "            ", True)
    returned = []
    for ref in outputs:
        text = expr(ref)
        if type(ref) is Const and not isinstance(ref.obj, (int, float, bool, str, type(None))):
            text = f"np.array({text})"  # a fresh array per call: the caller may write to it
        elif type(ref) is Var and ref in tracer.inputs:
            text = f"np.array({text})"
        returned.append(text)
    body.append(f"    return ({', '.join(returned)}{',' if len(returned) == 1 else ''})")
    return "\n".join(body) + "\n", names.namespace, lines


# -- inlining one-expression rules ----------------------------------------------------
#
# A built-in VJP rule whose body is one ``return`` of a tuple (``return (g *
# y.conjugate(),)``) is written into the program as that expression with its
# parameters replaced by the program's variables: the same numpy calls on
# the same values (so the same bits), without a Python call and a tuple per
# rule. ``needs_grad[i]`` is known at trace time and folded, so a branch for
# an input that needs no gradient disappears.

_RULES = {}  # function -> parsed (parameters, defaults, returned expressions) or None


def _inline(fn, instruction, expr, names):
    """The program lines for a rule call written inline, or None to call it."""
    if not instruction.name.startswith("vjp of ") or type(instruction.outs) is not tuple:
        return None
    parsed = _RULES.get(fn, _RULES)
    if parsed is _RULES:
        parsed = _RULES[fn] = _parse_rule(fn)
    if parsed is None:
        return None
    parameters, defaults, returned = parsed
    if len(returned) != len(instruction.outs) or len(instruction.args) > len(parameters):
        return None
    bound = dict(zip(parameters, instruction.args))
    for key, value in instruction.kwargs.items():
        if key not in parameters or key in bound:
            return None
        bound[key] = value
    texts = {}  # parameter -> the program's expression for it
    real = set()  # parameters known to hold real numbers
    needs = None  # needs_grad, known at trace time
    for name in parameters:
        if name in bound:
            ref = bound[name]
            value = ref.value if type(ref) is Var else ref.obj if type(ref) is Const else None
            if name == "needs_grad" and type(ref) is Const and isinstance(ref.obj, tuple):
                needs = ref.obj
                continue
            texts[name] = expr(ref)
        elif name in defaults:
            value = defaults[name]
            texts[name] = names.name(value, "c")
        else:
            return None
        if _is_real(value):
            real.add(name)
    lines = []
    for k, (var, element) in enumerate(zip(instruction.outs, returned)):
        if var is None:
            continue  # nobody reads it: not computed (the rules are pure numpy)
        if type(var) is not Var:
            return None
        template, used = _template(fn, k, element, frozenset(real), needs, parameters)
        for name, value in used.items():
            names.namespace.setdefault(name, value)
        for name, text in texts.items():
            simple = _DOTTED_NAME.fullmatch(text) is not None  # v3, c0._data
            template = template.replace(f"__p_{name}__", text if simple else f"({text})")
        lines.append(f"v{var.index} = {template}")
    return lines


_TEMPLATES = {}
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _template(fn, k, element, real, needs, parameters):
    """Element ``k`` of ``fn``'s return as source with ``__p_<name>__`` placeholders."""
    key = (fn, k, real, needs)
    found = _TEMPLATES.get(key)
    if found is None:
        placeholders = {
            name: ast.Constant(needs)
            if name == "needs_grad" and needs is not None
            else ast.Name(f"__p_{name}__", ast.Load())
            for name in parameters
        }
        used = {}
        tree = _drop_real_conjugates(_copy_tree(element), real, fn.__globals__)
        tree = _Substitute(placeholders, fn.__globals__, used).visit(tree)
        found = _TEMPLATES[key] = (ast.unparse(tree), used)
    return found


def _parse_rule(fn):
    """``(parameters, defaults, [returned expressions])`` of a one-return rule, or None."""
    code = getattr(fn, "__code__", None)
    module = getattr(fn, "__module__", None) or ""
    if code is None or code.co_freevars or not module.startswith("tapegrad."):
        return None
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        return None
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    function = tree.body[0]
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # a docstring
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return None
    returned = body[0].value
    if not isinstance(returned, ast.Tuple) or any(
        isinstance(e, ast.Starred) for e in returned.elts
    ):
        return None
    arguments = function.args
    parameters = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    defaults = dict(zip(reversed([a.arg for a in arguments.args]), reversed(fn.__defaults__ or ())))
    defaults.update(fn.__kwdefaults__ or {})
    return parameters, defaults, list(returned.elts)


def _is_real(value):
    if isinstance(value, (bool, int, float)):
        return True
    return getattr(getattr(value, "dtype", None), "kind", "c") in "biuf"


def _drop_real_conjugates(tree, real, rule_globals):
    """``e.conjugate()`` and ``conjugated(e)`` -> ``e`` where ``e`` is arithmetic on
    real parameters.

    For real values ``conjugate`` returns its argument (the same array), so
    dropping the call changes no bit; only plain arithmetic qualifies (a
    call inside, an FFT say, may turn reals complex, and ``**`` of Python
    floats may too).
    """

    def arithmetic_on_real(node):
        if isinstance(node, ast.Name):
            return node.id in real
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (int, float)) and not isinstance(node.value, complex)
        if isinstance(node, ast.BinOp):
            return (
                not isinstance(node.op, ast.Pow)
                and arithmetic_on_real(node.left)
                and arithmetic_on_real(node.right)
            )
        if isinstance(node, ast.UnaryOp):
            return arithmetic_on_real(node.operand)
        return False

    from .ops._common import conjugated

    class Drop(ast.NodeTransformer):
        def visit_Call(self, node):
            node = self.generic_visit(node)
            function = node.func
            if (
                isinstance(function, ast.Name)
                and rule_globals.get(function.id) is conjugated
                and len(node.args) == 1
                and not node.keywords
                and arithmetic_on_real(node.args[0])
            ):
                return node.args[0]
            if (
                isinstance(function, ast.Attribute)
                and function.attr in ("conjugate", "conj")
                and not node.args
                and not node.keywords
                and arithmetic_on_real(function.value)
            ):
                return function.value
            return node

    return Drop().visit(tree)


def _copy_tree(node):
    return ast.parse(ast.unparse(node), mode="eval").body


class _Substitute(ast.NodeTransformer):
    """Parameters -> the program's expressions; the rule's globals -> namespace names."""

    def __init__(self, substitutions, rule_globals, used):
        self.substitutions = substitutions
        self.rule_globals = rule_globals
        self.used = used

    def visit_Name(self, node):
        if node.id in self.substitutions:
            return self.substitutions[node.id]
        if node.id in self.rule_globals:
            value = self.rule_globals[node.id]
            name = f"g{id(value):x}_{node.id}"
            self.used[name] = value
            return ast.Name(name, ast.Load())
        return node  # a builtin

    def visit_Subscript(self, node):
        node = self.generic_visit(node)
        # needs_grad[i], with needs_grad known: the bool itself.
        if isinstance(node.value, ast.Constant) and isinstance(node.slice, ast.Constant):
            return ast.Constant(node.value.value[node.slice.value])
        return node

    def visit_IfExp(self, node):
        node = self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node


# ufuncs with an operator that calls them: (unary spelling,) or (left, infix).
_OPERATORS = {
    np.add: ("", "+"),
    np.subtract: ("", "-"),
    np.multiply: ("", "*"),
    np.true_divide: ("", "/"),
    np.negative: ("-",),
}


def _numeric_operands(args, arity):
    """Operands on which the operator is numpy's ufunc: numpy values, and numbers
    beside at least one of them (two Python numbers would use Python's arithmetic)."""
    if len(args) != arity:
        return False
    numpy_value = False
    for ref in args:
        value = ref.value if type(ref) is Var else ref.obj if type(ref) is Const else None
        if type(ref) is Const and ref.tensor:
            value = ref.obj._data
        if isinstance(value, (ndarray, generic)):
            numpy_value = True
        elif type(value) not in (int, float, complex, bool) or type(ref) is Var:
            return False  # (a Var holding a Python number: .item()'s result)
    return numpy_value


def _probe(name, value):
    """An expression that is NaN exactly when the array ``name`` holds a NaN (one numpy call)."""
    ndim = np.ndim(value)
    if ndim == 0:
        return f"{name}.item()"
    return f"{name}.dot({name})" if ndim == 1 else f"vdot({name}, {name})"


def _nan(probe):
    return probe != probe


def _is_float(value):
    return getattr(getattr(value, "dtype", None), "kind", None) == "f"


def _optimistic(sections):
    """May the backward section run without probes first? (See ``_generate``.)"""
    backward = [section for is_backward, section in sections if is_backward]
    if len(backward) != 1:
        return False
    section = backward[0]
    if not any(i.fn is mask_nan for i in section):
        return False
    # Every rule must be tapegrad's or numpy's: a user's rule might look at
    # the cotangent's values (nan_to_num, a comparison) and hide a NaN.
    return all(
        (getattr(i.fn, "__module__", None) or "").startswith(("tapegrad.", "numpy"))
        for i in section
    )


def _section_results(section, later, outputs):
    """Variables a section assigns that later instructions or the outputs read."""
    assigned = {}
    for instruction in section:
        for var in _pattern_vars(instruction.outs):
            assigned[var.index] = var
    read = set()
    for instruction in later:
        for ref in (*instruction.args, *instruction.kwargs.values()):
            read.update(v.index for v in _ref_vars(ref))
    for ref in outputs:
        read.update(v.index for v in _ref_vars(ref))
    return [assigned[i] for i in sorted(read) if i in assigned]


def _pattern_vars(pattern):
    if pattern is None:
        return []
    if type(pattern) is Var:
        return [pattern]
    return [v for p in pattern for v in _pattern_vars(p)]


def _ref_vars(ref):
    if type(ref) is Var:
        return [ref]
    if type(ref) is Seq:
        items = ref.items.values() if ref.kind is dict else ref.items
        return [v for item in items for v in _ref_vars(item)]
    return []


def _is_private_copy(instruction):
    from .core.tensor import _private_array

    return (
        instruction.fn is _private_array
        and type(instruction.args[0]) is Var
        and type(instruction.args[1]) is Const
        and instruction.args[1].obj is None
        and type(instruction.outs) is Var
    )
