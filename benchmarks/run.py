"""Run the benchmark suite and print a markdown table: ``python benchmarks/run.py``.

Every workload runs the numpy reference, tapegrad and the peers that are
installed (PyTorch CPU, HIPS autograd, MyGrad, JAX) in this one process;
times are medians after warm-up, reported with their ratio to the numpy
reference. BLAS (and torch, and XLA) run single-threaded unless
``--threads`` says otherwise. ``--smoke`` runs every workload at a tiny size
in seconds (what the CI smoke test does). See benchmarks/README.md.
"""

from __future__ import annotations

import os
import sys

_THREADS = "1"
for _i, _arg in enumerate(sys.argv):
    if _arg == "--threads" and _i + 1 < len(sys.argv):
        _THREADS = sys.argv[_i + 1]
    elif _arg.startswith("--threads="):
        _THREADS = _arg.split("=", 1)[1]
if __name__ == "__main__":
    # Thread counts must be fixed before numpy (or any BLAS) is imported.
    # Imported as a module (by the smoke test) it leaves the environment alone.
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _THREADS
    os.environ.setdefault(
        "XLA_FLAGS",
        "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=" + _THREADS,
    )
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

# Benchmark the working tree's tapegrad, and import the workloads as a package.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.harness import (  # noqa: E402
    PEERS,
    REFERENCE,
    Impl,
    Unavailable,
    check_agreement,
    format_ratio,
    format_time,
    markdown_table,
    measure_interleaved,
    peer_versions,
    short_reason,
)
from benchmarks.workloads import (  # noqa: E402
    deep_chain,
    many_small_params,
    mlp_step,
    tiny_chain,
    transforms,
)

TAPEGRAD_ENGINES = ("tapegrad", "tapegrad (elementary)")
COMPILED = "tapegrad compiled"  # tg.compile: traced once, replayed (issue 14)

# (case name, engine, measure) -> the target ratio to the numpy reference.
TARGETS = {
    ("tiny-chain", "tapegrad", "forward"): 2.0,
    ("tiny-chain", "tapegrad", "run"): 3.0,
    ("mlp-step float64", "tapegrad", "run"): 1.0,
    ("mlp-step float64", "tapegrad (elementary)", "run"): 1.3,
    ("mlp-step float32", "tapegrad", "run"): 1.0,
    ("mlp-step float32", "tapegrad (elementary)", "run"): 1.3,
    ("deep-chain", "tapegrad", "run"): 3.0,
    ("many-small-params", "tapegrad", "run"): 3.0,
    ("memory", "tapegrad", "run"): 1.1,
    ("tiny-chain", COMPILED, "run"): 1.3,
    ("deep-chain", COMPILED, "run"): 1.3,
    ("many-small-params", COMPILED, "run"): 1.5,
    ("mlp-step float64", COMPILED, "run"): 0.75,
    ("mlp-step float32", COMPILED, "run"): 0.75,
}


def build_cases(smoke=False, readonly=False, peers=None):
    """Every workload's Case, in table order.

    ``readonly``: constants are read-only arrays; ``peers``: the peers to
    build (None: all, each n/a if not installed).
    """
    size = "smoke" if smoke else "full"
    return [
        tiny_chain.build(n_ops=40 if smoke else 2000, peers=peers),
        mlp_step.build(np.float64, size, readonly_inputs=readonly, peers=peers),
        mlp_step.build(np.float32, size, readonly_inputs=readonly, peers=peers),
        deep_chain.build(n_ops=400 if smoke else 20_000, peers=peers),
        many_small_params.build(
            n_params=20 if smoke else 1000, readonly_constants=readonly, peers=peers
        ),
    ]


# -- measuring ------------------------------------------------------------------


