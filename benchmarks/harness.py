"""What every workload shares: the case structure, timing, peers, the table.

A workload builds a :class:`Case`: one :class:`Impl` per engine (the numpy
reference first), each a zero-argument callable that runs one forward and
backward and returns the gradients as ndarrays, keyed by parameter name. The
same callables are timed by ``run.py`` and checked against each other by
``tests/test_benchmarks_smoke.py``: a benchmark that computes a wrong
gradient would be measuring the wrong thing.

An engine that cannot run here (a peer that is not installed, ``tg.nn`` not
written yet) is an :class:`Unavailable` with the reason, printed as
``n/a (reason)`` instead of stopping the suite.
"""

from __future__ import annotations

import gc
import importlib
import importlib.metadata
import importlib.util
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

REFERENCE = "numpy"

# Peers, in table order: column title -> importable module that signals it.
PEERS = {
    "PyTorch": "torch",
    "autograd": "autograd",
    "MyGrad": "mygrad",
    "JAX": "jax",
}


@dataclass
class Impl:
    """One engine's version of a workload.

    ``run`` does forward + backward and returns ``{name: gradient ndarray}``.
    ``forward`` (optional) does the forward pass only, recording whatever the
    engine records for a later backward: tiny-chain reports it separately.
    """

    run: Callable[[], dict]
    forward: Callable[[], object] | None = None


@dataclass
class Unavailable:
    reason: str


@dataclass
class Case:
    """A workload at one size: its engines and how to report it."""

    name: str
    unit: str  # "us/op" or "ms"
    n_ops: int  # times are divided by this for "us/op"
    impls: dict = field(default_factory=dict)  # engine -> Impl | Unavailable
    rtol: float = 1e-9  # gradient agreement expected between engines
    atol: float = 0.0

    def available(self):
        return {k: v for k, v in self.impls.items() if isinstance(v, Impl)}


def try_build(builder, *args, **kwargs):
    """``builder(*args)`` as an Impl, or Unavailable naming what is missing."""
    try:
        return builder(*args, **kwargs)
    except ImportError as error:
        if error.name and not str(error).startswith("cannot import"):
            return Unavailable(f"{error.name} not installed")
        return Unavailable(f"ImportError: {error}")
    except (AttributeError, NotImplementedError) as error:
        return Unavailable(f"{type(error).__name__}: {error}")


def peer_module(name):
    """Import a peer, or raise ImportError: peers are optional at run time."""
    if importlib.util.find_spec(name) is None:
        raise ImportError(f"No module named {name!r}", name=name)
    module = importlib.import_module(name)
    if name == "torch":
        # The table is single-threaded for every engine; torch ignores the
        # BLAS environment variables for its own intra-op pool.
        module.set_num_threads(1)
    if name == "jax":
        module.config.update("jax_enable_x64", True)
    return module


def peer_versions():
    versions = {}
    for title, module in PEERS.items():
        if importlib.util.find_spec(module) is None:
            continue
        try:
            versions[title] = importlib.metadata.version(module)
        except importlib.metadata.PackageNotFoundError:
            versions[title] = "?"
    return versions


# -- timing ---------------------------------------------------------------


# Calls shorter than this get an untimed call first (see measure_interleaved).
PRIME_BELOW = 0.1


@dataclass
class Timing:
    median: float  # seconds per call
    samples: list


def measure(fn, *, repeats=7, warmup=2, budget=None):
    """Median seconds of ``fn()``; see :func:`measure_interleaved`."""
    return measure_interleaved({"fn": fn}, repeats=repeats, warmup=warmup, budgets={"fn": budget})[
        "fn"
    ]


def measure_interleaved(fns, *, repeats=7, warmup=2, budgets=None):
    """``{key: Timing}``: median seconds of each ``fns[key]()`` after ``warmup`` calls.

    The callables take turns, one call each per round, so that a change in
    machine load during the measurement (other processes, frequency) hits
    every engine alike instead of skewing their ratios. ``budgets[key]``
    (seconds) caps the calls of a slow engine at what fits, with at least 3
    samples.

    A call shorter than ``PRIME_BELOW`` seconds is preceded by an untimed
    call of the same engine: after another engine's turn the caches hold
    that engine's data, which slowed the 2 ms tiny-chain floor by a third.

    The garbage collector stays on (engines that make many small objects pay
    for their collections, as in real use), but what exists before timing
    (imported peers, the inputs) is frozen out of its reach, and each call
    starts from a collected heap. Without the freeze, a full collection
    before each call walks the peers' large heaps (JAX, PyTorch) and leaves
    the caches cold: that slowed the 2 ms numpy floor of tiny-chain by up to
    50% and compressed every ratio to it.
    """
    budgets = budgets or {}
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples = {key: [] for key in fns}
    gc.collect()
    gc.freeze()
    try:
        for _ in range(repeats):
            for key, fn in fns.items():
                taken = samples[key]
                budget = budgets.get(key)
                if budget is not None and len(taken) >= 3 and sum(taken) > budget:
                    continue
                if not taken or taken[-1] < PRIME_BELOW:
                    fn()  # re-warm the caches the other engines' turns evicted
                gc.collect()
                start = time.perf_counter()
                fn()
                taken.append(time.perf_counter() - start)
    finally:
        gc.unfreeze()
    return {key: Timing(statistics.median(taken), taken) for key, taken in samples.items()}


def check_agreement(case, grads_by_engine):
    """Raise AssertionError unless every engine's gradients match the reference's."""
    reference = grads_by_engine[REFERENCE]
    for engine, grads in grads_by_engine.items():
        assert set(grads) == set(reference), (
            f"{case.name}: {engine} returned gradients for {sorted(grads)}, "
            f"the reference for {sorted(reference)}"
        )
        for key, expected in reference.items():
            got = np.asarray(grads[key])
            assert got.shape == expected.shape, (
                f"{case.name}: {engine} d/d{key} has shape {got.shape}, "
                f"the reference {expected.shape}"
            )
            np.testing.assert_allclose(
                got,
                expected,
                rtol=case.rtol,
                atol=case.atol,
                err_msg=f"{case.name}: {engine} d/d{key} differs from the numpy reference",
            )


# -- the table --------------------------------------------------------------


def format_time(seconds, unit, n_ops):
    if unit == "us/op":
        return f"{seconds / n_ops * 1e6:.2f} us/op"
    return f"{seconds * 1e3:.2f} ms"


def format_ratio(value, reference):
    if reference is None or reference == 0:
        return ""
    return f"{value / reference:.2f}x"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def short_reason(reason, limit=60):
    reason = " ".join(str(reason).split())
    return reason if len(reason) <= limit else reason[: limit - 3] + "..."
