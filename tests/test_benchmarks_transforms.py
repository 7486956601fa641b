"""The transforms rows of the benchmarks: each group checks its results before timing.

No time is asserted (timings live in benchmarks/README.md); the rows must
exist, compute the right values, and a group whose routes disagree must fail.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import run  # noqa: E402
from benchmarks.workloads import transforms  # noqa: E402


def test_every_transforms_row_is_built_checked_and_printed():
    args = SimpleNamespace(smoke=True, repeats=1, warmup=0)
    table = run.transforms_table(run.measure_transforms(args))
    for row in (
        "| tiny-chain jvp | jvp |",
        "| tiny-chain jvp | primal (plain Tensors) |",
        "| mlp-step float64 jvp | vjp |",
        "| jacobian R^10 -> R^30 | jacfwd |",
        "| jacobian R^30 -> R^10 | jacrev |",
        "| hessian, 10 parameters | tg.hessian (baseline) |",
        "| hessian, 10 parameters | HIPS autograd |",
    ):
        assert row in table, f"missing {row!r} in:\n{table}"


def test_the_group_check_catches_a_disagreeing_route():
    with pytest.raises(AssertionError, match="tiny-chain jvp"):
        transforms._dot_product(1.0, 1.0 + 1e-6, "tiny-chain jvp")
    transforms._dot_product(1.0, 1.0 + 1e-12, "tiny-chain jvp")


def test_the_batched_jacobian_measurement_agrees_with_jacrev():
    from benchmarks import batched_jacobian

    times = batched_jacobian.measure(3, 5)  # asserts the three routes agree
    assert len(times) == 3 and all(np.isfinite(t) and t > 0 for t in times)
