"""Resolution, power and calibration of the packaged catalogue's validation, from one run.

    python benchmarks/bench_power.py [--profile quick] [--offsets 10] [--deltas 0.05 0.02]

Prints (1) per entry: wall time, each loss's resolution (amplitude and clock, the error detected
with probability 0.8), the rate and its resolution, the verdict; (2) ``prismcat power`` at each
delta: perturbations caught, excused by a declared resolution, missed, by kind of cell; (3) the
unperturbed catalogue at ``--offsets`` seed offsets 0, 1000, 2000, ... (disjoint seeds, so each
is an independent validation): the failing checks,
against the design's expected false alarms (policy.ALPHA per test). The cache (``--cache-dir``)
makes a rerun cheap; delete it for cold timings.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from prismcat.catalog.loader import load_catalog
from prismcat.paths import default_catalog_dir
from prismcat.validation import policy
from prismcat.validation.cache import DiskCache
from prismcat.validation.power import power
from prismcat.validation.runner import validate

BAD = ("fail", "error")
OFFSET_STEP = max(1000, policy.MAX_SEEDS)  # above any seed count: disjoint seed sets


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2g}%"


def resolution_table(v) -> list[str]:
    lines = [
        "| entry | cell | wall s | train: resolution (clock) | population: resolution (clock) "
        "| rate (train / pop) | declared | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in v.runs:
        checks = {c.checker: c for c in r.checks}
        ex = checks.get("extrapolation")
        rate = checks.get("convergence") or checks.get("cauchy")
        cells = []
        for loss in ("train", "population"):
            d = ex.details.get(loss) if ex else None
            ok = isinstance(d, dict)
            cells.append(f"{pct(d['resolution'])} ({pct(d['resolution_clock'])})" if ok else "-")
        rates = []
        for loss in ("train", "population"):
            d = rate.details.get(loss) if rate else None
            if isinstance(d, dict) and "fitted_rate" in d:
                rates.append(f"{d['fitted_rate']:.2f} +- {d['rate_se']:.2f}")
        a = r.settings.achievable if r.settings else {}
        declared = []
        if a.get("formula") is not None:
            declared.append(pct(a["formula"]))
        if a.get("rate") is not None:
            declared.append(f"rate {a['rate']:g}")
        if a and not a.get("extrapolate", True):
            declared.append("not extrapolable")
        lines.append(
            f"| {r.entry.id} | {r.entry.cell.kind} | {r.seconds:.1f} | {cells[0]} | {cells[1]} "
            f"| {' / '.join(rates) or '-'} | {', '.join(declared) or '-'} | {r.status} |"
        )
    return lines


def power_table(report, catalog) -> list[str]:
    kinds = {e.id: e.cell.kind for e in catalog}
    rows: dict[str, Counter] = {}
    for o in report.outcomes:
        c = rows.setdefault(kinds[o.entry], Counter())
        c["total"] += 1
        c["caught"] += o.caught
        c["excused"] += (not o.caught) and bool(o.excused)
        c["missed"] += (not o.caught) and not o.excused
    lines = [f"power at delta = {100 * report.delta:g}%: " + ("ok" if report.ok else "NOT ok")]
    lines += ["| cells | perturbations | caught | excused (declared) | missed |", "|---|---|---|---|---|"]
    for kind, c in rows.items():
        lines.append(f"| {kind} | {c['total']} | {c['caught']} | {c['excused']} | {c['missed']} |")
    for o in report.missed:
        lines.append(f"  missed: {o.entry}: {o.perturbation.label}")
    for entry, why in report.problems.items():
        lines.append(f"  not assessed: {entry}: {why[:160]}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", choices=["quick", "thorough"])
    ap.add_argument("--offsets", type=int, default=10, help="seed offsets for the false-alarm count")
    ap.add_argument("--deltas", type=float, nargs="*", default=[0.05, 0.02])
    ap.add_argument("--cache-dir", type=Path, default=Path(".prismcat-cache"))
    ap.add_argument("--catalog", type=Path, default=None)
    args = ap.parse_args()
    catalog = load_catalog(args.catalog or default_catalog_dir())
    cache = DiskCache(args.cache_dir)

    t0 = time.perf_counter()
    v = validate(catalog, profile=args.profile, cache=cache, progress=True)
    wall = time.perf_counter() - t0
    hits, misses = v.cache["hits"], v.cache["misses"]
    print(f"\n## {args.profile} profile: {wall:.1f} s wall, cache {hits} hits / {misses} misses\n")
    print("\n".join(resolution_table(v)))
    for delta in args.deltas:
        t0 = time.perf_counter()
        report = power(catalog, delta=delta, profile=args.profile, cache=cache, progress=False)
        table = "\n".join(power_table(report, catalog))
        print(f"\n{table}\n({time.perf_counter() - t0:.1f} s)")

    if args.offsets > 1:
        tests = 0  # per loss: the extrapolation's sup and two matched tests, and one rate test
        for r in v.runs:
            names = {c.checker for c in r.checks if c.status != "skip"}
            losses = len(r.measurements[0].losses) if r.measurements else 0
            tests += losses * (3 * ("extrapolation" in names) + bool(names & {"convergence", "cauchy"}))
        print(f"\n## false alarms over {args.offsets} seed offsets ({args.profile})\n")
        print(
            f"design: ALPHA = {policy.ALPHA:g} per test, about {tests} tests per run: "
            f"{tests * policy.ALPHA:.3f} expected false alarms per run"
        )
        failures: Counter = Counter()
        for i in range(args.offsets):
            offset = i * OFFSET_STEP  # disjoint sets of seeds: independent validations
            t0 = time.perf_counter()
            run = v
            if offset:
                run = validate(catalog, profile=args.profile, cache=cache, progress=False, seed_offset=offset)
            bad = [(r.entry.id, c.checker) for r in run.runs for c in r.checks if c.status in BAD]
            failures.update(c for _, c in bad)
            print(f"offset {offset}: {len(bad)} failing check(s) {bad} ({time.perf_counter() - t0:.0f} s)")
        print(f"total failing checks over {args.offsets} offsets: {dict(failures) or 0}")


if __name__ == "__main__":
    main()
