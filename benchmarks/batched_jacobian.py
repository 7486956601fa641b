"""jacrev: a loop of VJPs over one graph, or one backward with a batch of cotangents?

Three ways to the Jacobian of ``x -> tanh(A x)``, R^n -> R^m:

- loop: one VJP per output element over one retained graph (``tg.vjp``'s
  ``vjp_fn`` called m times): what ``jacrev`` did before it batched;
- ``tg.jacrev``: one backward whose cotangent carries a leading batch axis
  (the identity, one row per output element), through ``jacobians.py``'s
  own walk, since the engine's unbroadcast step would sum that axis away;
- bound: the same two rules called by hand with the batched cotangent (no
  bookkeeping at all): the best a batched engine could do.

    python benchmarks/batched_jacobian.py
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tapegrad as tg
from tapegrad.ops import linalg, trig


def _best(fn, repeats=7):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def measure(n, m, seed=0):
    """Seconds (loop, tg.jacrev, bound) for R^n -> R^m; asserts the three agree."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n)) / np.sqrt(n)
    x0 = rng.standard_normal(n)

    def f(x):
        return tg.tanh(a @ x)

    def looped():
        _, vjp_fn = tg.vjp(f, x0)
        return np.stack([vjp_fn(e)[0] for e in np.eye(m)])

    def batched():
        return tg.jacrev(f)(x0)

    def bound():
        x = tg.Tensor(x0, requires_grad=True)
        z = a @ x
        out = tg.tanh(z)
        (g,) = trig.tanh.vjp(np.eye(m), out.data, z.data)
        return linalg.matmul.vjp(g, z.data, a, x.data, needs_grad=(False, True))[1]

    expected = looped()
    for route in (batched, bound):
        np.testing.assert_allclose(route(), expected, rtol=1e-12, atol=1e-14)
    return _best(looped), _best(batched), _best(bound)


def main():
    print("| n -> m | loop of m VJPs | tg.jacrev (batched) | rules by hand | loop / jacrev |")
    print("|---|---|---|---|---|")
    for n, m in ((10, 10), (10, 100), (10, 1000), (1000, 10)):
        loop, batch, bound = measure(n, m)
        print(
            f"| {n} -> {m} | {loop * 1e3:.2f} ms | {batch * 1e3:.2f} ms | "
            f"{bound * 1e3:.2f} ms | {loop / batch:.0f}x |"
        )


if __name__ == "__main__":
    main()
