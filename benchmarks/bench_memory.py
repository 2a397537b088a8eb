"""How well the simulation planner's memory estimate (``prismcat.simulation.plan.memory``)
predicts what a batch really allocates, from one run: for each case, the estimate, the peak
that ``tracemalloc`` sees while ``simulate`` runs (after a warm-up run, so that one-time
allocations of imports and caches are not counted), and their ratio. The feasibility lint and
the ``--max-memory`` refusal rely on this estimate: it must not fall short of the peak (ratio
>= 0.95, allowing for allocator rounding); above 1 it only refuses a little early (the fixed-step
integrators keep fewer states than it counts: up to 2x for Euler).

    python benchmarks/bench_memory.py
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from prismcat.budget import fmt_bytes
from prismcat.simulation import Integrator, Problem, simulate
from prismcat.simulation.plan import memory, resolve

CASES = [  # d, k, n, integrator, seeds in one batch
    (200, 50, 400, "adaptive", 4),
    (200, 50, 100, "adaptive", 4),
    (200, 400, 400, "adaptive", 2),
    (400, 100, 800, "rk4", 2),
    (300, 30, 3000, "euler", 4),
    (100, 100, 50, "adaptive", 8),
]
BAND = (0.95, 2.0)


def problems(d: int, k: int, n: int, method: str, seeds: int) -> list[Problem]:
    times = tuple(np.linspace(0, 2, 31))
    return [
        Problem(d=d, k=k, n=n, sigma2=1.0 / d, times=times, seed=s, integrator=Integrator(method=method))
        for s in range(seeds)
    ]


def main() -> None:
    for method in ("adaptive", "rk4", "euler"):  # warm-up: imports, caches, the solvers' first use
        simulate(problems(20, 5, 40, method, 1))
    print(
        f"{'d':>5} {'k':>5} {'n':>5} {'integrator':10} {'seeds':>5} {'formulation':12} "
        f"{'estimate':>10} {'peak':>10} {'ratio':>6}"
    )
    worst = []
    for d, k, n, method, seeds in CASES:
        batch = problems(d, k, n, method, seeds)
        plan = resolve(batch[0])
        estimate = memory(batch[0], plan.formulation, seeds, plan.integrator.method)
        tracemalloc.start()
        tracemalloc.reset_peak()
        simulate(batch)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        ratio = estimate / peak
        worst.append(ratio)
        print(
            f"{d:5} {k:5} {n:5} {method:10} {seeds:5} {plan.formulation:12} "
            f"{fmt_bytes(estimate):>10} {fmt_bytes(peak):>10} {ratio:6.2f}"
        )
    inside = all(BAND[0] <= r <= BAND[1] for r in worst)
    print(
        f"ratios {min(worst):.2f}-{max(worst):.2f}; target {BAND[0]:g}-{BAND[1]:g} "
        f"(allocator rounding allowed below 1): {'met' if inside else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
