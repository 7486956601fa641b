"""The op tables in docs/ are generated from the registry and committed fresh."""

import importlib.util
import pathlib
import re
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "make_op_tables.py"
FIX = "run python docs/make_op_tables.py"


def load_script():
    spec = importlib.util.spec_from_file_location("make_op_tables", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tables():
    return load_script()


def generated_text(tables):
    """The generated regions of the committed pages, concatenated."""
    pattern = re.compile(r"<!-- begin generated: [^>]*-->(.*?)<!-- end generated -->", re.S)
    return "\n".join(
        body for page in tables.PAGES for body in pattern.findall((tables.DOCS / page).read_text())
    )


def table_ops(text):
    """The op column (first cell, in backticks) of every table row."""
    return set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.M))


def test_the_committed_tables_are_fresh(tables):
    stale = tables.stale_pages()
    assert not stale, f"stale op tables in {', '.join(stale)}: {FIX}"


def test_every_family_has_a_table(tables):
    missing = [f"{op.name} ({op.family})" for op in tables.unplaced()]
    assert not missing, f"no page for {missing}: add the family to PAGES in {SCRIPT.name}"


def test_every_builtin_primitive_is_in_a_committed_table(tables):
    listed = table_ops(generated_text(tables))
    missing = sorted(set(tables.builtin_primitives()) - listed)
    assert "add" in listed and "getitem" in listed
    assert not missing, f"primitives missing from docs/ops*.md: {missing}; {FIX}"


def test_every_numpy_handler_is_in_a_committed_table(tables):
    text = generated_text(tables)
    missing = sorted(
        name
        for func in tables.builtin_handlers()
        for name in tables.numpy_names(func)
        if f"`{name}`" not in text
    )
    assert not missing, f"numpy functions missing from docs/ops*.md: {missing}; {FIX}"


def test_composites_are_marked(tables):
    ops = {(op.family, op.name): op for op in tables.collect()}
    assert ops["shape", "tile"].kind == "composite"
    assert ops["shape", "reshape"].kind == "primitive"
    assert ops["elementwise", "exp"].kind == "primitive, elementwise"
    assert ops["linalg", "einsum"].kind == "wrapped primitive"


def test_the_check_fails_on_a_stale_page_and_says_how_to_fix_it(
    tables, tmp_path, monkeypatch, capsys
):
    docs = tmp_path / "docs"
    docs.mkdir()
    for page in tables.PAGES:
        shutil.copy(tables.DOCS / page, docs / page)
    page = docs / "ops_elementwise.md"
    page.write_text(page.read_text().replace("| `exp` |", "| `exp_renamed` |", 1))
    monkeypatch.setattr(tables, "DOCS", docs)
    monkeypatch.setattr(tables, "ROOT", tmp_path)

    assert tables.main(["--check"]) == 1
    assert f"docs/ops_elementwise.md is stale: {FIX}" in capsys.readouterr().out
    assert tables.main([]) == 0  # rewrites it
    assert tables.main(["--check"]) == 0
    assert "| `exp` |" in page.read_text()


def test_a_missing_region_is_an_error_naming_it(tables):
    with pytest.raises(ValueError, match="no region 'trig'"):
        tables.rewrite("# no markers here\n", {"trig": "| table |"}, "ops_elementwise.md")
