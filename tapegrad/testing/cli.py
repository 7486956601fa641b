"""``python -m tapegrad check [MODULE ...]``: property-test every registered primitive.

Imports the built-in primitives and the given modules (dotted names, or paths
to .py files), runs :func:`check_primitive` on each registered primitive,
prints one row per primitive and exits 1 if any fails. Needs hypothesis: without
it, says so in one line and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import time

from ..core.primitive import primitives
from ..forward_mode import jvp_route
from ._extra import hypothesis_is_missing, needs_hypothesis
from .gradcheck import error_text

COLUMNS = (
    "primitive",
    "examples",
    "1st-order rel err",
    "2nd-order rel err",
    "forward mode",
    "result",
)
# How forward mode differentiates each primitive (forward_mode.jvp_route), one word per cell.
ROUTES = {
    "rule": "rule",
    "linear": "linear",
    "elementwise": "elementwise",
    "transposed VJP": "VJP-transpose",
}


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m tapegrad check",
        description="Property-test the gradients of every registered tapegrad primitive "
        "against finite differences (first and second order, float64 and float32), and "
        "its forward mode (JVP rule or fallback) against differences and against its VJP.",
    )
    parser.add_argument(
        "modules",
        nargs="*",
        metavar="MODULE",
        help="modules (or .py files) that register primitives",
    )
    parser.add_argument(
        "-k",
        dest="patterns",
        action="append",
        default=[],
        metavar="TEXT",
        help="check only primitives whose name contains TEXT (repeatable)",
    )
    # default None: check_primitive's own (primitive_check is imported only in main())
    parser.add_argument("--max-examples", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (reproducible runs)")
    return parser


def import_module(spec):
    """Import a dotted module name or a path to a .py file."""
    if spec.endswith(".py") or os.sep in spec:
        path = os.path.abspath(spec)
        name = os.path.splitext(os.path.basename(path))[0]
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None:
            raise ImportError(f"cannot import {spec!r}: not a Python file")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    return importlib.import_module(spec)


def _format_error(value):
    if value is None:
        return "-"
    return f"{value:.1e}"


def main(argv=None) -> int:
    """Run the checks; returns the exit status (0 all passed, 1 a failure, 2 bad usage)."""
    args = _parser().parse_args(argv)
    try:
        from .primitive_check import DEFAULT_MAX_EXAMPLES, check_primitive, import_builtins
    except ImportError as error:
        if not hypothesis_is_missing(error):
            raise
        print(needs_hypothesis("python -m tapegrad check"), file=sys.stderr)
        return 2
    if args.max_examples is None:
        args.max_examples = DEFAULT_MAX_EXAMPLES
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` does: modules beside the user
    import_builtins()
    for spec in args.modules:
        try:
            import_module(spec)
        except Exception as error:
            print(f"cannot import {spec!r}: {error_text(error)}", file=sys.stderr)
            return 2
    selected = {
        name: prim
        for name, prim in primitives().items()
        if not args.patterns or any(p in name for p in args.patterns)
    }
    if not selected:
        print("no registered primitive matches", file=sys.stderr)
        return 2

    width = max(len(COLUMNS[0]), *(len(name) for name in selected))
    row = f"{{:<{width}}}  {{:>8}}  {{:>17}}  {{:>17}}  {{:<13}}  {{}}"
    print(row.format(*COLUMNS))
    print(row.format("-" * width, "-" * 8, "-" * 17, "-" * 17, "-" * 13, "------"))
    failures = []
    start = time.perf_counter()
    for name, prim in selected.items():
        failed_order = None
        try:
            report = check_primitive(prim, args.max_examples, seed=args.seed)
        except AssertionError as error:
            report = getattr(error, "report", None)
            failures.append((name, str(error)))
            # The worst errors so far come from the examples that passed: the
            # failing one's column says where to look instead of a small number.
            failed_order = 2 if "second-order" in str(error) else 1
            failed_jvp = getattr(error, "check", None) == "jvp"
        worst = report.worst if report is not None else {}
        second = worst.get(2) if report is not None and report.order >= 2 else None
        errors = [_format_error(worst.get(1)), _format_error(second)]
        route = ROUTES[jvp_route(prim)]
        if failed_order is not None:
            if failed_jvp:
                route = "FAILED"
            else:
                errors[failed_order - 1] = "FAILED"
        print(
            row.format(
                name,
                report.examples if report is not None else 0,
                *errors,
                route,
                "FAIL" if failed_order is not None else "pass",
            ),
            flush=True,
        )
    elapsed = time.perf_counter() - start
    for name, message in failures:
        print(f"\n--- {name} ---\n{message}")
    passed = len(selected) - len(failures)
    print(f"\n{passed} passed, {len(failures)} failed ({elapsed:.1f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
