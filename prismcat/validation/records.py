"""``results.json`` (``prismcat validate``): its documented schema as pydantic models, how a
validation becomes one (:func:`to_records`) and how a saved one is read back (:func:`load_results`).

Everything in the file is a deterministic function of the catalogue, the command and the package
version, except the single top-level ``timing`` field (wall-clock data and timestamps).
"""

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from prismcat import __version__
from prismcat.errors import PrismcatError
from prismcat.files import printable, read_bounded
from prismcat.settings import DEFAULT_FAMILY
from prismcat.validation.outcome import EntryRun, Validation

MAX_RESULTS_BYTES = 512 * 1024 * 1024  # the whole catalogue's results.json is about 1.5 MB

SCHEMA_VERSION = 4  # 3: entries of any model family; 4: designed parameter points (points)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LossErrors(_Model):
    mean_curve: float = Field(description="sup over time of |seed-mean curve - limit|")
    mean_error: float = Field(description="mean over seeds of sup over time of |curve - limit|")
    seed_sd: float = Field(description="standard deviation over seeds of the per-seed sup error")
    per_seed: list[float]


class CurveRecord(_Model):
    mean: list[float] = Field(description="seed-mean normalised quantity at the clock values")
    low: list[float] = Field(description="seed minimum")
    high: list[float] = Field(description="seed maximum")
    limit: list[float] | None = Field(description="the entry's limit formula at the realised ratios")


class SizeRecord(_Model):
    N: float
    sizes: dict[str, float] = Field(description="the family's sizes at this rung")
    d: int | None = Field(None, description="autoencoder sizes, repeated at the top level")
    k: int | None = None
    n: int | None = None
    sigma2: float | None = None
    parameters: dict[str, float] = Field(description="realised ratios at these sizes")
    eps: dict[str, float] = Field(description="the entry's small quantity convergence.in, by loss")
    errors: dict[str, LossErrors] = Field(description="by loss: train, population")
    curves: dict[str, CurveRecord]


class CheckRecord(_Model):
    checker: str
    status: Literal["pass", "fail", "error", "skip"]
    message: str
    details: dict[str, Any]
    table: list[dict[str, Any]]
    headline: dict[str, str] = Field(
        default_factory=dict, description="by loss: the sentence reports lead with"
    )
    band: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="by loss: a curve and band drawn over the limit (center, low, high)"
    )
    rate: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="by loss: errors along the ladder and the fitted rate"
    )


class PointRecord(_Model):
    """A further parameter point of an entry: its design, verdict and measurements."""

    parameters: dict[str, float]
    status: Literal["pass", "fail", "error"]
    message: str
    clock: list[float]
    settings: dict[str, Any]
    checks: list[CheckRecord]
    sizes: list[SizeRecord]
    headline: dict[str, str] = Field(default_factory=dict)


class EntryRecord(_Model):
    id: str
    title: str
    model: str = Field(DEFAULT_FAMILY, description="the entry's model family")
    geometry: str = Field("prism", description="the family geometry its cell belongs to")
    backend: str = Field("", description="the simulator backend that ran it")
    cell: str
    cell_kind: str
    file: str | None
    status: Literal["pass", "fail", "error"]
    message: str = Field(description="why the entry failed or errored ('' when it passed)")
    clock: list[float] = Field(description="clock values of the validation window")
    settings: dict[str, Any]
    checks: list[CheckRecord]
    sizes: list[SizeRecord]
    headline: dict[str, str] = Field(
        default_factory=dict,
        description="by loss: what the checkers found, e.g. 'formula within 0.4% +- 0.6% of the "
        "infinite-size extrapolation (resolution 1.2%, clock 2%)'",
    )
    points: list[PointRecord] = Field(
        default_factory=list,
        description="the further parameter points of the design (the first is this record's own)",
    )


class Summary(_Model):
    total: int
    passed: int
    failed: int
    errors: int


class Results(_Model):
    schema_version: int = SCHEMA_VERSION
    prismcat_version: str
    backend: str
    profile: str
    status: Literal["pass", "fail"]
    summary: Summary
    entries: list[EntryRecord]
    timing: dict[str, Any] = Field(description="all wall-clock data: per entry seconds, totals, timestamps")


