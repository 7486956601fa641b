"""The benchmark suite still runs, and what it times still computes the right gradients.

Every workload runs at a tiny size; tapegrad's gradients (and those of each
installed peer) must agree with the hand-written numpy reference. No timing
is asserted: timings live in benchmarks/README.md, never in tests.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import run  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    PEERS,
    Impl,
    Unavailable,
    check_agreement,
    peer_module,
    try_build,
)
from benchmarks.workloads import (  # noqa: E402
    deep_chain,
    many_small_params,
    mlp_step,
    tiny_chain,
)

BUILDERS = {
    "tiny-chain": partial(tiny_chain.build, n_ops=40),
    "deep-chain": partial(deep_chain.build, n_ops=400),
    "many-small-params": partial(many_small_params.build, n_params=20),
    "mlp-step float64": partial(mlp_step.build, np.float64, "smoke"),
    "mlp-step float32": partial(mlp_step.build, np.float32, "smoke"),
}
TAPEGRAD_ENGINES = ("tapegrad", "tapegrad (elementary)")


def _case(name, peers=()):
    case = BUILDERS[name](peers=peers)
    reference = case.impls["numpy"]
    # tg.nn ships with tapegrad, so every reference must be there.
    assert not isinstance(reference, Unavailable), reference.reason
    return case


@pytest.mark.parametrize("name", list(BUILDERS))
def test_tapegrad_gradients_match_the_numpy_reference(name):
    case = _case(name)
    grads = {"numpy": case.impls["numpy"].run()}
    for engine in TAPEGRAD_ENGINES:
        impl = case.impls.get(engine)
        if impl is None:
            continue
        assert isinstance(impl, Impl), f"{name}: {engine} unavailable: {impl.reason}"
        grads[engine] = impl.run()
    assert "tapegrad" in grads
    check_agreement(case, grads)
    for engine, by_name in grads.items():
        for key, grad in by_name.items():
            assert np.all(np.isfinite(grad)), f"{name}: {engine} d/d{key} is not finite"
            assert np.any(grad != 0), f"{name}: {engine} d/d{key} is all zero"


def test_mlp_gradients_keep_the_parameter_dtype():
    case = _case("mlp-step float32")
    for engine in ("numpy", *TAPEGRAD_ENGINES):
        for key, grad in case.impls[engine].run().items():
            assert grad.dtype == np.float32, f"{engine} d/d{key} is {grad.dtype}"


def test_a_second_step_gives_the_same_gradients():
    # Leaves are long-lived across steps (as in training): the second step
    # must not accumulate into the first step's .grad.
    case = _case("many-small-params")
    impl = case.impls["tapegrad"]
    first = impl.run()
    second = impl.run()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


def test_forward_only_measures_match_forward_and_backward():
    case = _case("tiny-chain")
    for engine in ("numpy", "tapegrad"):
        out = case.impls[engine].forward()
        value = float(out.item() if hasattr(out, "item") else out)
        expected = float(
            np.sum(tiny_chain.chain(np.random.default_rng(0).standard_normal(8), np.tanh, 40))
        )
        assert value == pytest.approx(expected, rel=1e-12), engine


# Peers are optional: only the installed ones are tested (none in CI), so
# nothing is collected just to be skipped.
INSTALLED_PEERS = [p for p, module in PEERS.items() if importlib.util.find_spec(module)]


if INSTALLED_PEERS:  # an empty parametrization would be a skipped test

    @pytest.mark.parametrize("peer", INSTALLED_PEERS)
    @pytest.mark.parametrize(
        "name", ["tiny-chain", "deep-chain", "many-small-params", "mlp-step float64"]
    )
    def test_installed_peers_compute_the_same_gradients(peer, name):
        peer_module(PEERS[peer])
        case = _case(name, peers=(peer,))
        impl = case.impls[peer]
        assert isinstance(impl, Impl), impl.reason
        check_agreement(case, {"numpy": case.impls["numpy"].run(), peer: impl.run()})


def test_agreement_check_catches_a_wrong_gradient():
    case = _case("tiny-chain")
    good = case.impls["numpy"].run()
    bad = {"x": good["x"] * (1 + 1e-6)}
    with pytest.raises(AssertionError, match="tapegrad d/dx differs"):
        check_agreement(case, {"numpy": good, "tapegrad": bad})


def test_masking_off_restores_the_flags():
    import tapegrad as tg

    def flags():
        return {
            (name, flag): getattr(prim, flag)
            for name, prim in tg.primitives().items()
            for flag in run.MASKING_FLAGS
            if hasattr(prim, flag)
        }

    before = flags()
    assert any(before.values())
    with run.masking_off():
        assert not any(flags().values())
    assert flags() == before


def test_masking_off_really_turns_the_masking_off():
    # where(x > 0, sqrt(x), 0) at x = 0: masked, the gradient is 0; without
    # the masking it is NaN (0 * inf), as in the peer engines. If the engine
    # renames its switch, this fails instead of the guard table lying.
    import tapegrad as tg

    def masked_sqrt(x):
        return tg.sum(tg.where(x > 0, x**0.5, 0.0))

    x0 = np.array([0.0, 4.0])
    assert np.array_equal(tg.grad(masked_sqrt)(x0), [0.0, 0.25])
    with run.masking_off():
        assert np.isnan(tg.grad(masked_sqrt)(x0)[0])


def test_run_py_prints_every_row():
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--smoke",
            "--peers",
            "none",
            "--repeats",
            "1",
            "--warmup",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = done.stdout
    assert "WRONG GRADIENT" not in table
    for row in (
        "| tiny-chain | forward (recording) |",
        "| tiny-chain | forward+backward |",
        "| mlp-step float64 |",
        "| mlp-step float32 |",
        "| deep-chain |",
        "| many-small-params |",
        "| memory (mlp-step float64) | peak RSS above baseline |",
        "| memory (mlp-step float64) | tracemalloc peak |",
    ):
        assert row in table, f"missing row {row!r} in:\n{table}"
    assert "OMP/OPENBLAS/MKL_NUM_THREADS=1" in table
    assert "What the guards cost" in table


def test_a_missing_dependency_is_a_row_of_n_a(monkeypatch, capsys):
    # While tg.nn is missing (or a peer is not installed) the suite still
    # prints every row, naming what is missing, instead of stopping.
    monkeypatch.setitem(sys.modules, "tapegrad.nn.functional", None)
    case = mlp_step.build(np.float64, "smoke", peers=())
    assert all(isinstance(impl, Unavailable) for impl in case.impls.values())
    quick = ["--smoke", "--peers", "none", "--repeats", "1", "--warmup", "0"]
    status = run.main([*quick, "--no-memory", "--no-guards", "--only", "mlp-step"])
    assert status == 0
    table = capsys.readouterr().out
    assert table.count("n/a (tg.nn not available yet") >= 4
    assert "| mlp-step float32 | forward+backward |" in table


def test_a_missing_peer_is_unavailable_not_an_error():
    unavailable = try_build(peer_module, "no_such_peer_engine")
    assert isinstance(unavailable, Unavailable)
    assert "no_such_peer_engine not installed" in unavailable.reason
