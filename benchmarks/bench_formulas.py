"""Speed of the formula engine: one table with each entry's ``predict`` time, the consistency
checker over the whole catalogue, and the import time of ``prismcat``.

    python benchmarks/bench_formulas.py [--runs 7] [--save after.json] [--compare before.json]

``predict`` is timed after a warm-up with the solution cache cleared before every run (so the
numbers are the computation, not the cache), at the entry's defaults on t in [start, 3] with 31
points (``start`` is the validation window's, 0 for most entries: what ``prismcat predict`` does).
The consistency checker runs once, cold, over every entry it applies to. ``--save`` writes the
numbers as JSON; ``--compare`` adds a "before" column from such a file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import prismcat
from prismcat.formulas.cache import clear_caches


def predict_ms(entry: prismcat.Entry, runs: int) -> float:
    """Median wall time of one uncached ``predict`` at the defaults, in milliseconds."""
    times = np.linspace(entry.spec.validation.start, 3.0, 31)
    entry.predict(times)
    samples = []
    for _ in range(runs):
        clear_caches()
        start = time.perf_counter()
        entry.predict(times)
        samples.append(time.perf_counter() - start)
    return 1e3 * statistics.median(samples)


def consistency_s(catalog: prismcat.Catalog) -> float:
    """Seconds for the consistency checker over the whole catalogue, from a cold cache."""
    from prismcat.checkers.consistency import ConsistencyChecker
    from prismcat.validation.checks import CheckContext
    from prismcat.validation.design import settings_for

    checker = ConsistencyChecker()
    clear_caches()
    start = time.perf_counter()
    for entry in catalog:
        if checker.applies(entry, catalog):
            result = checker.check(CheckContext(entry, catalog, settings_for(entry)))
            assert result.status == "pass", result.message
    return time.perf_counter() - start


def import_s(runs: int = 5) -> float:
    """Median wall time of ``import prismcat`` in a fresh interpreter."""
    code = "import time; t = time.perf_counter(); import prismcat; print(time.perf_counter() - t)"
    return statistics.median(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(runs)
    )


def measure(runs: int) -> dict[str, float]:
    catalog = prismcat.load_catalog()
    rows = {f"predict {e.id} (ms)": predict_ms(e, runs) for e in catalog if e.has_limit}
    rows["consistency checker, whole catalogue (s)"] = consistency_s(catalog)
    rows["import prismcat (s)"] = import_s()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--save", type=Path, help="write the numbers to this JSON file")
    parser.add_argument("--compare", type=Path, help="a JSON file from --save: show it as 'before'")
    args = parser.parse_args()
    rows = measure(args.runs)
    before = json.loads(args.compare.read_text()) if args.compare else {}
    width = max(map(len, rows))
    header = f"{'':{width}}  {'before':>9}  {'now':>9}" if before else f"{'':{width}}  {'now':>9}"
    print(header)
    for name, value in rows.items():
        old = f"{before[name]:9.3g}  " if name in before else (f"{'-':>9}  " if before else "")
        print(f"{name:{width}}  {old}{value:9.3g}")
    if args.save:
        args.save.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