def load_results(path: str | Path) -> dict[str, Any]:
    """A saved ``results.json``, checked against this schema before anything uses it (a file that
    is missing, too large, not JSON or not a prismcat results file is a :class:`PrismcatError`
    saying which). Its text is data: every reader escapes it."""
    raw = read_bounded(path, MAX_RESULTS_BYTES, "results file")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise PrismcatError(f"{printable(path)}: not JSON ({exc})") from None
    try:
        return Results.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(x) for x in err["loc"]) or "the top level"
        raise PrismcatError(
            f"{printable(path)}: not a prismcat results.json ({where}: {err['msg']})"
        ) from None


def to_records(v: Validation) -> dict[str, Any]:
    """The documented ``results.json`` content (the :class:`Results` schema above)."""
    entries = [_entry_record(r) for r in v.runs]
    counts = {s: sum(e["status"] == s for e in entries) for s in ("pass", "fail", "error")}
    data = {
        "prismcat_version": __version__,
        "backend": v.backend,
        "profile": v.profile,
        "status": "pass" if v.ok else "fail",
        "summary": {
            "total": len(entries),
            "passed": counts["pass"],
            "failed": counts["fail"],
            "errors": counts["error"],
        },
        "entries": entries,
        "timing": {
            "started": v.started,
            "total_s": round(v.seconds, 3),
            "entries_s": {r.entry.id: round(r.seconds, 3) for r in v.runs},
            "cache": v.cache,
            "phases_s": v.phases,
        },
    }
    return Results.model_validate(data).model_dump(mode="json")


def _entry_record(run: EntryRun) -> dict[str, Any]:
    e = run.entry
    return {
        "id": e.id,
        "title": e.spec.title,
        "model": e.family.name,
        "geometry": e.geometry.key,
        "backend": run.backend,
        "cell": e.cell.id,
        "cell_kind": e.cell.kind,
        "file": e.file,
        "status": run.status,
        "message": run.message,
        "clock": _clock(run.measurements),
        "settings": run.settings.to_json() if run.settings else {},
        "checks": [_jsonable(c.to_json()) for c in run.checks],
        "sizes": _sizes(e, run.measurements),
        "headline": _headlines(run.checks),
        "points": [
            {
                "parameters": p.settings.parameters,
                "status": p.status,
                "message": p.message,
                "clock": _clock(p.measurements),
                "settings": p.settings.to_json(),
                "checks": [_jsonable(c.to_json()) for c in p.checks],
                "sizes": _sizes(e, p.measurements),
                "headline": _headlines(p.checks),
            }
            for p in run.points
        ],
    }


def _clock(measurements) -> list[float]:
    return measurements[0].point.clock.tolist() if measurements else []


def _sizes(e, measurements) -> list[dict[str, Any]]:
    sizes = []
    for m in measurements:
        s = m.point.sizes
        errors, curves = {}, {}
        for loss, data in m.losses.items():
            if data.limit is not None:
                errors[loss] = data.errors()
            curves[loss] = {
                "mean": data.mean.tolist(),
                "low": data.curves.min(axis=0).tolist(),
                "high": data.curves.max(axis=0).tolist(),
                "limit": None if data.limit is None else data.limit.tolist(),
            }
        sizes.append(
            {
                "N": m.point.N,
                "sizes": dict(s),
                **e.family.record_sizes(s),
                "parameters": m.point.parameters,
                "eps": m.point.eps,
                "errors": errors,
                "curves": curves,
            }
        )
    return sizes


def headlines(run: EntryRun) -> dict[str, str]:
    """By loss, the sentences the checkers lead with (e.g. the formula against the infinite-size
    extrapolation, with the resolution), joined in checker order."""
    return _headlines(run.checks)


def _headlines(checks) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for c in checks:
        for loss, line in c.headline.items():
            out.setdefault(loss, []).append(line)
    return {loss: "; ".join(lines) for loss, lines in out.items()}


def _jsonable(value: Any) -> Any:
    """Plain JSON types (numpy scalars and arrays converted; NaN/inf become null)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