def run_case(case, args):
    """{engine: {"run": Timing | reason, "forward": Timing}} for one case.

    Each engine's gradients are checked against the reference first; an
    engine that disagrees is reported, not timed.
    """
    results = {}
    grads = {}
    for engine, impl in case.impls.items():
        if isinstance(impl, Unavailable):
            results[engine] = {"run": f"n/a ({short_reason(impl.reason)})"}
            continue
        try:
            grads[engine] = impl.run()
        except Exception as error:  # a peer's limit (recursion depth, ...) is a finding
            results[engine] = {
                "run": f"failed ({short_reason(f'{type(error).__name__}: {error}')})"
            }
            continue
    if REFERENCE in grads:
        for engine in list(grads):
            try:
                check_agreement(case, {REFERENCE: grads[REFERENCE], engine: grads[engine]})
            except AssertionError as error:
                print(f"warning: {short_reason(error, 400)}", file=sys.stderr)
                results[engine] = {"run": "WRONG GRADIENT (see stderr)"}
                del grads[engine]
    fns, budgets = {}, {}
    for engine in grads:
        impl = case.impls[engine]
        budget = None if engine in (REFERENCE, *TAPEGRAD_ENGINES, COMPILED) else args.budget
        fns[engine, "run"] = impl.run
        budgets[engine, "run"] = budget
        if impl.forward is not None:
            fns[engine, "forward"] = impl.forward
            budgets[engine, "forward"] = budget
    timings = measure_interleaved(fns, repeats=args.repeats, warmup=args.warmup, budgets=budgets)
    for (engine, measure_name), timing in timings.items():
        results.setdefault(engine, {})[measure_name] = timing
    print(f"  {case.name:18s} timed", file=sys.stderr)
    return results


def measure_guards(case, readonly_case, args):
    """{variant: Timing} of tapegrad with guards on, masking off, constants read-only."""
    results = {}
    for engine in TAPEGRAD_ENGINES:
        impl = case.impls.get(engine)
        if not isinstance(impl, Impl):
            continue
        fns = {"on": impl.run, "masking off": _without_masking(impl.run)}
        readonly = readonly_case.impls.get(engine) if readonly_case is not None else None
        if isinstance(readonly, Impl):
            fns["read-only"] = readonly.run
        results[engine] = measure_interleaved(fns, repeats=args.repeats, warmup=args.warmup)
    print(f"  {case.name:18s} guards timed", file=sys.stderr)
    return results


def _without_masking(fn):
    def run_without_masking():
        with masking_off():
            return fn()

    return run_without_masking


# Primitive attributes that switch the NaN-safe masking on (``probes_nan`` is
# the engine's precomputed "elementwise and not zero_preserving").
MASKING_FLAGS = ("elementwise", "probes_nan")


@contextlib.contextmanager
def masking_off():
    """Turn off the engine's NaN-safe masking of elementwise cotangents.

    The masking (``_zero_where_unused`` in tapegrad/primitive.py, and the NaN
    probe inlined in ``run_backward``) runs for primitives whose flags above
    are set; clearing them on every registered primitive skips it, which is
    what it costs.
    """
    import tapegrad as tg

    saved = [
        (prim, flag, getattr(prim, flag))
        for prim in tg.primitives().values()
        for flag in MASKING_FLAGS
        if hasattr(prim, flag)
    ]
    for prim, flag, _value in saved:
        setattr(prim, flag, False)
    try:
        yield
    finally:
        for prim, flag, value in saved:
            setattr(prim, flag, value)


# -- transforms -------------------------------------------------------------------


def measure_transforms(args):
    """[(group, {key: Timing})] for the forward-mode, Jacobian and Hessian rows."""
    results = []
    for group in transforms.build(smoke=args.smoke):
        timings = measure_interleaved(group.fns, repeats=args.repeats, warmup=args.warmup)
        results.append((group, timings))
        print(f"  {group.name:18s} timed", file=sys.stderr)
    return results


def transforms_table(results):
    header = ["transform", "measure", "time", "vs baseline", "target", "status"]
    rows = []
    for group, timings in results:
        base = timings[group.baseline].median
        for key, timing in timings.items():
            ratio = timing.median / base
            target, status = "", ""
            if group.target is not None and group.target[0] == key:
                limit = group.target[1]
                target = f"<= {limit}x {group.baseline}"
                status = (
                    "met" if ratio <= limit else f"NOT met ({(ratio / limit - 1) * 100:.0f}% over)"
                )
            label = f"{key} (baseline)" if key == group.baseline else key
            time_text = format_time(timing.median, group.unit, group.n_ops)
            rows.append([group.name, label, time_text, f"{ratio:.2f}x", target, status])
        for key, note in group.notes.items():
            rows.append([group.name, key, note, "", "", ""])
    return markdown_table(header, rows)


# -- memory ---------------------------------------------------------------------


