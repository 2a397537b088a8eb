"""What checkers receive and return: measurements along the ladder and a located verdict.

A checker plugin registers a :class:`Checker` through the ``register_checkers`` hook. It gets a
:class:`CheckContext` (the entry, the whole catalogue, the resolved settings and, for checkers that
need experiments, the :class:`Measurement` of every rung of the ladder) and returns a
:class:`CheckResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    """A verdict with its reasons; ``details`` is JSON-ready, ``table`` rows are for display."""

    checker: str
    status: Status
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    table: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "checker": self.checker,
            "status": self.status,
            "message": self.message,
            "details": self.details,
            "table": self.table,
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
    """(rate, prefactor) of the least-squares fit error ~ prefactor * eps**rate in log-log."""
    x, y = np.log(np.asarray(eps, dtype=float)), np.log(np.asarray(errors, dtype=float))
    if x.size < 2 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.ptp(x) == 0:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(np.exp(intercept))


# Rate bands are the declared slack plus RATE_Z standard errors of the fit: a validation of the whole
# catalogue runs ~42 rate tests (21 entries x 2 losses), so a 2-se band would fail about two correct
# entries per run by chance, a 3-se band about 0.1 (checked: 10 seed offsets x 21 entries all pass).
RATE_Z = 3.0


def rate_band(fitted: float, se: float, rate: float, slack: float) -> tuple[bool, float]:
    """Whether ``fitted`` lies within slack + RATE_Z standard errors of ``rate``, and that band."""
    allowance = slack + (RATE_Z * se if np.isfinite(se) else 0.0)
    return abs(fitted - rate) <= allowance, allowance


def bootstrap_slopes(
    samples: Sequence[np.ndarray],
    statistics: Sequence[Callable[[np.ndarray], float]],
    eps: Sequence[float],
    reps: int = 400,
    seed: int = 0,
) -> tuple[float, float]:
    """The fitted log-log rate of ``statistics[i](samples[i])`` against ``eps`` and its standard
    error under resampling of seeds.

    ``samples[i]`` holds size i's per-seed data (first axis: seeds, the same count at every size);
    the same seed indices are drawn at every size (seeds are paired across sizes when the draws
    are nested). The resampling uses a fixed seed, so the verdict is reproducible.
    """
    fitted, _ = fit_rate(eps, [f(s) for f, s in zip(statistics, samples, strict=True)])
    n_seeds = samples[0].shape[0]
    if n_seeds < 2:
        return fitted, float("nan")
    idx = np.random.default_rng(seed).integers(0, n_seeds, size=(reps, n_seeds))
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log([np.asarray(f(s[idx]), dtype=float) for f, s in zip(statistics, samples, strict=True)])
    ok = np.all(np.isfinite(logs), axis=0)
    if ok.sum() < 10:
        return fitted, float("nan")
    slopes = np.polyfit(np.log(np.asarray(eps, dtype=float)), logs[:, ok], 1)[0]
    return fitted, float(np.std(slopes, ddof=1))


def distance_statistic(name: str, limit: np.ndarray | None = None):
    """The distance of a (seeds x times) array of curves (or of per-seed differences if
    ``limit`` is None): 'mean_curve' sup_t |seed mean|, 'mean_error' mean over seeds of sup_t."""

    def stat(curves: np.ndarray) -> float | np.ndarray:
        """A float for one (seeds x times) array; an array for a stack of them (leading axes)."""
        dev = curves if limit is None else curves - limit
        if name == "mean_curve":
            out = np.max(np.abs(dev.mean(axis=-2)), axis=-1)
        else:
            out = np.mean(np.max(np.abs(dev), axis=-1), axis=-1)
        return float(out) if np.ndim(out) == 0 else out

    return stat


def error_table(measurements: list[Measurement], statistic: str) -> list[dict[str, Any]]:
    """Rows 'N, sizes, eps, error per loss' for reports and failure messages."""
    rows = []
    for m in measurements:
        s = m.point.sizes
        row: dict[str, Any] = {"N": m.point.N, "d": int(s["d"]), "k": int(s["k"]), "n": int(s["n"])}
        row["sigma2"] = s["sigma2"]
        row["eps"] = m.point.eps["train"]
        if m.point.eps["population"] != m.point.eps["train"]:
            row["eps_population"] = m.point.eps["population"]
        for loss in ("train", "population"):
            value = m.statistic(loss, statistic)
            if value is not None:
                row[loss] = value
        rows.append(row)
    return rows
