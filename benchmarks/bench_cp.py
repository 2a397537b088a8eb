"""The CP family's costs (run on demand: python benchmarks/bench_cp.py).

Prints, from one run: the time of one gradient in the Gram form and in the tensor form on both
sides of the crossover H = p^{nu-1} (and which one the simulator picks), and the wall time of the
family's quick profile (target: under 2 minutes on 2 cores, cache off).
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
from prismcat_cp import gram

CASES = [(32, 100, 3), (16, 256, 3), (8, 128, 3), (5, 3125, 3), (6, 1296, 3), (16, 4, 4), (4, 256, 4)]


def per_gradient(fn, U, nu, repeat=3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(U, nu)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    print("one gradient, 16 seeds batched (seconds)")
    print(f"{'p':>4} {'H':>6} {'nu':>3} {'gram':>10} {'tensor':>10} {'ratio':>7}  chosen")
    for p, H, nu in CASES:
        sym = nu % 2 == 0
        U = np.stack([gram.draw(p, H, 0.3, nu, sym, s) for s in range(16)])
        g, t = per_gradient(gram.grad, U, nu), per_gradient(gram.tensor_grad, U, nu)
        print(f"{p:>4} {H:>6} {nu:>3} {g:>10.4f} {t:>10.4f} {g / t:>7.1f}  {gram.formulation(p, H, nu)}")
    import prismcat

    ids = [e.id for e in prismcat.load_catalog() if e.family.name == "cp"]
    cli = [sys.executable, "-c", "from prismcat.cli import main; raise SystemExit(main())"]
    t0 = time.perf_counter()
    args = ["validate", *ids, "--no-cache", "--no-progress", "--report", "/tmp/bench-cp-report"]
    run = subprocess.run([*cli, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    print(f"\nquick profile of the {len(ids)} CP entries, cache off: {wall:.1f} s (target 120 s)")
    lines = run.stdout.strip().splitlines()
    print(lines[-2] if len(lines) > 1 else run.stderr[-500:])


if __name__ == "__main__":
    main()
