"""The cost model against the clock: what the design's estimate promised and what the simulations
took, per entry, from one run (in process, one core, a cold cache).

    python benchmarks/bench_cost_model.py [IDS ...] [--catalog DIR]

The design sizes ladders and seeds from the family's cost model (operations, run at
policy.FLOP_RATE); an optimistic model overspends the budget, a pessimistic one starves the
design. Prints, per entry: the seeds per point, the estimate for every task it ran, the CPU time
of the whole validation (simulations and checks) and their ratio. Default: the designed entries
of the packaged catalogue.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from prismcat.catalog import load_catalog
from prismcat.validation import policy
from prismcat.validation.cache import DiskCache
from prismcat.validation.design import ladder
from prismcat.validation.runner import validate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ids", nargs="*", default=["large-data", "mean-field"])
    ap.add_argument("--catalog", type=Path, default=None)
    args = ap.parse_args()
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
