"""``python -m tapegrad``: usage, ``--version``, and the LICENSE that pyproject declares."""

import pathlib
import re
import subprocess
import sys

import tapegrad as tg
from tapegrad.__main__ import main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_version_prints_the_package_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"tapegrad {tg.__version__}\n"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^version = "(.*)"$', pyproject, flags=re.M).group(1) == tg.__version__


def test_version_from_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "tapegrad", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tapegrad {tg.__version__}"


def test_usage_lists_version_and_an_unknown_command_fails(capsys):
    assert main([]) == 0
    assert "--version" in capsys.readouterr().out
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_the_license_file_is_the_mit_license_pyproject_declares():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = { text = "MIT" }' in pyproject
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the tapegrad developers\n")
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text