def _status_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def memory_child(engine, dtype, smoke):
    """Peak memory of one mlp-step of ``engine``; prints JSON (run in a fresh process)."""
    import ctypes
    import gc
    import tracemalloc

    def fresh_impl():
        # A new case per measurement: leaves holding the last step's .grad
        # would be freed during the step and hide part of its peak.
        case = mlp_step.build(np.dtype(dtype), "smoke" if smoke else "full", peers={engine})
        return case.impls.get(engine)

    impl = fresh_impl()
    if not isinstance(impl, Impl):
        reason = impl.reason if impl is not None else "unknown engine"
        print(json.dumps({"error": reason}))
        return
    impl.run()  # warm-up: lazy imports, kernel caches, first-call allocations
    result = {}
    # Resident set: works for every engine (torch and XLA allocate outside
    # Python's view). Freed heap is returned to the OS first, and the kernel's
    # high-water mark reset, so the peak is this step's own.
    impl = fresh_impl()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        baseline = _status_kb("VmRSS")
        impl.run()
        result["rss"] = (_status_kb("VmHWM") - baseline) * 1024
    except OSError as error:
        result["rss_error"] = str(error)
    # tracemalloc: exact, but sees only allocations made through Python's
    # allocator hooks; numpy (>= 1.13, and numpy 2) reports its data buffers there.
    impl = fresh_impl()
    gc.collect()
    tracemalloc.start()
    impl.run()
    result["traced"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps(result))


def measure_memory(engines, args):
    results = {}
    for engine in engines:
        command = [sys.executable, os.path.abspath(__file__), "--memory-child", engine]
        command += ["--threads", _THREADS] + (["--smoke"] if args.smoke else [])
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        try:
            results[engine] = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            results[engine] = {"error": short_reason(done.stderr.strip().splitlines()[-1:])}
        print(f"  memory             {engine:22s} done", file=sys.stderr)
    return results


# -- the report -------------------------------------------------------------------


def _cell(entry, measure_name, unit, n_ops, reference):
    if entry is None:
        return "-"
    value = entry.get(measure_name)
    if value is None:
        return entry.get("run") if isinstance(entry.get("run"), str) else "-"
    if isinstance(value, str):
        return value
    text = format_time(value.median, unit, n_ops)
    if reference is not None:
        text += f" ({format_ratio(value.median, reference)})"
    return text


def _ref_time(results, measure_name):
    entry = results.get(REFERENCE, {})
    value = entry.get(measure_name)
    return value.median if value is not None and not isinstance(value, str) else None


def _target(case_name, engine, measure_name, ratio):
    target = TARGETS.get((case_name, engine, measure_name))
    if target is None:
        return "", ""
    if ratio is None:
        return f"<= {target}x", "n/a"
    if ratio <= target:
        return f"<= {target}x", "met"
    over = (ratio / target - 1) * 100
    digits = 1 if over < 10 else 0
    return f"<= {target}x", f"NOT met ({over:.{digits}f}% over)"


def main_table(cases, all_results, peers_shown):
    header = ["workload", "measure", "numpy", "engine", "time", "vs numpy", "target", "status"]
    header += peers_shown
    rows = []
    for case in cases:
        results = all_results[case.name]
        measures = [("forward", "forward (recording)"), ("run", "forward+backward")]
        if case.name != "tiny-chain":
            measures = [("run", "forward+backward")]
        for measure_name, label in measures:
            reference = _ref_time(results, measure_name)
            for engine in [e for e in (*TAPEGRAD_ENGINES, COMPILED) if e in results]:
                entry = results[engine]
                value = entry.get(measure_name)
                ratio = None
                if value is not None and not isinstance(value, str) and reference:
                    ratio = value.median / reference
                time_text = _cell(entry, measure_name, case.unit, case.n_ops, None)
                target, status = _target(case.name, engine, measure_name, ratio)
                row = [
                    case.name,
                    label,
                    _cell(results.get(REFERENCE), measure_name, case.unit, case.n_ops, None),
                    engine,
                    time_text,
                    f"{ratio:.2f}x" if ratio is not None else "",
                    target,
                    status,
                ]
                show_peers = engine == "tapegrad" or "tapegrad" not in results
                for peer in peers_shown:
                    row.append(
                        _cell(results.get(peer), measure_name, case.unit, case.n_ops, reference)
                        if show_peers
                        else ""
                    )
                rows.append(row)
    return markdown_table(header, rows)


