"""Seeing the tape: ``tg.graph(t)`` lists, draws and renders what recorded ``t``.

``print(tg.graph(loss))`` shows one line per node in recorded order, like a
jaxpr::

    %0 = leaf  float64[3,4]
    %1 = leaf  float64[4,2]
    %2 = matmul(%0, %1)  float64[3,2]
    %3 = tanh(%2)  float64[3,2]
    %4 = power(%3, 2)  float64[3,2]
    %5 = sum(%4)  float64[]
    return %5

Inputs that are not on the tape are constants, summarized (``const
float32[64,20]``, or the number). Options follow the inputs (``axis=0``). A
primitive with several outputs binds them all on one line (``%3, _, %4 =
svd(...)``; ``_`` is an output that does not lead to ``t``). Under
``tg.trace_origins()`` each line ends with the line of user code that
recorded it. ``.to_dot()`` is the same graph as Graphviz DOT text, and
``.render("graph.svg")`` draws it (the ``viz`` extra and the system's
``dot`` program).

The walk is iterative, like backward's, so graphs of any depth work. After
a ``backward()`` without ``retain_graph`` the saved arrays are freed: the
listing still shows the structure, with ``?`` for the shapes it can no
longer know.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping

import numpy as np

from .core.tape import LeafNode, OutputNode, add_note
from .core.tensor import Tensor

__all__ = ["Graph", "graph"]

VIZ_INSTALL = (
    "install the 'viz' extra: pip install -e \".[viz]\" from a tapegrad checkout "
    "(or pip install graphviz), plus the system's Graphviz for the `dot` program "
    "(apt-get install graphviz, brew install graphviz or conda install graphviz)"
)
_CLIP = 48  # longest summary of one constant or option
_MAX_NOTEBOOK_NODES = 400  # a notebook draws graphs up to this size (dot is slow on more)
_UNKNOWN = "?"


def graph(*outputs: Tensor, names: Mapping[str, Tensor] | None = None) -> Graph:
    """The recorded computation that produced ``outputs`` (one or more Tensors).

    ``names`` maps names to Tensors of the graph (``names=model.params``): they
    are shown as ``%W1`` instead of a number. See :class:`Graph`.
    """
    return Graph(outputs, names)


class Graph:
    """The tape behind some Tensors: ``str()`` lists it, ``to_dot()`` and ``render()`` draw it.

    ``nodes`` holds the tape's nodes (leaves and primitive applications) in
    recorded order; the outputs of a primitive with several results are one
    entry.
    """

    def __init__(self, outputs, names=None):
        if not outputs:
            raise TypeError("tg.graph() needs at least one Tensor")
        for t in outputs:
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"tg.graph() takes Tensors (results of operations on tensors that "
                    f"require grad), got {type(t).__name__}"
                )
        self.outputs = tuple(outputs)
        roots = [t._node for t in outputs if t._node is not None]
        seen = set(roots)
        stack = list(roots)
        while stack:  # no recursion: depth is limited by memory only
            node = stack.pop()
            for parent in node.parents:
                if parent is not None and parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        # Output i of a multi-output node is a slot of its node's entry.
        self._slots = {}  # multi-output node -> {index: [OutputNode, ...]}
        for node in seen:
            if type(node) is OutputNode:
                self._slots.setdefault(node.node, {}).setdefault(node.index, []).append(node)
        self.nodes = sorted(
            (n for n in seen if type(n) is not OutputNode), key=lambda n: n.sequence
        )
        self._avals = self._shapes_and_dtypes(names)
        self._names = self._variable_names(names)
        self.freed = any(n.values is None for n in self.nodes if _is_primitive(n))

    def __len__(self):
        return len(self.nodes)

    # -- names and shapes ----------------------------------------------------------

    def _variable_names(self, names):
        given = {}
        for name, t in (names or {}).items():
            if isinstance(t, Tensor) and t._node is not None:
                given.setdefault(t._node, str(name))
        result = {}  # node or OutputNode -> "%name"; the OutputNodes of one slot share it
        counter = 0
        for node in self.nodes:
            slots = self._slots.get(node)
            groups = [(node,)] if slots is None else [slots[i] for i in sorted(slots)]
            for keys in groups:
                name = next((given[k] for k in keys if k in given), None)
                if name is None:
                    name = str(counter)
                    counter += 1
                for key in keys:
                    result[key] = f"%{name}"
        return result

    def _shapes_and_dtypes(self, names):
        # An array of each node's value, from wherever it survives: the output
        # Tensors, the leaves, the nodes' own outputs, or a child's saved inputs.
        known = {}
        for t in (*self.outputs, *(names or {}).values()):
            if isinstance(t, Tensor) and t._node is not None:
                known[t._node] = t._data
        for node in self.nodes:
            if type(node) is LeafNode:
                tensor = node.leaf()
                if tensor is not None:
                    known[node] = tensor._data
            elif node.ans is not None:
                known[node] = node.ans
            if node.values is not None:
                for parent, value in zip(node.parents, node.values):
                    if parent is not None and parent not in known:
                        known[parent] = value
        avals = {}
        for node in self.nodes:
            slots = self._slots.get(node)
            if slots is None:
                avals[node] = _aval(known.get(node))
                continue
            ans = known.get(node)
            count = len(ans) if isinstance(ans, tuple) else max(slots) + 1
            texts = []
            for index in range(count):
                value = ans[index] if isinstance(ans, tuple) else None
                for output in slots.get(index, ()):
                    value = output.ans if output.ans is not None else known.get(output)
                texts.append(_aval(value))
            avals[node] = texts
        return avals

    def _name(self, node):
        return self._names.get(node, "%?")

    def _lhs(self, node):
        slots = self._slots.get(node)
        if slots is None:
            return self._name(node)
        count = len(self._avals[node])
        return ", ".join(self._name(slots[i][0]) if i in slots else "_" for i in range(count))

    def _aval_text(self, node):
        aval = self._avals[node]
        return aval if isinstance(aval, str) else "(" + ", ".join(aval) + ")"

    # -- the listing -----------------------------------------------------------------

    def _inputs(self, node):
        values = node.values
        parts = []
        for i, parent in enumerate(node.parents):
            if parent is not None:
                parts.append(self._name(parent))
            else:
                parts.append("const" if values is None else brief(values[i]))
        for key, value in (node.kwargs or {}).items():
            parts.append(f"{key}={brief(value, constant=False)}")
        return ", ".join(parts)

    def lines(self) -> list[str]:
        """The listing, one string per line (what ``str()`` joins)."""
        rows = []
        for node in self.nodes:
            if type(node) is LeafNode:
                call = "leaf"
            else:
                call = f"{node.primitive.name}({self._inputs(node)})"
            origin = getattr(node, "origin", None)
            code = f"{self._lhs(node)} = {call}"
            rows.append((code, self._aval_text(node), short_origin(origin)))
        lines = []
        if self.freed:
            lines.append(
                "# backward() freed the saved arrays of this graph: unknown shapes show as ?, "
                "constants as const (print before backward, or pass retain_graph=True)"
            )
        if not rows:
            lines.append("# nothing recorded: no output requires grad")
        code_width = min(max((len(r[0]) for r in rows), default=0), 72)
        aval_width = min(max((len(r[1]) for r in rows), default=0), 24)
        for code, aval, origin in rows:
            line = f"{code:<{code_width}}  {aval:<{aval_width}}  {origin}"
            lines.append(line.rstrip() if origin else f"{code:<{code_width}}  {aval}")
        results = [
            self._name(t._node) if t._node is not None else brief(t._data) for t in self.outputs
        ]
        lines.append("return " + ", ".join(results))
        return lines

    def __str__(self):
        return "\n".join(self.lines())

    def __repr__(self):
        return str(self)

    # -- drawing -----------------------------------------------------------------------

    def to_dot(self) -> str:
        """Graphviz DOT text: a box per primitive, an ellipse per leaf, constants in grey.

        Edges follow the data (input to the node that used it); an edge out of
        a multi-output node is labeled with the output's index.
        """
        ids = {node: f"n{i}" for i, node in enumerate(self.nodes)}
        roots = {t._node.node if type(t._node) is OutputNode else t._node for t in self.outputs}
        out = [
            "digraph tape {",
            '  graph [rankdir=TB, fontname="Helvetica", nodesep=0.3, ranksep=0.35];',
            '  node [shape=box, style="rounded,filled", fillcolor="#e8eef8", color="#4a6da7", '
            'fontname="Helvetica", fontsize=11];',
            '  edge [color="#4a6da7", arrowsize=0.6];',
        ]
        constants = 0
        for node in self.nodes:
            node_id = ids[node]
            name = self._name(node) if node not in self._slots else self._lhs(node)
            aval = self._aval_text(node)
            extra = ", peripheries=2" if node in roots else ""
            if type(node) is LeafNode:
                label = f"{name[1:]}\n{aval}" if not name[1:].isdigit() else f"leaf {name}\n{aval}"
                attrs = f'shape=ellipse, fillcolor="#fff2cc", color="#b58900"{extra}'
                out.append(f"  {node_id} [label={_quote(label)}, {attrs}];")
                continue
            options = ", ".join(
                f"{k}={brief(v, constant=False)}" for k, v in (node.kwargs or {}).items()
            )
            label = "\n".join(x for x in (node.primitive.name, options, aval) if x)
            tooltip = f"{name} = {node.primitive.name}"
            origin = getattr(node, "origin", None)
            if origin:
                tooltip += f"  ({origin})"
            out.append(f"  {node_id} [label={_quote(label)}, tooltip={_quote(tooltip)}{extra}];")
            values = node.values
            for i, parent in enumerate(node.parents):
                if parent is None:
                    text = "const" if values is None else brief(values[i])
                    const_id = f"c{constants}"
                    constants += 1
                    out.append(
                        f"  {const_id} [label={_quote(text)}, shape=plain, style=solid, "
                        'fontcolor="#777777", fontsize=9];'
                    )
                    out.append(f'  {const_id} -> {node_id} [style=dashed, color="#aaaaaa"];')
                elif type(parent) is OutputNode:
                    out.append(
                        f"  {ids[parent.node]} -> {node_id} [label={_quote(str(parent.index))}, "
                        "fontsize=9];"
                    )
                else:
                    out.append(f"  {ids[parent]} -> {node_id};")
        out.append("}")
        return "\n".join(out) + "\n"

    def render(self, path: str | os.PathLike, *, format: str | None = None) -> pathlib.Path:  # noqa: A002
        """Draw the graph into ``path``; the format comes from its extension (.svg, .png, .pdf).

        ``.dot`` / ``.gv`` write the DOT text. The other formats need the
        ``graphviz`` package (the ``viz`` extra) and the system's ``dot``.
        Returns the path.
        """
        path = pathlib.Path(path)
        fmt = (format or path.suffix.lstrip(".")).lower()
        if not fmt:
            raise ValueError(
                f"render({str(path)!r}): give the file an extension (.svg, .png, .pdf) "
                "or pass format="
            )
        if fmt in ("dot", "gv"):
            path.write_text(self.to_dot())
            return path
        path.write_bytes(_pipe(self.to_dot(), fmt))
        return path

    def _repr_svg_(self):
        # Jupyter draws the graph when it can; otherwise it shows the listing.
        if len(self.nodes) > _MAX_NOTEBOOK_NODES:
            return None
        try:
            return _pipe(self.to_dot(), "svg").decode("utf-8")
        except (ImportError, RuntimeError):
            return None


# -- helpers -----------------------------------------------------------------------------


def _is_primitive(node):
    return type(node) is not LeafNode and type(node) is not OutputNode


def _aval(value) -> str:
    """``float64[3,4]`` (``float64[]`` for a scalar); ``?`` if unknown."""
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is None or dtype is None:
        return _UNKNOWN
    return f"{dtype}[{','.join(str(n) for n in shape)}]"


def brief(value, constant: bool = True) -> str:
    """A short text for a constant input (``const float32[64,20]``, ``0.5``) or an option."""
    text = _brief(value, constant)
    return text if len(text) <= _CLIP else text[: _CLIP - 3] + "..."


def _brief(value, constant=False):
    if isinstance(value, (np.ndarray, np.generic)):
        if value.ndim == 0 and value.dtype.kind in "biufc":
            return _number(value.item())
        return ("const " if constant else "") + _aval(value)
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float, complex)):
        return _number(value)
    if value is Ellipsis:
        return "..."
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, slice):
        parts = ["" if p is None else _brief(p) for p in (value.start, value.stop, value.step)]
        return ":".join(parts[:2] if value.step is None else parts)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_brief(v) for v in value[:8]) + (", ..." if len(value) > 8 else "")
        if isinstance(value, list):
            return f"[{inner}]"
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, Mapping):
        items = list(value.items())
        inner = ", ".join(f"{k}={_brief(v)}" for k, v in items[:6])
        return "{" + inner + (", ..." if len(items) > 6 else "") + "}"
    if isinstance(value, np.dtype):
        return str(value)
    name = getattr(value, "__name__", None)
    return name if isinstance(name, str) else type(value).__name__


def _number(x):
    text = repr(x)
    if len(text) > 10 and not isinstance(x, int):
        text = f"{x:.6g}"
    return text


def short_origin(origin: str | None) -> str:
    """``model.py:12 in loss`` from ``/path/to/model.py:12 in loss``."""
    if not origin:
        return ""
    where, _, function = origin.rpartition(" in ")
    if not where:
        where, function = origin, ""
    filename, _, line = where.rpartition(":")
    if not filename:
        return origin
    text = f"{os.path.basename(filename)}:{line}"
    return text if not function or function == "<module>" else f"{text} in {function}"


def _quote(text):
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _pipe(dot_text, fmt):
    try:
        import graphviz
    except ImportError as error:
        raise ImportError(
            f"drawing a tapegrad graph needs the graphviz Python package: {VIZ_INSTALL}",
            name="graphviz",
        ) from error
    if fmt not in graphviz.FORMATS:
        raise ValueError(
            f"Graphviz cannot write {fmt!r} files; use .svg, .png or .pdf (or .dot for the text)"
        )
    try:
        return graphviz.Source(dot_text).pipe(format=fmt)
    except graphviz.ExecutableNotFound as error:
        add_note(error, f"(the `dot` program is missing: {VIZ_INSTALL})")
        raise
