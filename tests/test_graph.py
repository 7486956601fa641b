"""tg.graph: the tape listed like a jaxpr, as DOT text, and drawn with Graphviz."""

import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.core.primitive import Primitive
from tapegrad.debug import brief, short_origin

ROOT = pathlib.Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"


def small_program():
    x = tg.tensor(np.ones((3, 4)), requires_grad=True)
    w = tg.tensor(np.full((4, 2), 0.5), requires_grad=True)
    scale = np.arange(6.0).reshape(3, 2)
    loss = tg.sum(tg.tanh(x @ w) * scale, axis=0)
    return x, w, loss


def dot_nodes_and_edges(dot):
    """(node ids, [(tail, head), ...]) of the DOT text to_dot writes: one statement a line."""
    nodes, edges = [], []
    for line in dot.splitlines():
        edge = re.match(r"\s+(\w+) -> (\w+)", line)
        if edge:
            edges.append(edge.groups())
            continue
        node = re.match(r"\s+(\w+) \[", line)
        if node and node.group(1) not in ("graph", "node", "edge"):
            nodes.append(node.group(1))
    return nodes, edges


def make_sincos():
    prim = Primitive(lambda x: (np.sin(x), np.cos(x)), name="sincos")

    @prim.defvjp
    def _(g, ans, x):
        g_sin, g_cos = g
        s, c = ans
        total = 0.0
        if g_sin is not None:
            total = total + g_sin * c
        if g_cos is not None:
            total = total - g_cos * s
        return (total,)

    return prim


# -- the listing ---------------------------------------------------------------------


def test_the_listing_names_every_node_in_recorded_order():
    _, _, loss = small_program()
    assert str(tg.graph(loss)).splitlines() == [
        "%0 = leaf                              float64[3,4]",
        "%1 = leaf                              float64[4,2]",
        "%2 = matmul(%0, %1)                    float64[3,2]",
        "%3 = tanh(%2)                          float64[3,2]",
        "%4 = multiply(%3, const float64[3,2])  float64[3,2]",
        "%5 = sum(%4, axis=0)                   float64[2]",
        "return %5",
    ]


def test_names_replace_numbers_for_leaves_and_intermediates():
    x = tg.tensor(np.ones(2), requires_grad=True)
    hidden = tg.exp(x)
    out = tg.sin(hidden) * 2.0
    lines = str(tg.graph(out, names={"x": x, "hidden": hidden, "unused": tg.exp(x)})).splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "%x = leaf",
        "%hidden = exp(%x)",
        "%0 = sin(%hidden)",  # unnamed nodes are numbered from 0, without gaps
        "%1 = multiply(%0, 2.0)",
        "return %1",
    ]


def test_python_numbers_and_options_are_shown_briefly():
    x = tg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = np.sum(x * 2.5 + 1, axis=0, keepdims=True)
    text = str(tg.graph(y))
    assert "multiply(%0, 2.5)" in text
    assert "add(%1, 1)" in text
    assert "sum(%2, axis=0, keepdims=True)  float32[1]" in text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.zeros((4, 2), np.float32), "const float32[4,2]"),
        (np.float64(0.25), "0.25"),
        (np.array(3), "3"),
        (0.1 + 0.2, "0.3"),
        ((slice(1, None), Ellipsis, None), "(1:, ..., None)"),
        (slice(None, None, 2), "::2"),
        ({"mode": "train", "p": 0.5}, "{mode='train', p=0.5}"),
        ([1, 2, 3], "[1, 2, 3]"),
        (
            {"a": np.ones((40, 3)), "b": "x" * 60},
            "{a=float64[40,3], b='xxxxxxxxxxxxxxxxxxxxxxxx...",
        ),
    ],
)
def test_constants_are_summarized(value, text):
    assert brief(value) == text
    assert len(brief(value)) <= 48


