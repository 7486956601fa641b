"""The README's "Use" section runs when pasted, and prints what it says."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def use_blocks():
    text = (ROOT / "README.md").read_text()
    start = text.index("## Use")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)


def run(code):
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_use_examples_print_what_the_comments_say():
    first, second, compiled = use_blocks()
    assert run(compiled).strip() == "(3, 2) True 1"
    lines = run(first).splitlines()
    assert lines[0] == "(3, 4) (4, 2)"
    assert lines[2] == "12.0"
    assert lines[3] == "(array([2., 2., 2.]),)"
    assert lines[4] == "[0.   0.   0.25]"
    loss = float(run(second))
    assert 0.0 <= loss < 0.5  # 50 Adam steps on 64 points of 3 classes: well below log(3)
