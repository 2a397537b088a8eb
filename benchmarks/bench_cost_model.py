"""The cost model against the clock: what the design's estimate promised and what the simulations
took, per entry, from one run (in process, one core, a cold cache).

    python benchmarks/bench_cost_model.py [IDS ...] [--catalog DIR] [--blocks]

The design sizes ladders and seeds from the family's cost model (operations, run at
policy.FLOP_RATE); an optimistic model overspends the budget, a pessimistic one starves the
design. Prints, per entry: the seeds per point, the estimate for every task it ran, the CPU time
of the whole validation (simulations and checks) and their ratio. Default: the designed entries
of the packaged catalogue. ``--blocks`` instead times one seed block (8 seeds, one BLAS thread)
of each face at small and middle sizes against its estimate, where call overhead, not
arithmetic, sets the cost (docs/design-status.md#seeds-against-ladder-height).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from prismcat.catalog import load_catalog
from prismcat.validation import policy
from prismcat.validation.cache import DiskCache
from prismcat.validation.design import designs_for, ladder
from prismcat.validation.runner import validate

BLOCKS = [("free", N) for N in (4, 8, 16, 32, 64)] + [
    ("narrow-latent", 16),
    ("narrow-latent", 32),
    ("narrow-latent", 128),
    ("mean-field", 8),
    ("large-data", 4),
]


def blocks() -> None:
    """One seed block per (face, N), its validation block cut to the physics, timed in process."""
    import dataclasses

    from bench_budget import physics_only
    from threadpoolctl import threadpool_limits

    from prismcat.simulation.api import get_simulator, run_batch

    sim = get_simulator("numpy")
    print("| face | N | sizes | estimate ms | taken ms | taken / estimate |")
    print("|---|---|---|---|---|---|")
    for face, N in BLOCKS:
        with tempfile.TemporaryDirectory() as tmp:
            physics_only(face, Path(tmp) / "c")
            entry = load_catalog(Path(tmp) / "c").get(face)
        st = dataclasses.replace(designs_for(entry)[0], ladder=(float(N),), seeds=policy.SEED_BLOCK)
        (rung,) = ladder(entry, st)
        estimate = rung.family.cost(rung.problems, None) / policy.FLOP_RATE
        with threadpool_limits(1):
            run_batch(sim, rung.problems)  # warm: first calls load code
            t0 = time.perf_counter()
            run_batch(sim, rung.problems)
            taken = time.perf_counter() - t0
        label = rung.family.label(rung.sizes)
        ms = f"{estimate * 1e3:.1f} | {taken * 1e3:.1f}"
        print(f"| {face} | {N} | {label} | {ms} | {taken / estimate:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ids", nargs="*", default=["large-data", "mean-field"])
    ap.add_argument("--catalog", type=Path, default=None)
    ap.add_argument("--blocks", action="store_true", help="time single seed blocks of the faces")
    args = ap.parse_args()
    if args.blocks:
        return blocks()
    cat = load_catalog(args.catalog) if args.catalog else load_catalog()
    print("| entry | seeds per point | estimate s | CPU s | CPU / estimate |")
    print("|---|---|---|---|---|")
    for entry_id in args.ids:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.process_time()
            v = validate(cat, [entry_id], cache=DiskCache(Path(tmp)), progress=False, jobs=1)
            cpu = time.process_time() - t0
        (run,) = v.runs
        points = run.all_points()
        operations = sum(
            rung.family.cost(rung.problems, None) for p in points for rung in ladder(run.entry, p.settings)
        )
        estimate = operations / policy.FLOP_RATE
        seeds = ", ".join(str(p.settings.seeds) for p in points)
        print(f"| {entry_id} | {seeds} | {estimate:.2f} | {cpu:.2f} | {cpu / estimate:.2f} |", flush=True)


if __name__ == "__main__":
    main()