def test_a_multi_output_primitive_binds_its_outputs_on_one_line():
    sincos = make_sincos()
    x = tg.tensor(np.linspace(0, 1, 5), requires_grad=True)
    s, c = sincos(x)
    lines = str(tg.graph(tg.sum(c * 2.0))).splitlines()
    assert lines[1].split() == ["_,", "%1", "=", "sincos(%0)", "(float64[5],", "float64[5])"]
    assert lines[2].startswith("%2 = multiply(%1, 2.0)")
    both = str(tg.graph(s + c)).splitlines()
    assert both[1].startswith("%1, %2 = sincos(%0)")
    assert both[2].startswith("%3 = add(%1, %2)")


def test_origins_name_the_user_line_under_trace_origins():
    x = tg.tensor(np.ones(2), requires_grad=True)
    with tg.trace_origins():
        y = tg.exp(x)
        line = sys._getframe().f_lineno - 1
    where = f"test_graph.py:{line} in test_origins_name_the_user_line_under_trace_origins"
    assert str(tg.graph(y)).splitlines()[1].endswith(where)
    assert "test_graph.py" not in str(tg.graph(tg.exp(x)))  # off by default


def test_short_origin():
    assert short_origin("/a/b/model.py:12 in loss") == "model.py:12 in loss"
    assert short_origin("/a/b/run.py:3 in <module>") == "run.py:3"
    assert short_origin(None) == ""


def test_a_freed_graph_still_lists_its_structure():
    program = small_program()  # holds the leaves, which keep their shapes
    total = tg.sum(program[2])
    before = str(tg.graph(total)).splitlines()
    total.backward()
    after = str(tg.graph(total)).splitlines()
    assert after[0].startswith("# backward() freed")
    assert len(after) == len(before) + 1
    assert after[1].startswith("%0 = leaf") and after[1].endswith("float64[3,4]")  # leaves live
    assert re.match(r"%4 = multiply\(%3, const\)\s+\?$", after[5])
    assert after[-2].endswith("float64[]")  # the output Tensor still has its array
    assert after[-1] == "return %6"


def test_a_constant_tensor_has_nothing_recorded():
    text = str(tg.graph(tg.tensor([1.0, 2.0])))
    assert text.splitlines() == [
        "# nothing recorded: no output requires grad",
        "return const float64[2]",
    ]


def test_graph_takes_tensors():
    with pytest.raises(TypeError, match="takes Tensors"):
        tg.graph(np.ones(3))
    with pytest.raises(TypeError, match="at least one"):
        tg.graph()


def test_several_outputs_share_one_listing():
    x = tg.tensor(np.ones(2), requires_grad=True)
    a = tg.exp(x)
    b = tg.sin(a)
    lines = str(tg.graph(a, b)).splitlines()
    assert lines[-1] == "return %1, %2"
    assert len(tg.graph(a, b)) == 3


def test_twenty_thousand_nodes_without_recursion():
    x = tg.tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    graph = tg.graph(y)
    assert len(graph) == 20_001
    lines = str(graph).splitlines()
    assert lines[-2].startswith("%20000 = multiply(%19999, 1.0001)")
    nodes, edges = dot_nodes_and_edges(graph.to_dot())
    assert len(nodes) == 2 * 20_000 + 1  # each multiply and its constant 1.0001
    assert len(edges) == 2 * 20_000


# -- DOT and rendering ---------------------------------------------------------------


def test_dot_has_a_node_per_tape_node_and_constant_and_an_edge_per_input():
    x, w, loss = small_program()
    dot = tg.graph(loss, names={"x": x, "w": w}).to_dot()
    assert dot.startswith("digraph tape {") and dot.rstrip().endswith("}")
    nodes, edges = dot_nodes_and_edges(dot)
    assert len(nodes) == 2 + 4 + 1  # leaves, primitives, the constant scale
    assert len(set(nodes)) == len(nodes)
    assert set(edges) <= {(a, b) for a in nodes for b in nodes}
    labels = dict(re.findall(r'\s+(\w+) \[label="([^"]*)"', dot))
    by_label = {label.split("\\n")[0]: node for node, label in labels.items()}
    assert sorted(edges) == sorted(
        [
            (by_label["x"], by_label["matmul"]),
            (by_label["w"], by_label["matmul"]),
            (by_label["matmul"], by_label["tanh"]),
            (by_label["tanh"], by_label["multiply"]),
            (by_label["const float64[3,2]"], by_label["multiply"]),
            (by_label["multiply"], by_label["sum"]),
        ]
    )


