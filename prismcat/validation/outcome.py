"""What validation found: per entry its settings, measured curves, checks and any error
(:class:`EntryRun`), and the whole run (:class:`Validation`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prismcat.catalog.entry import Entry
from prismcat.validation.checks import CheckResult, Measurement
from prismcat.validation.design import Settings


@dataclass
class PointRun:
    """What validation found at one further parameter point of an entry (the first point's
    findings are the :class:`EntryRun`'s own fields)."""

    settings: Settings
    measurements: list[Measurement] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    error: str = ""

    @property
    def status(self) -> str:
        return _status(self.error, self.checks)

    @property
    def message(self) -> str:
        """Why this point failed or errored ('' when it passed): its error, or its failing checks."""
        return "; ".join(_findings(self.error, self.checks))


@dataclass
class EntryRun:
    """Everything validation found out about one entry: at its first parameter point in the
    fields ``settings``, ``measurements`` and ``checks``, at each further point in ``points``."""

    entry: Entry
    settings: Settings | None
    measurements: list[Measurement] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    backend: str = ""  # the backend that ran it (another family's entries run on their own)
    points: list[PointRun] = field(default_factory=list)

    @property
    def status(self) -> str:
        states = {_status(self.error, self.checks), *(p.status for p in self.points)}
        return next(s for s in ("error", "fail", "pass") if s in states)

    @property
    def message(self) -> str:
        if self.error:
            return self.error
        if not self.points:
            return "; ".join(_findings("", self.checks))
        return "; ".join(
            f"at {p.settings.where()}: {finding}"
            for p in self.all_points()
            for finding in _findings(p.error, p.checks)
        )

    def all_points(self) -> list[PointRun]:
        """Every parameter point, the first included (a view of this run's own fields)."""
        if self.settings is None:
            return list(self.points)
        first = PointRun(self.settings, self.measurements, self.checks, "")
        return [first, *self.points]


def _findings(error: str, checks: list[CheckResult]) -> list[str]:
    return ([error] if error else []) + [
        f"{c.checker}: {c.message}" for c in checks if c.status in ("fail", "error")
    ]


def _status(error: str, checks: list[CheckResult]) -> str:
    if error or any(c.status == "error" for c in checks):
        return "error"
    if any(c.status == "fail" for c in checks):
        return "fail"
    return "pass"


@dataclass
class Validation:
    """The outcome of a validation run (see :func:`prismcat.validation.runner.validate`)."""

    runs: list[EntryRun]
    backend: str
    profile: str
    started: str
    seconds: float
    cache: dict[str, Any]
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.status == "pass" for r in self.runs)
