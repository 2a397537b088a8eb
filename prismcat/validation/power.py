"""Power as a feature: perturb each formula by a few percent and see which checks catch it.

For every entry with a formula, :func:`power` makes the perturbations

- amplitude: one loss's limit multiplied by 1 + delta and by 1 - delta;
- clock: both limits evaluated on the clock stretched by 1 + delta and by 1 - delta (a time
  constant that much wrong),

and runs the experiment checks (those that use simulations; consistency relations do not count)
on each perturbed entry. A check *catches* a perturbation when it passes the entry and fails the
perturbed entry; an entry that does not pass unperturbed cannot be assessed (a problem). The
simulations are the validation's own: the problems do not change with the formula, so one
simulation per rung serves the entry and all its perturbations, and the disk cache serves a later
run. A perturbation the checks miss is excused only where it is smaller than the resolution the
entry is held to: its declared one (``validation.resolution``), else the policy's target.
"""

from __future__ import annotations

import dataclasses
import html
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prismcat.catalog.entry import Entry
from prismcat.catalog.loader import Catalog
from prismcat.optional import pandas
from prismcat.settings import OptionError, RunOptions
from prismcat.validation import policy
from prismcat.validation.cache import DiskCache
from prismcat.validation.check import checkers, run_checkers
from prismcat.validation.measure import measure_point
from prismcat.validation.outcome import EntryRun, PointRun
from prismcat.validation.runner import check_run, experiment

DEFAULT_DELTA = 0.03  # the relative size of each perturbation (3%)


@dataclass(frozen=True)
class Perturbation:
    kind: str  # "amplitude" or "clock"
    loss: str | None  # the loss scaled (amplitude); None: both (clock)
    factor: float  # 1 +- delta

    @property
    def label(self) -> str:
        what = f"{self.loss} limit" if self.kind == "amplitude" else "clock"
        return f"{what} x {self.factor:g}"


class _Perturbed:
    """A prepared formula whose values are scaled, or whose clock is stretched."""

    def __init__(self, inner: Any, p: Perturbation) -> None:
        self.inner, self.p, self.kind = inner, p, inner.kind

    def evaluate(self, params: Mapping[str, float], times: np.ndarray) -> np.ndarray:
        if self.p.kind == "clock":
            return self.inner.evaluate(params, np.asarray(times, dtype=float) * self.p.factor)
        return self.inner.evaluate(params, times) * self.p.factor


def perturbations(entry: Entry, delta: float) -> list[Perturbation]:
    out = []
    for loss in ("train", "population"):
        f = entry.formulas.get(loss)
        if f is not None and f.kind != "none":
            out += [Perturbation("amplitude", loss, 1 + delta), Perturbation("amplitude", loss, 1 - delta)]
    return [*out, Perturbation("clock", None, 1 + delta), Perturbation("clock", None, 1 - delta)]


def perturb(entry: Entry, p: Perturbation) -> Entry:
    """A copy of ``entry`` whose formulas carry the perturbation ``p``."""
    formulas = dict(entry.formulas)
    for loss, f in entry.formulas.items():
        if f is not None and (p.kind == "clock" or loss == p.loss):
            formulas[loss] = _Perturbed(f, p)
    return dataclasses.replace(entry, formulas=formulas)


@dataclass
class Outcome:
    entry: str
    perturbation: Perturbation
    caught_by: list[str]
    excused: str = ""  # why a miss is expected (the entry's declared resolution)

    @property
    def caught(self) -> bool:
        return bool(self.caught_by)

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "perturbation": self.perturbation.label,
            "kind": self.perturbation.kind,
            "loss": self.perturbation.loss,
            "factor": self.perturbation.factor,
            "caught": self.caught,
            "caught_by": self.caught_by,
            "excused": self.excused,
        }