def trace_time_lines(smoke):
    """How long tg.compile's first call (the trace, itself an eager run) takes."""
    import tapegrad as tg

    lines = []
    for n_ops in (40,) if smoke else (2000, 20_000):
        x0 = np.random.default_rng(0).standard_normal(8)
        loss = functools.partial(_chain_loss, tg=tg, n_ops=n_ops)
        compiled = tg.compile(tg.grad(loss))
        start = time.perf_counter()
        compiled(x0)
        traced = time.perf_counter() - start
        start = time.perf_counter()
        tg.grad(loss)(x0)
        eager = time.perf_counter() - start
        lines.append(
            f"trace of a {n_ops:,}-op tiny-chain gradient (tg.compile's first call): "
            f"{traced:.2f} s (one eager call: {eager:.3f} s)"
        )
    return "\n".join(lines)


def _chain_loss(x, tg, n_ops):
    return tg.sum(tiny_chain.chain(x, tg.tanh, n_ops))


def memory_table(memory, peers_shown):
    header = ["workload", "measure", "numpy", "engine", "peak", "vs numpy", "target", "status"]
    header += peers_shown
    rows = []
    for key, label in (("rss", "peak RSS above baseline"), ("traced", "tracemalloc peak")):
        reference = memory.get(REFERENCE, {}).get(key)

        def cell(engine, with_ratio, key=key, reference=reference):
            entry = memory.get(engine)
            if entry is None:
                return "-"
            if "error" in entry:
                return f"n/a ({short_reason(entry['error'])})"
            if engine in ("PyTorch", "JAX") and key == "traced":
                return "n/a (allocates outside Python)"
            value = entry.get(key)
            if value is None:
                return "n/a"
            text = f"{value / 2**20:.1f} MiB" if value >= 2**20 else f"{value / 2**10:.0f} KiB"
            if with_ratio and reference:
                text += f" ({value / reference:.2f}x)"
            return text

        for engine in [e for e in TAPEGRAD_ENGINES if e in memory]:
            value = memory[engine].get(key)
            ratio = value / reference if value is not None and reference else None
            target, status = _target("memory", engine, "run", ratio)
            rows.append(
                [
                    "memory (mlp-step float64)",
                    label,
                    cell(REFERENCE, False),
                    engine,
                    cell(engine, False),
                    f"{ratio:.2f}x" if ratio is not None else "",
                    target,
                    status,
                ]
                + [cell(p, True) if engine == "tapegrad" else "" for p in peers_shown]
            )
    return markdown_table(header, rows)


def guard_table(cases, guards):
    header = ["workload", "engine", "all guards on", "masking off", "masking cost"]
    header += ["constants read-only", "copy-guard cost"]
    rows = []
    for case in cases:
        for engine, timings in guards.get(case.name, {}).items():
            on = timings["on"].median
            row = [case.name, engine, format_time(on, case.unit, case.n_ops)]
            for variant in ("masking off", "read-only"):
                other = timings.get(variant)
                if other is None:
                    row += ["-", "no array constants"]
                    continue
                cost = on / other.median - 1
                flag = " (> 10%)" if cost > 0.10 else ""
                row += [format_time(other.median, case.unit, case.n_ops), f"{cost:+.0%}{flag}"]
            rows.append(row)
    return markdown_table(header, rows)


def environment_lines(args):
    command = " ".join(["python benchmarks/run.py", *sys.argv[1:]])
    lines = [f"- command: `{command}`"]
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    lines.append(f"- machine: {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}")
    blas = "threadpoolctl not installed"
    with contextlib.suppress(ImportError):
        import threadpoolctl

        blas = ", ".join(
            f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture')}, "
            f"{info.get('num_threads')} thread(s))"
            for info in threadpoolctl.threadpool_info()
        )
    lines.append(f"- numpy {np.__version__}; BLAS: {blas}")
    lines.append(
        f"- threads: OMP/OPENBLAS/MKL_NUM_THREADS={_THREADS}, torch.set_num_threads({_THREADS}), "
        "XLA single-threaded Eigen"
    )
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        lines.append(
            f"- OPENBLAS_CORETYPE={coretype} (and OPENBLAS_L2_SIZE="
            f"{os.environ.get('OPENBLAS_L2_SIZE', 'unset')}) are set on this machine and were "
            "left as they are: OpenBLAS runs that kernel, which can be slower than the one it "
            "would pick; every engine that uses numpy's BLAS shares it"
        )
    import tapegrad

    versions = peer_versions()
    lines.append(
        f"- tapegrad {tapegrad.__version__} ({_git_revision()}); peers: "
        + (", ".join(f"{k} {v}" for k, v in versions.items()) or "none installed")
    )
    lines.append(
        f"- medians of {args.repeats} runs after {args.warmup} warm-up runs (slow peers: at "
        f"least 3 runs, at most {args.budget:g} s); gc on, collected before each run"
    )
    return lines