def test_dot_labels_the_edges_out_of_a_multi_output_node():
    sincos = make_sincos()
    x = tg.tensor(np.ones(3), requires_grad=True)
    s, c = sincos(x)
    dot = tg.graph(s * c).to_dot()
    nodes, edges = dot_nodes_and_edges(dot)
    assert len(nodes) == 3 and len(edges) == 3
    assert re.search(r'n1 -> n2 \[label="0"', dot) and re.search(r'n1 -> n2 \[label="1"', dot)


def test_dot_escapes_quotes_and_backslashes_in_labels(tmp_path):
    def tagged(x, tag=""):
        return x * 1.0

    prim = Primitive(tagged, name="tagged")
    prim.defvjp(lambda g, ans, x, tag="": (g,))
    y = prim(tg.tensor(np.ones(2), requires_grad=True), tag='say "hi" \\ now')
    option = "tag=" + brief('say "hi" \\ now', constant=False)
    assert f"tagged(%0, {option})" in str(tg.graph(y))
    # dot parses the text back to the same label
    assert option in svg_texts(tg.graph(y).render(tmp_path / "tagged.svg"))


def test_render_writes_svg_png_and_dot(tmp_path):
    x, w, loss = small_program()
    graph = tg.graph(loss, names={"x": x, "w": w})
    svg = graph.render(tmp_path / "g.svg")
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg"
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"matmul", "tanh", "multiply", "sum", "x", "w"} <= texts
    assert graph.render(tmp_path / "g.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert graph.render(tmp_path / "g.dot").read_text() == graph.to_dot()
    assert graph._repr_svg_().lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match="extension"):
        graph.render(tmp_path / "noext")
    with pytest.raises(ValueError, match="cannot write"):
        graph.render(tmp_path / "g.docx")


def test_render_without_graphviz_names_the_viz_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz now raises
    graph = tg.graph(small_program()[2])
    with pytest.raises(ImportError, match=r"'viz' extra: pip install -e \"\.\[viz\]\""):
        graph.render(tmp_path / "g.svg")
    assert graph._repr_svg_() is None  # a notebook falls back to the listing
    graph.render(tmp_path / "g.dot")  # the text needs nothing


# -- the docs: the README section and the committed picture ----------------------------


def readme_section():
    text = (ROOT / "README.md").read_text()
    start = text.index("## Seeing the tape")
    section = text[start : text.index("\n## ", start + 1)]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    (output,) = re.findall(r"```text\n(.*?)```", section, flags=re.S)
    return code, output


def test_the_readme_example_prints_what_the_readme_shows(tmp_path):
    code, output = readme_section()
    (tmp_path / "model.py").write_text(code)
    result = subprocess.run(
        [sys.executable, "model.py"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == output
    assert ET.parse(tmp_path / "graph.svg").getroot().tag == f"{SVG}svg"


def svg_texts(path):
    return sorted(t.text for t in ET.parse(path).getroot().iter(f"{SVG}text"))


def test_the_picture_script_draws_the_two_layer_net(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "make_graph_picture.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    texts = svg_texts(tmp_path / "two_layer_net.svg")
    expected = ("affine", "relu", "softmax_loss", "W1", "b1", "W2", "b2", "const float32[64,3072]")
    assert set(expected) <= set(texts)
    assert texts.count("affine") == 2
    # The committed picture is the one the script draws today (same labels).
    assert svg_texts(ROOT / "docs" / "two_layer_net.svg") == texts
