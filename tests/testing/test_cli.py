"""``python -m tapegrad check``: a table per primitive, exit status 1 on any failure."""

import sys

import pytest

from tapegrad.core.primitive import _REGISTRY
from tapegrad.testing import cli

GOOD = """
import numpy as np
import tapegrad as tg


@tg.primitive(domain=tg.Domain(("real",)), elementwise=True)
def cli_good_cube(x):
    return x * x * x


@cli_good_cube.defvjp
def _cli_good_cube_vjp(g, ans, x):
    return (g * 3.0 * x * x,)
"""

WRONG_JVP = """
import numpy as np
import tapegrad as tg


@tg.primitive(domain=tg.Domain(("real",)))
def cli_wrong_jvp_cube(x):
    return x * x * x


@cli_wrong_jvp_cube.defvjp
def _cli_wrong_jvp_cube_vjp(g, ans, x):
    return (g * 3.0 * x * x,)


@cli_wrong_jvp_cube.defjvp
def _cli_wrong_jvp_cube_jvp(tangents, ans, x):
    return tangents[0] * 3.0 * x  # wrong: x * x
"""

BAD = """
import numpy as np
import tapegrad as tg


@tg.primitive(domain=tg.Domain(("real",)), elementwise=True)
def cli_bad_cube(x):
    return x * x * x


@cli_bad_cube.defvjp
def _cli_bad_cube_vjp(g, ans, x):
    return (g * 2.0 * x * x,)  # wrong: the factor is 3
"""


@pytest.fixture
def user_modules(tmp_path, monkeypatch):
    """Write the user modules; unregister what they register afterwards."""
    (tmp_path / "cli_good_ops.py").write_text(GOOD)
    (tmp_path / "cli_bad_ops.py").write_text(BAD)
    (tmp_path / "cli_wrong_jvp_ops.py").write_text(WRONG_JVP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = dict(_REGISTRY)
    yield tmp_path
    _REGISTRY.clear()
    _REGISTRY.update(before)
    for name in ("cli_good_ops", "cli_bad_ops", "cli_wrong_jvp_ops"):
        sys.modules.pop(name, None)


def rows(output):
    table = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 6 and parts[-1] in ("pass", "FAIL"):
            table[parts[0]] = parts[1:]
    return table


def test_a_module_of_correct_primitives_passes(user_modules, capsys):
    status = cli.main(["cli_good_ops", "-k", "cli_", "--max-examples", "10"])
    output = capsys.readouterr().out
    assert status == 0
    assert "primitive" in output and "1st-order rel err" in output and "2nd-order rel err" in output
    examples, first, second, route, result = rows(output)["cli_good_cube"]
    assert (examples, route, result) == ("10", "elementwise", "pass")
    assert float(first) < 1e-4 and float(second) < 1e-4
    assert "1 passed, 0 failed" in output


def test_a_wrong_rule_fails_the_run_and_is_explained(user_modules, capsys):
    status = cli.main(["cli_good_ops", "cli_bad_ops", "-k", "cli_", "--max-examples", "10"])
    output = capsys.readouterr().out
    assert status == 1
    table = rows(output)
    assert table["cli_good_cube"][-1] == "pass"
    assert table["cli_bad_cube"][-1] == "FAIL"
    # The failing order's column says so (not the small error of the examples that passed).
    assert table["cli_bad_cube"][1] == "FAILED"
    assert "--- cli_bad_cube ---" in output
    assert "first-order derivative with respect to argument 0 (x)" in output
    assert "1 passed, 1 failed" in output


def test_a_wrong_jvp_rule_fails_in_the_forward_mode_column(user_modules, capsys):
    status = cli.main(["cli_wrong_jvp_ops", "-k", "cli_", "--max-examples", "10"])
    output = capsys.readouterr().out
    assert status == 1
    _, first, second, route, result = rows(output)["cli_wrong_jvp_cube"]
    assert (route, result) == ("FAILED", "FAIL")
    assert "FAILED" not in (first, second)  # its VJP rule is right
    assert "forward-mode first-order derivative" in output
    assert "example: x=" in output


def test_a_path_to_a_python_file_is_imported(user_modules, capsys):
    path = str(user_modules / "cli_good_ops.py")
    assert cli.main([path, "-k", "cli_good", "--max-examples", "5"]) == 0
    assert "cli_good_cube" in capsys.readouterr().out


def test_with_no_module_the_builtins_are_checked(capsys):
    assert cli.main(["-k", "negative", "--max-examples", "5"]) == 0
    assert rows(capsys.readouterr().out)["negative"][-1] == "pass"


def test_a_module_that_cannot_be_imported_is_a_usage_error(capsys):
    assert cli.main(["no_such_module_for_tapegrad"]) == 2
    assert "cannot import 'no_such_module_for_tapegrad'" in capsys.readouterr().err


def test_a_pattern_that_matches_nothing_is_a_usage_error(capsys):
    assert cli.main(["-k", "no-primitive-has-this-name"]) == 2
