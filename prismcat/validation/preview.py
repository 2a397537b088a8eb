"""What a validation would do, without simulating anything (``prismcat plan``): each entry's
designed parameter points, windows, ladders and seeds, the estimated cost of what the cache does
not hold, and, where the cache already holds a point's simulations, the resolution they reach and
the seeds a top-up would add."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prismcat.catalog.catalogue import Catalog
from prismcat.errors import PrismcatError
from prismcat.settings import RunOptions, default_jobs
from prismcat.validation import design_rule as rule
from prismcat.validation import policy
from prismcat.validation.cache import DiskCache
from prismcat.validation.check import checkers, run_checkers
from prismcat.validation.design import Settings
from prismcat.validation.measure import measure_point
from prismcat.validation.outcome import EntryRun, PointRun
from prismcat.validation.plan import plan


@dataclass
class PointPlan:
    """One parameter point of one entry's design."""

    entry: str
    settings: Settings
    tasks: int
    cached: int
    seconds: float  # estimated one-core seconds of the tasks the cache lacks (the pilot)
    most_seconds: float  # ... if a top-up takes the seeds to their cap
    # from cached simulations, by checker: (what it resolves at the required power, its target)
    resolution: dict[str, tuple[float, float]] = field(default_factory=dict)
    seeds_after: int | None = None  # the seeds a top-up would ask for

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "point": self.settings.point,
            "parameters": self.settings.parameters,
            "ladder": list(self.settings.ladder),
            "seeds": self.settings.seeds,
            "max_seeds": self.settings.max_seeds,
            "window": [self.settings.start, self.settings.horizon],
            "visibility": self.settings.visibility,
            "designed": list(self.settings.designed),
            "why": list(self.settings.why),
            "tasks": self.tasks,
            "cached": self.cached,
            "seconds": round(self.seconds, 3),
            "most_seconds": round(self.most_seconds, 3),
            "resolution": {k: list(v) for k, v in self.resolution.items()},
            "seeds_after": self.seeds_after,
        }


@dataclass
class Preview:
    """The design of every chosen entry, what it costs and what the cache already tells."""

    points: list[PointPlan] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    jobs: int = 1

    @property
    def seconds(self) -> float:
        """Estimated wall-clock seconds of the pilots the cache lacks, on ``jobs`` cores."""
        return sum(p.seconds for p in self.points) / self.jobs

    @property
    def most_seconds(self) -> float:
        return sum(p.most_seconds for p in self.points) / self.jobs

    def to_json(self) -> dict[str, Any]:
        return {
            "points": [p.to_json() for p in self.points],
            "problems": self.problems,
            "jobs": self.jobs,
            "seconds": round(self.seconds, 3),
            "most_seconds": round(self.most_seconds, 3),
        }

    def table(self) -> str:
        lines = []
        for p in self.points:
            st = p.settings
            lines.append(f"{p.entry} at {st.where()}")
            rungs = ", ".join(f"{x:g}" for x in st.ladder)
            lines.append(
                f"  window [{st.start:g}, {st.horizon:g}]; ladder N = {rungs}; "
                f"seeds {st.seeds} (at most {st.max_seeds}); clock visibility "
                + ("-" if st.visibility is None else f"{st.visibility:.2f}")
            )
            given = st.given()
            if given:
                lines.append(f"  given by the entry: {', '.join(given)}")
            lines += [f"  why: {w}" for w in st.why]
            cost = f"{p.cached} of {p.tasks} tasks cached; the rest about {p.seconds:.3g} s on one core"
            lines.append(f"  cost: {cost}, at most {p.most_seconds:.3g} s with every top-up")
            if p.resolution:
                found = "; ".join(f"{name} {r:.2g} (target {t:.2g})" for name, (r, t) in p.resolution.items())
                then = (
                    f"; a top-up to {p.seeds_after} seeds"
                    if p.seeds_after and p.seeds_after > st.seeds
                    else ""
                )
                lines.append(
                    f"  resolves (from the cache, power {policy.REQUIRED_POWER:g}; a relative formula error, "
                    f"or a rate error): {found}{then}"
                )
            else:
                lines.append("  resolution: measured by the pilot (nothing cached yet)")
        for entry, why in self.problems.items():
            why = why.removeprefix(f"{entry}: ")  # the design's errors name the entry already
            lines.append(f"{entry}: cannot be planned: {why}")
        lines.append(
            f"\n{len(self.points)} parameter points; about {self.seconds:.3g} s on {self.jobs} core(s) "
            f"for what the cache lacks, at most {self.most_seconds:.3g} s with every top-up"
        )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.table())}</pre>"


def preview(
    catalog: Catalog,
    ids: Sequence[str] | None = None,
    *,
    options: RunOptions | None = None,
    cache: DiskCache | None = None,
    **settings: Any,
) -> Preview:
    """The design of entries ``ids`` (default: all), its cost and what the cache tells; nothing
    is simulated."""
    run_options = RunOptions.of(options, **settings)
    cache = cache or DiskCache(None)
    entries = [catalog.get(i) for i in ids] if ids else list(catalog)
    runs = {e.id: EntryRun(e, None) for e in entries}
    tasks = plan(runs, run_options)
    simulated = {n: c for n, c in checkers().items() if c.needs_simulation}
    out = Preview(jobs=run_options.jobs or default_jobs())
    for run in runs.values():
        if run.error or run.settings is None:
            out.problems[run.entry.id] = run.error or "no design"
            continue
        for at, point in enumerate(run.all_points()):
            mine = [t for t in tasks if t.entry_id == run.entry.id and t.at == at]
            hits = {t.slot: cache.get(t.key, t.expected()) for t in mine}
            cost = sum(t.cost() for t in mine) / policy.FLOP_RATE
            missing = sum(t.cost() for t in mine if hits[t.slot] is None) / policy.FLOP_RATE
            st = point.settings
            row = PointPlan(
                run.entry.id,
                st,
                len(mine),
                sum(v is not None for v in hits.values()),
                missing,
                missing + cost * max(0, st.max_seeds - st.seeds) / st.seeds,
            )
            if all(v is not None for v in hits.values()) and mine:
                _from_cache(row, run, point, mine, hits, simulated, catalog)
            out.points.append(row)
    return out


def _from_cache(row: PointPlan, run: EntryRun, point: PointRun, mine, hits, simulated, catalog) -> None:
    """The resolution the cached simulations reach, and the seeds a top-up would ask for."""
    try:
        measured = measure_point(run.entry, point.settings, mine, hits)
    except PrismcatError:
        return
    results = run_checkers(simulated, run.entry, catalog, PointRun(point.settings, measured))
    row.resolution = {r.checker: r.shortfall for r in results if r.shortfall is not None}
    if row.resolution:
        resolved, target = max(row.resolution.values(), key=lambda s: s[0] / s[1])
        st = point.settings
        if "seeds" in st.designed:
            row.seeds_after = rule.seeds_for(st.seeds, resolved, target, st.max_seeds)
