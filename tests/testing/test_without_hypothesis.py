"""Without hypothesis: check_grads still works; the property tests say what to install.

Each test runs a fresh interpreter in which ``import hypothesis`` fails, as it
does when the ``test`` extra is not installed (``sys.modules['hypothesis'] =
None`` makes every import of it raise ModuleNotFoundError).
"""

import subprocess
import sys
import textwrap

import pytest

NO_HYPOTHESIS = "import sys\nsys.modules['hypothesis'] = None\n"
EXTRA = "pip install -e '.[test]' (or pip install hypothesis)"


def run_without_hypothesis(code):
    return subprocess.run(
        [sys.executable, "-c", NO_HYPOTHESIS + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_simulation_hides_hypothesis():
    result = run_without_hypothesis("import hypothesis")
    assert result.returncode == 1
    assert "ModuleNotFoundError" in result.stderr


def test_check_grads_imports_and_catches_a_wrong_gradient():
    result = run_without_hypothesis(
        """
        import numpy as np
        import tapegrad as tg
        from tapegrad.testing import check_grads

        worst = check_grads(lambda x: tg.tanh(x) * x, np.linspace(-1.0, 1.0, 5), order=2)
        assert worst[1] < 1e-6 and worst[2] < 1e-6, worst

        wrong = tg.Primitive(lambda x: x * x, domain=tg.Domain(("real",)))
        wrong.defvjp(lambda g, ans, x: (g * x,))  # the factor 2 is missing
        try:
            check_grads(wrong, np.array([0.5, -1.0, 2.0]))
        except AssertionError as error:
            assert "first-order derivative with respect to argument 0" in str(error)
        else:
            raise SystemExit("check_grads passed a wrong gradient")
        assert "hypothesis" not in sys.modules or sys.modules["hypothesis"] is None
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "name",
    [
        "check_primitive",
        "primitive_test",
        "strategies",
        "PrimitiveCheckError",
        "PrimitiveReport",
        "builtin_primitives",
        "describe",
        "import_builtins",
    ],
)
def test_a_property_test_name_raises_one_line_naming_the_extra(name):
    result = run_without_hypothesis(
        f"""
        try:
            from tapegrad.testing import {name}
        except ImportError as error:
            print(error)
        else:
            raise SystemExit("imported without hypothesis")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"tapegrad.testing.{name} needs hypothesis: {EXTRA}"]


def test_attribute_access_and_submodule_imports_name_the_extra_too():
    result = run_without_hypothesis(
        """
        import tapegrad.testing

        for get in (
            lambda: tapegrad.testing.check_primitive,
            lambda: __import__("tapegrad.testing.strategies"),
            lambda: __import__("tapegrad.testing.primitive_check"),
        ):
            try:
                get()
            except ImportError as error:
                print(error)
        try:
            tapegrad.testing.no_such_name
        except AttributeError as error:
            print(error)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"tapegrad.testing.check_primitive needs hypothesis: {EXTRA}"
    assert lines[1] == f"tapegrad.testing.strategies needs hypothesis: {EXTRA}"
    assert lines[2].endswith(f"needs hypothesis: {EXTRA}")
    assert lines[3] == "module 'tapegrad.testing' has no attribute 'no_such_name'"


def test_the_check_command_prints_one_line_and_exits_2():
    result = run_without_hypothesis(
        """
        import runpy

        sys.argv = ["tapegrad", "check", "-k", "negative"]
        runpy.run_module("tapegrad", run_name="__main__", alter_sys=True)
        """
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"python -m tapegrad check needs hypothesis: {EXTRA}\n"
