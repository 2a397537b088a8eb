"""From simulated arrays to what the checkers judge: each rung's normalised quantities (the
entry's ``quantity`` of the family's observables) beside its limit, for every seed."""

from __future__ import annotations

from typing import Any

import numpy as np

from prismcat.catalog.entry import LOSSES, Entry
from prismcat.errors import EvaluationError, PrismcatError
from prismcat.validation.checks import LossData, Measurement
from prismcat.validation.design import SizePoint
from prismcat.validation.outcome import EntryRun
from prismcat.validation.report_errors import describe
from prismcat.validation.tasks import Task, assemble


def normalise(entry: Entry, point: SizePoint, sim: dict[str, np.ndarray]) -> dict[str, LossData]:
    """The entry's normalised quantities from the simulated arrays (the family's observables),
    plus its limit."""
    env: dict[str, Any] = {k: np.float64(v) for k, v in {**point.sizes, **point.parameters}.items()}
    env.update(entry.family.environment(sim, point.sizes))
    shape = (len(next(iter(sim.values()))), len(point.clock))  # seeds x times
    limit = None
    if entry.has_limit:
        limit = entry.predict(point.clock, point.parameters, check_range=False)
    out = {}
    for loss in LOSSES:
        q = entry.quantities.get(loss)
        if q is None:
            continue
        curves = np.broadcast_to(q(env), shape).astype(float)
        if not np.all(np.isfinite(curves)):
            raise EvaluationError(
                f"{entry.id}: the {loss} quantity '{q.text}' is not finite at {point.label()}"
            )
        lim = None if limit is None else getattr(limit, loss)
        out[loss] = LossData(curves, None if lim is None else np.asarray(lim))
    return out


def measure(run: EntryRun, mine: list[Task], sims) -> None:
    """Fill the measurements of every parameter point of ``run`` from the simulated arrays of its
    tasks ``mine``, or set the point's error (the run's own, for the first point)."""
    for at, point in enumerate(run.all_points()):
        try:
            measured = measure_point(run.entry, point.settings, [t for t in mine if t.at == at], sims)
        except PrismcatError as exc:
            error = str(exc)
        except Exception as exc:
            error = describe(exc, "measuring the curves")
        else:
            error = ""
            if at == 0:
                run.measurements = measured
            else:
                point.measurements = measured
        if error and at == 0:
            run.error = error
        elif error:
            point.error = error


def measure_point(entry: Entry, settings, mine: list[Task], sims) -> list[Measurement]:
    """The measurements of one parameter point: every rung of its ladder with every seed (an
    entry is never judged on less than its design)."""
    rungs = {t.index: t.point for t in mine}
    if settings is None or len(rungs) != len(settings.ladder):
        raise PrismcatError(
            f"{entry.id}: {len(rungs)} of {len(settings.ladder) if settings else '?'} rungs were "
            "planned: nothing is judged on part of its ladder"
        )
    measurements = []
    for i, point in sorted(rungs.items()):
        parts = sorted((t for t in mine if t.index == i), key=lambda t: t.part)
        missing = [t for t in parts if t.slot not in sims]
        if missing:
            raise PrismcatError(
                f"{entry.id}: {len(missing)} seed blocks at {point.label()} were not simulated"
            )
        arrays = assemble([sims[t.slot] for t in parts])
        seeds = len(next(iter(arrays.values())))
        if seeds != settings.seeds:
            raise PrismcatError(
                f"{entry.id}: {seeds} of {settings.seeds} seeds were simulated at {point.label()}"
            )
        measurements.append(Measurement(point, normalise(entry, point, arrays)))
    return measurements
