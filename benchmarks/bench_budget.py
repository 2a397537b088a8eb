"""Resolution against budget: what the designed experiment reaches on an entry as it is given
more simulation time, from one run.

    python benchmarks/bench_budget.py [--entries free small-data] [--budgets 4 16 64]
                                      [--seed-offset 0] [--keep horizon]

Each packaged entry (default: the five faces) is validated with its ``validation:`` block cut to
what states the physics rather than the experiment (``base``: a size the cell holds fixed;
``start``: where the limit becomes uniform; ``--keep`` adds fields), so that prismcat designs the
rest, at each per-point budget (seconds on one core; 4 is the quick profile's). Prints, per
entry, budget and parameter point: the designed ladder and seeds, the resolution reached at
power 0.99 (amplitude / clock, the worse loss), the verdict and the wall time. Where the target
(2% on faces, 5% elsewhere) is not reached at the quick budget, the row where it is reached is
the budget the entry needs (run it locally, on Dask or on a GPU backend).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from prismcat.catalog import load_catalog
from prismcat.validation.cache import DiskCache
from prismcat.validation.runner import validate

REPO = Path(__file__).resolve().parents[1]
FACES = ["large-data", "small-data", "mean-field", "narrow-latent", "free"]
PHYSICS = ("base", "start")  # validation fields that describe the face, not the experiment


def physics_only(entry: str, folder: Path, keep: tuple[str, ...] = PHYSICS) -> Path:
    """A copy of the packaged catalogue in ``folder`` (the entry's consistency relations need the
    cells above it) with ``entry``'s validation block cut down to ``keep``."""
    shutil.copytree(REPO / "catalog", folder)
    (path,) = folder.rglob(f"{entry}.yaml")
    data = yaml.safe_load(path.read_text())
    block = {k: v for k, v in (data.pop("validation", None) or {}).items() if k in keep}
    if block:
        data["validation"] = block
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def worst(point) -> dict[str, float]:
    """The coarsest resolution at power 0.99 over the losses, amplitude and clock (NaN: none)."""
    ex = next((c for c in point.checks if c.checker == "extrapolation"), None)
    needs = [((ex.details.get(loss) or {}) if ex else {}).get("resolved_at_required_power", {})
             for loss in ("train", "population")]  # fmt: skip
    return {
        kind: max((n[kind] for n in needs if kind in n), default=float("nan"))
        for kind in ("amplitude", "clock")
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", nargs="*", default=FACES, help="packaged entry ids (default: the faces)")
    ap.add_argument("--keep", nargs="*", default=[], help="validation fields kept besides base, start")
    ap.add_argument("--budgets", type=float, nargs="*", default=[4.0, 16.0, 64.0])
    ap.add_argument("--seed-offset", type=int, default=0)
    args = ap.parse_args()
    print(
        "| entry | budget s/point | point | ladder N | seeds | resolves (ampl. / clock) | verdict | wall s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for face in args.entries:
            folder = Path(tmp) / f"catalog-{face}"
            physics_only(face, folder, PHYSICS + tuple(args.keep))
            cat = load_catalog(folder)
            for budget in args.budgets:
                cache = DiskCache(Path(tmp) / f"cache-{face}-{budget:g}")
                t0 = time.perf_counter()
                # one entry, two points: --budget B on J cores gives each point B * J / 2 core-seconds
                v = validate(cat, [face], cache=cache, progress=False, seed_offset=args.seed_offset,
                             budget=budget, jobs=2)  # fmt: skip
                wall = time.perf_counter() - t0
                for run in v.runs:
                    if run.error:
                        print(f"| {face} | {budget:g} | error: {run.error[:80]} | | | | | {wall:.1f} |")
                    for p in run.all_points():
                        w = worst(p)
                        verdict = {"fail": f"fail ({_failed(p)})", "error": f"error: {p.message[:80]}"}.get(
                            p.status, p.status
                        )
                        ladder = ", ".join(f"{x:g}" for x in p.settings.ladder)
                        if any(w.startswith("next order") for w in p.settings.why):  # design rule 6
                            ladder += f"; eps^{p.settings.terms[-1]:g} added"
                        reach = f"{100 * w['amplitude']:.2g}% / {100 * w['clock']:.2g}%"
                        print(
                            f"| {face} | {budget:g} | {p.settings.where()} | {ladder} | {p.settings.seeds} | "
                            f"{reach} | {verdict} | {wall:.1f} |",
                            flush=True,
                        )


def _failed(point) -> str:
    out = []
    for c in point.checks:
        if c.status == "fail":
            word = "too coarse" if "TOO COARSE" in c.message and "REJECTED" not in c.message else "rejected"
            out.append(f"{c.checker} {word}")
    return ", ".join(out)


if __name__ == "__main__":
    main()