@dataclass
class PowerReport:
    delta: float
    profile: str
    backend: str
    outcomes: list[Outcome] = field(default_factory=list)
    baseline: dict[str, str] = field(default_factory=dict)  # entry -> status of the unperturbed run
    problems: dict[str, str] = field(default_factory=dict)  # entry -> why it could not be assessed
    seconds: float = 0.0

    @property
    def missed(self) -> list[Outcome]:
        """Perturbations no experiment check caught, and no declaration excuses."""
        return [o for o in self.outcomes if not o.caught and not o.excused]

    @property
    def ok(self) -> bool:
        return not self.missed and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "delta": self.delta,
            "profile": self.profile,
            "backend": self.backend,
            "ok": self.ok,
            "caught": sum(o.caught for o in self.outcomes),
            "total": len(self.outcomes),
            "missed": [o.to_json() for o in self.missed],
            "baseline": self.baseline,
            "problems": self.problems,
            "outcomes": [o.to_json() for o in self.outcomes],
            "seconds": round(self.seconds, 3),
        }

    def to_frame(self):
        """One row per perturbation (pandas)."""
        return pandas().DataFrame([o.to_json() for o in self.outcomes])

    def __repr__(self) -> str:
        caught = sum(o.caught for o in self.outcomes)
        total, missed = len(self.outcomes), len(self.missed)
        return f"<PowerReport delta={self.delta:g}: caught {caught} of {total}, missed {missed}>"

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.table())}</pre>"

    def table(self) -> str:
        """One line per entry: the perturbations and the checkers that caught each."""
        lines = [f"power at delta = {100 * self.delta:g}% ({self.profile} profile, {self.backend})"]
        for entry in dict.fromkeys(o.entry for o in self.outcomes):
            mine = [o for o in self.outcomes if o.entry == entry]
            cells = []
            for o in mine:
                mark = "+".join(o.caught_by) if o.caught else ("excused" if o.excused else "MISSED")
                cells.append(f"{o.perturbation.label}: {mark}")
            lines.append(f"  {entry} [{self.baseline.get(entry, '?')}]: " + "; ".join(cells))
        for entry, why in self.problems.items():
            lines.append(f"  {entry}: not assessed: {why}")
        n = len(self.outcomes)
        caught = sum(o.caught for o in self.outcomes)
        excused = sum(o.excused != "" and not o.caught for o in self.outcomes)
        lines.append(
            f"caught {caught} of {n}; excused by a declared resolution {excused}; missed {len(self.missed)}"
        )
        return "\n".join(lines)


def power(
    catalog: Catalog,
    ids: Sequence[str] | None = None,
    *,
    delta: float = DEFAULT_DELTA,
    options: RunOptions | None = None,
    cache: DiskCache | None = None,
    executor: Any = None,
    **settings: Any,
) -> PowerReport:
    """Which experiment checks catch each perturbation of each formula by ``delta`` (see module);
    ``options`` (or its fields as keywords) as for :func:`prismcat.validation.runner.validate`."""
    if isinstance(delta, bool) or not isinstance(delta, int | float) or not 0 < delta < 1:
        raise OptionError(f"delta must lie in (0, 1), not {delta!r}")
    run_options = RunOptions.of(options, **settings)
    profile, backend, timeout = run_options.profile, run_options.backend, run_options.timeout
    t0 = time.perf_counter()
    entries = [catalog.get(i) for i in ids] if ids else list(catalog)
    entries = [e for e in entries if e.has_limit]
    registry = {n: c for n, c in checkers().items() if c.needs_simulation}

    def judge(run: EntryRun, mine: list, sims: dict) -> None:
        check_run(run, mine, sims, registry, catalog, timeout)

    runs, tasks, sims = experiment(entries, run_options, cache or DiskCache(None), executor, {}, judge)
    report = PowerReport(delta, profile, backend)
    for entry in entries:
        run = runs[entry.id]
        if run.error:
            report.problems[entry.id] = run.error
            continue
        mine = [t for t in tasks if t.entry_id == entry.id]
        report.baseline[entry.id] = run.status
        if run.status != "pass":
            report.problems[entry.id] = f"the unperturbed entry does not pass ({run.message[:300]})"
        declared = run.settings.achievable["formula"]
        target = policy.target_resolution(profile, entry.cell.kind)
        for p in perturbations(entry, delta):
            wrong = perturb(entry, p)
            caught: list[str] = []
            for at, point in enumerate(run.all_points()):
                # a check catches a perturbation if it passes the entry and fails the perturbed one
                passing = {r.checker for r in point.checks if r.status == "pass"}
                try:
                    measured = measure_point(wrong, point.settings, [t for t in mine if t.at == at], sims)
                except Exception:
                    caught.append("measure")
                    continue
                results = run_checkers(registry, wrong, catalog, PointRun(point.settings, measured), timeout)
                caught += [
                    r.checker for r in results if r.status in ("fail", "error") and r.checker in passing
                ]
            excused = ""
            reason = run.settings.achievable["reason"]
            if not run.settings.achievable["extrapolate"]:
                excused = f"declared not extrapolable: {reason}"
            elif declared is not None and declared > delta:
                excused = f"declared resolution {100 * declared:g}% > {100 * delta:g}%: {reason}"
            elif declared is None and target > delta:
                excused = f"below the {profile} target for a {entry.cell.kind} ({100 * target:g}%)"
            report.outcomes.append(Outcome(entry.id, p, list(dict.fromkeys(caught)), excused))
    report.seconds = time.perf_counter() - t0
    return report


def _status(results) -> str:
    if any(r.status == "error" for r in results):
        return "error"
    return "fail" if any(r.status == "fail" for r in results) else "pass"
