"""What checkers receive and return: measurements along the ladder and a located verdict.

A checker plugin registers a :class:`Checker` through the ``register_checkers`` hook. It gets a
:class:`CheckContext` (the entry, the whole catalogue, the resolved settings and, for checkers that
need experiments, the :class:`Measurement` of every rung of the ladder) and returns a
:class:`CheckResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from prismcat.catalog.entry import Entry
from prismcat.validation.design import Settings, SizePoint

Status = Literal["pass", "fail", "error", "skip"]


@dataclass
class LossData:
    """The simulated normalised quantity of one loss at one size (seeds x times) and its limit."""

    curves: np.ndarray
    limit: np.ndarray | None

    @property
    def mean(self) -> np.ndarray:
        return self.curves.mean(axis=0)

    def errors(self) -> dict[str, Any]:
        """Distances to the limit: of the seed-mean curve, and per seed (sup over time)."""
        if self.limit is None:
            return {}
        per_seed = np.max(np.abs(self.curves - self.limit[None, :]), axis=1)
        return {
            "mean_curve": float(np.max(np.abs(self.mean - self.limit))),
            "mean_error": float(per_seed.mean()),
            "seed_sd": float(per_seed.std(ddof=1)) if per_seed.size > 1 else 0.0,
            "per_seed": [float(x) for x in per_seed],
        }


@dataclass
class Measurement:
    """One rung of the ladder: its problems and the normalised curves of each loss."""

    point: SizePoint
    losses: dict[str, LossData]

    def statistic(self, loss: str, name: str) -> float | None:
        data = self.losses.get(loss)
        if data is None or data.limit is None:
            return None
        return data.errors()[name]


@dataclass
class CheckContext:
    entry: Entry
    catalog: Any
    settings: Settings
    measurements: list[Measurement] | None = None

    def losses(self) -> list[str]:
        """The losses this entry gives a quantity for."""
        return [loss for loss in ("train", "population") if self.entry.quantities.get(loss) is not None]


@dataclass
class CheckResult:
    """A verdict with its reasons; ``details`` is JSON-ready, ``table`` rows are for display.

    Three optional fields let the reports show any checker's findings without knowing its name,
    each by loss: ``headline`` a sentence the report leads with; ``band`` a curve and its band to
    draw over the limit (keys ``label``, ``center``, ``low``, ``high``: lists on the clock grid;
    optional ``scale``, which the deviation panel divides by);
    ``rate`` the errors along the ladder (``eps``, ``errors``, ``errors_se``, ``fitted_rate``,
    ``declared_rate``) for the log-log panel.

    ``shortfall`` (resolved, target), for a check whose power grows with seeds: the smallest
    relative error it detects at the required power, and the error it must detect. The design's
    top-up reads it (never the verdict) to decide whether more seeds are needed. ``misfit``, for
    a check that fits a correction model along the ladder: sqrt(chi2/dof) (>= 1) of that fit, the
    worst over losses; the design reads it to fit the next order.
    """

    checker: str
    status: Status
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    table: list[dict[str, Any]] = field(default_factory=list)
    headline: dict[str, str] = field(default_factory=dict)
    band: dict[str, dict[str, Any]] = field(default_factory=dict)
    rate: dict[str, dict[str, Any]] = field(default_factory=dict)
    shortfall: tuple[float, float] | None = None
    misfit: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "checker": self.checker,
            "status": self.status,
            "message": self.message,
            "details": self.details,
            "table": self.table,
            "headline": self.headline,
            "band": self.band,
            "rate": self.rate,
        }


class Checker:
    """A kind of verdict. ``needs_simulation`` says whether it uses measurements."""

    name: str = ""
    description: str = ""
    needs_simulation: bool = True

    def applies(self, entry: Entry, catalog: Any) -> bool:
        return True

    def check(self, ctx: CheckContext) -> CheckResult:
        raise NotImplementedError


def fit_rate(eps: Sequence[float], errors: Sequence[float]) -> tuple[float, float]:
    """(rate, prefactor) of the least-squares fit error ~ prefactor * eps**rate in log-log
    (deterministic data: consistency relations)."""
    x, y = np.log(np.asarray(eps, dtype=float)), np.log(np.asarray(errors, dtype=float))
    if x.size < 2 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.ptp(x) == 0:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(np.exp(intercept))


def scale_of(ctx: CheckContext, loss: str, curve: np.ndarray) -> float:
    """The quantity's scale over the window: declared (validation.scale), else sup |curve|."""
    declared = ctx.settings.scale.get(loss)
    return float(declared) if declared is not None else float(np.max(np.abs(curve)))


def error_table(measurements: list[Measurement], statistic: str) -> list[dict[str, Any]]:
    """Rows 'N, sizes, eps, error per loss' for reports and failure messages."""
    rows = []
    for m in measurements:
        s, fam = m.point.sizes, m.point.family
        row: dict[str, Any] = {"N": m.point.N}
        row.update({k: int(v) if k in fam.integer_sizes else v for k, v in s.items()})
        row["eps"] = m.point.eps["train"]
        if m.point.eps["population"] != m.point.eps["train"]:
            row["eps_population"] = m.point.eps["population"]
        for loss in ("train", "population"):
            value = m.statistic(loss, statistic)
            if value is not None:
                row[loss] = value
        rows.append(row)
    return rows
