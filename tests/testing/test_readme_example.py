"""The README's "Add an op and prove its gradient" passes when pasted.

The section's Python blocks are files (their first line names them); its bash
block is run line by line in a fresh directory, as a user would.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TITLE = "## Add an op and prove its gradient"


def section():
    text = (ROOT / "README.md").read_text()
    start = text.index(TITLE)
    end = text.find("\n## ", start + len(TITLE))
    return text[start : end if end != -1 else len(text)]


def blocks(kind):
    return re.findall(rf"```{kind}\n(.*?)```", section(), flags=re.S)


def test_the_section_has_a_module_a_test_and_commands():
    names = [code.splitlines()[0] for code in blocks("python")]
    assert names == ["# mathops.py", "# test_mathops.py"]
    commands = blocks("bash")[0].splitlines()
    assert any(c.startswith("python -m pytest") for c in commands)
    assert any(c.startswith("python -m tapegrad check") for c in commands)


@pytest.fixture
def pasted(tmp_path):
    for code in blocks("python"):
        name = code.splitlines()[0].removeprefix("# ").strip()
        (tmp_path / name).write_text(code)
    return tmp_path


def run(command, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(cwd)]))
    argv = [sys.executable, *command.split()[1:]]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)


def test_the_commands_pass_when_pasted(pasted):
    for command in blocks("bash")[0].splitlines():
        result = run(command, pasted)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        if "tapegrad check" in command:
            # columns: examples, 1st- and 2nd-order errors, forward-mode route, result
            pattern = r"^logcosh\s+25\s+\S+\s+\S+\s+elementwise\s+pass$"
            assert re.search(pattern, result.stdout, flags=re.M)


def test_the_wrong_rule_shown_in_the_section_fails_as_shown(pasted):
    module = pasted / "mathops.py"
    module.write_text(module.read_text().replace("(g * np.tanh(x),)", "(g * 2 * np.tanh(x),)"))
    result = run("python -m tapegrad check mathops -k logcosh", pasted)
    assert result.returncode == 1
    shown = blocks("text")[0]
    first_line = shown.splitlines()[0].removeprefix("AssertionError: ")
    assert first_line in result.stdout
    assert "example: x=array(1., dtype=float64)" in result.stdout
