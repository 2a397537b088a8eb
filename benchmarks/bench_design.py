"""The designed experiment, measured: false alarms of the sequential design, and what an entry
with no ``validation:`` block reaches, over disjoint seed sets, from one run.

    python benchmarks/bench_design.py [--sets 5] [--reps 400] [--catalog DIR] [--deltas 0.05 0.02]

Prints (1) the pilot -> allocate -> top-up procedure on synthetic ladders whose formula is right,
at alpha = 0.05 (large enough that a few hundred replications measure it): the false-alarm rate
per disjoint seed set, and how often the design added seeds; the same for rule 6 (a next order
fitted where the one-term correction misfits) on ladders with a second order of growing size,
without the rule, with a rung above and on the same ladder (half the replications); (2) for
every entry of ``--catalog`` (default: a user's large-data + mean-field edge with no validation
block, written to a temporary folder), at ``--sets`` disjoint seed offsets: the verdict (a fail
of a right formula is a false alarm), the seeds the design chose per point, the resolution
reached (amplitude / clock, power 0.99), the wall time, and ``prismcat power`` at each delta
(perturbations caught of those made).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import yaml

from prismcat.catalog import load_catalog
from prismcat.validation import policy
from prismcat.validation.cache import DiskCache
from prismcat.validation.power import power
from prismcat.validation.runner import validate

OFFSET_STEP = max(1000, policy.MAX_SEEDS)  # above any seed count: disjoint seed sets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_budget import worst as coarsest  # noqa: E402  (the benchmarks' folder is sys.path[0])

from tests.test_design import EDGE, _false_alarms, _false_alarms_with_next_order  # noqa: E402  the tests' entry and procedure, at scale


def synthetic(sets: int, reps: int) -> list[str]:
    lines = [
        f"## Sequential design on right formulas (alpha = 0.05, {reps} replications per set)",
        "",
        "| seed set | false alarms | rate | seeds topped up |",
        "|---|---|---|---|",
    ]
    total = 0
    for k in range(sets):
        alarms, grown = _false_alarms(seed=10_000 + k, reps=reps, alpha=0.05, target=0.03)
        total += alarms
        lines.append(f"| {k} | {alarms} | {alarms / reps:.3f} | {grown} of {reps} |")
    n = sets * reps
    se = (0.05 * 0.95 / n) ** 0.5
    lines.append(f"| all | {total} | {total / n:.3f} (designed 0.050 +- {se:.3f}) | |")
    return lines


def next_order(sets: int, reps: int) -> list[str]:
    """Design rule 6 on synthetic ladders with a second order s eps**2 (tests/test_design.py):
    false alarms of right formulas without the rule, with a rung above, on the same ladder."""
    lines = [
        "",
        f"## A next order the ladder shows (rule 6; alpha = 0.05, {reps} runs per set, {sets} sets)",
        "",
        "| s | false alarms, one term | rule 6, a rung above | rule 6, same ladder | runs that added it |",
        "|---|---|---|---|---|",
    ]

    def span(values: list[int]) -> str:
        return f"{min(values)}-{max(values)}"

    for second in (0.0, 0.25, 0.5, 1.0):
        got = {
            mode: [_false_alarms_with_next_order(20_000 + k, reps, 0.05, second, mode) for k in range(sets)]
            for mode in (None, "above", "same")
        }
        added = [n for mode in ("above", "same") for _, n in got[mode]]
        lines.append(
            f"| {second:g} | {span([a for a, _ in got[None]])} | {span([a for a, _ in got['above']])} | "
            f"{span([a for a, _ in got['same']])} | {span(added)} |"
        )
    return lines


def entries(catalog: Path, sets: int, deltas: list[float]) -> list[str]:
    cat = load_catalog(catalog)
    lines = [
        "",
        f"## Entries with a designed experiment ({catalog}), quick profile, numpy",
        "",
        "| entry | seed set | status | points: seeds | worst resolution (ampl. / clock) | wall s | "
        + " | ".join(f"power {100 * d:g}%" for d in deltas)
        + " |",
        "|---|---|---|---|---|---|" + "---|" * len(deltas),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(sets):
            cache = DiskCache(Path(tmp) / f"cache{k}")
            t0 = time.perf_counter()
            v = validate(cat, cache=cache, progress=False, seed_offset=k * OFFSET_STEP)
            wall = time.perf_counter() - t0
            reports = [
                power(cat, delta=d, cache=cache, progress=False, seed_offset=k * OFFSET_STEP) for d in deltas
            ]
            for run in v.runs:
                seeds = ", ".join(str(p.settings.seeds) for p in run.all_points())
                per_point = [coarsest(p) for p in run.all_points()]
                worst = {
                    kind: max((w[kind] for w in per_point if not math.isnan(w[kind])), default=0.0)
                    for kind in ("amplitude", "clock")
                }
                caught = []
                for r in reports:
                    mine = [o for o in r.outcomes if o.entry == run.entry.id]
                    caught.append(f"{sum(o.caught for o in mine)} of {len(mine)}")
                lines.append(
                    f"| {run.entry.id} | {k} | {run.status} | {seeds} | "
                    f"{100 * worst['amplitude']:.2g}% / {100 * worst['clock']:.2g}% | {wall:.1f} | "
                    + " | ".join(caught)
                    + " |"
                )
    lines.append("")
    lines.append(
        f"A fail of a right formula is a false alarm: each point makes 3 extrapolation tests per loss "
        f"at alpha {policy.ALPHA / 3:.2g} and a rate test at {policy.ALPHA:g}."
    )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=5, help="disjoint seed sets")
    ap.add_argument("--reps", type=int, default=400, help="synthetic replications per set (0: none)")
    ap.add_argument("--catalog", type=Path, default=None, help="default: a user's edge entry")
    ap.add_argument("--deltas", type=float, nargs="*", default=[0.05, 0.02])
    args = ap.parse_args()
    if args.reps > 0:
        print("\n".join(synthetic(args.sets, args.reps)))
        print("\n".join(next_order(args.sets, args.reps // 2)))
    if args.catalog is None:
        folder = Path(tempfile.mkdtemp()) / "catalog"
        folder.mkdir()
        (folder / "my-edge.yaml").write_text(yaml.safe_dump(EDGE, sort_keys=False))
        args.catalog = folder
    print("\n".join(entries(args.catalog, args.sets, args.deltas)))


if __name__ == "__main__":
    main()
