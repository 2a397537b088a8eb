"""Whether an entry's validation can run at all, found before anything runs (``prismcat lint``).

For each profile the entry's ladder is laid out as problems (no data drawn) and each rung's
estimate is held against the limits of one task: its memory, and the step budget of its
integrator (a window that would need more steps than the budget, e.g. ``horizon: 1e300``). Each
problem is located at the field to change.
"""

from __future__ import annotations

from prismcat.budget import Limits
from prismcat.catalog.entry import Entry
from prismcat.errors import Location, PrismcatError, Problem
from prismcat.settings import PROFILES
from prismcat.simulation.plan import StepBudgetError
from prismcat.validation.design import ladder, settings_for


def feasibility_problems(entry: Entry, limits: Limits) -> list[Problem]:
    """Located problems of ``entry``'s validation plan under ``limits`` (one per profile at most)."""
    found: dict[tuple[tuple, str], list[str]] = {}  # (path, message) -> the profiles it concerns
    for profile in PROFILES:
        override = entry.spec.validation.profiles.get(profile)
        where = (
            ("validation", "profiles", profile, "ladder")
            if override is not None and override.ladder is not None
            else ("validation", "ladder")
        )
        message, path = _first_problem(entry, profile, limits, where)
        if message:
            found.setdefault((path, message), []).append(profile)
    return [
        Problem(_locate(entry, path), f"{' and '.join(profiles)} profile: {message}")
        for (path, message), profiles in found.items()
    ]


def _first_problem(entry: Entry, profile: str, limits: Limits, where: tuple) -> tuple[str, tuple]:
    try:
        rungs = ladder(entry, settings_for(entry, profile))
        for rung in rungs:
            estimate = entry.family.estimate(rung.problems, None)
            refused = None if estimate is None else limits.refusal(estimate, f"the rung {rung.label()}")
            if refused:
                return refused, where
    except StepBudgetError as exc:
        return str(exc), ("validation", "horizon")
    except PrismcatError as exc:
        return str(exc), where
    return "", where


def _locate(entry: Entry, path: tuple) -> Location:
    return entry.source.locate(path) if entry.source is not None else Location(entry.file, path=path)