def _git_revision():
    """The commit measured, marked when the working tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "-C", _ROOT, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", _ROOT, "status", "--porcelain", "--", "tapegrad"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown"
    return f"commit {commit}" + (" + uncommitted changes in tapegrad/" if dirty else "")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds in all")
    parser.add_argument("--repeats", type=int, default=None, help="default 7 (smoke: 3)")
    parser.add_argument("--warmup", type=int, default=None, help="default 2 (smoke: 1)")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per slow peer")
    parser.add_argument("--threads", default="1", help="BLAS/torch/XLA threads (default 1)")
    parser.add_argument(
        "--peers",
        default=None,
        help="comma-separated peers to run (default: every installed one; 'none' for none)",
    )
    parser.add_argument("--only", default=None, help="comma-separated workload names")
    parser.add_argument("--no-guards", action="store_true", help="skip the guard-cost table")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory row")
    parser.add_argument(
        "--no-transforms", action="store_true", help="skip the jvp/jacobian/hessian table"
    )
    parser.add_argument("--json", default=None, help="also write raw medians to this file")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="float64", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.smoke else 7
    if args.warmup is None:
        args.warmup = 1 if args.smoke else 2
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.dtype, args.smoke)
        return 0
    if args.peers is None:
        peers = None
    elif args.peers.strip().lower() == "none":
        peers = set()
    else:
        peers = {p.strip() for p in args.peers.split(",")}
    started = time.perf_counter()

    cases = build_cases(args.smoke, peers=peers)
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        cases = [c for c in cases if c.name in wanted or c.name.split()[0] in wanted]
    peers_shown = [p for p in PEERS if any(p in c.impls for c in cases)]

    all_results = {case.name: run_case(case, args) for case in cases}

    memory = None
    wants_memory = not args.no_memory and (args.only is None or "memory" in args.only)
    if wants_memory:
        memory = measure_memory([REFERENCE, *TAPEGRAD_ENGINES, *peers_shown], args)

    transform_results = None
    if not args.no_transforms and (args.only is None or "transforms" in args.only):
        transform_results = measure_transforms(args)

    guards = None
    if not args.no_guards:
        # Only workloads with array constants have a copy guard to switch off.
        readonly_cases = {
            c.name: c
            for c in build_cases(args.smoke, readonly=True, peers=())
            if c.name.startswith(("mlp-step", "many-small-params"))
        }
        guards = {
            case.name: measure_guards(case, readonly_cases.get(case.name), args) for case in cases
        }

    print("## tapegrad benchmarks\n")
    print("\n".join(environment_lines(args)))
    print()
    print(main_table(cases, all_results, peers_shown))
    print()
    print(trace_time_lines(args.smoke))
    if memory is not None:
        print()
        print(memory_table(memory, [p for p in peers_shown if p in memory]))
    if transform_results is not None:
        print("\n### Transforms: forward mode, Jacobians, Hessians\n")
        print(transforms_table(transform_results))
    if guards is not None:
        print("\n### What the guards cost (tapegrad forward+backward)\n")
        print(guard_table(cases, guards))
        print(
            "\n'masking off': the NaN-safe masking of elementwise cotangents disabled "
            "(`elementwise` and `probes_nan` False on every primitive). 'constants read-only': "
            "the inputs and constants passed as read-only arrays, so the engine's copy of "
            "writeable arrays saved for backward (the mutation guard) is skipped. "
            "Cost = on / off - 1."
        )
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(_jsonable(all_results, memory), out, indent=1)
    return 0


def _jsonable(all_results, memory):
    out = {"memory": memory or {}}
    for case_name, results in all_results.items():
        out[case_name] = {
            engine: {
                k: (v if isinstance(v, str) else {"median": v.median, "samples": v.samples})
                for k, v in entry.items()
            }
            for engine, entry in results.items()
        }
    return out


if __name__ == "__main__":
    sys.exit(main())
