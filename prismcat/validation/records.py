"""The documented schema of ``results.json`` (``prismcat validate``), as pydantic models.

Everything in the file is a deterministic function of the catalogue, the command and the package
version, except the single top-level ``timing`` field (wall-clock data and timestamps).
"""

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from prismcat.errors import PrismcatError
from prismcat.files import printable, read_bounded

MAX_RESULTS_BYTES = 512 * 1024 * 1024  # the whole catalogue's results.json is about 1.5 MB

SCHEMA_VERSION = 3  # 3: entries of any model family (model, geometry, backend, sizes)


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


class EntryRecord(_Model):
    id: str
    title: str
    model: str = Field("autoencoder", description="the entry's model family")
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
    import json

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
