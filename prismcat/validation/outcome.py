"""What validation found: per entry its settings, measured curves, checks and any error
(:class:`EntryRun`), and the whole run (:class:`Validation`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prismcat.catalog.entry import Entry
from prismcat.validation.checks import CheckResult, Measurement
from prismcat.validation.design import Settings


@dataclass
class EntryRun:
    """Everything validation found out about one entry."""

    entry: Entry
    settings: Settings | None
    measurements: list[Measurement] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    backend: str = ""  # the backend that ran it (another family's entries run on their own)

    @property
    def status(self) -> str:
        if self.error or any(c.status == "error" for c in self.checks):
            return "error"
        if any(c.status == "fail" for c in self.checks):
            return "fail"
        return "pass"

    @property
    def message(self) -> str:
        if self.error:
            return self.error
        bad = [f"{c.checker}: {c.message}" for c in self.checks if c.status in ("fail", "error")]
        return "; ".join(bad)


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
