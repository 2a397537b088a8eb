"""A loaded, checked catalogue entry: its spec, its place on the prism, its compiled formulas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prismcat.catalog.source import SourceDoc
from prismcat.errors import EvaluationError, PrismcatError
from prismcat.formulas.base import PreparedFormula
from prismcat.formulas.expr import Compiled
from prismcat.optional import pandas
from prismcat.registry import registry
from prismcat.scaling import Monomial
from prismcat.settings import DEFAULT_FAMILY

LOSSES = ("train", "population")


@dataclass
class Prediction:
    """Limit curves of one entry at one parameter point, on the entry's own clock."""

    id: str
    clock: str
    parameters: dict[str, float]
    t: np.ndarray
    train: np.ndarray
    population: np.ndarray | None
    quantities: dict[str, str | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "clock": self.clock,
            "parameters": self.parameters,
            "quantities": self.quantities,
            "t": self.t.tolist(),
            "train": self.train.tolist(),
            "population": None if self.population is None else self.population.tolist(),
        }

    def to_frame(self):
        """Columns t, train, population (pandas)."""
        cols = {self.clock: self.t, "train": self.train}
        if self.population is not None:
            cols["population"] = self.population
        return pandas().DataFrame(cols)

    def plot(self, ax: Any = None, observed: Any = None):
        """The limit curves on the entry's clock; ``observed``: your own curve over them (arrays
        ``(t, values)`` or a two-column CSV, on the entry's clock and normalisation)."""
        return registry().view("prediction.plot")(self, ax, observed)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v:g}" for k, v in self.parameters.items())
        return f"<Prediction {self.id} ({params}) at {self.t.size} times of {self.clock}>"

    def _repr_html_(self) -> str:
        return registry().view("prediction.html")(self)


@dataclass
class CompiledRelation:
    """A consistency relation with its expressions compiled (see schema.Relation)."""

    spec: Any
    index: int
    parameters: dict[str, Compiled]
    small: Compiled
    transforms: dict[str, Compiled | None]
    clock: Compiled | None


@dataclass
class Entry:
    """One regime. ``spec`` is the validated pydantic model; the rest is derived from it."""

    spec: Any
    cell: Any  # a cell of ``geometry`` (prismcat.prism.Cell for the autoencoder)
    ratios: dict[str, Monomial]
    clock: Compiled
    quantities: dict[str, Compiled | None]
    formulas: dict[str, PreparedFormula | None]
    convergence_eps: dict[str, Compiled]  # by loss
    source: SourceDoc | None = None
    absent: dict[str, str] = field(default_factory=dict)
    relations: list[CompiledRelation] = field(default_factory=list)
    mean_eps: Compiled | None = None  # the seed-mean's small quantity (convergence.mean.in)
    family: Any = None  # the model family (prismcat.families.base.ModelFamily)
    structure: Any = None  # the family's validated structure (None for the autoencoder)
    geometry: Any = None  # the family geometry the cell belongs to
    kinds: dict[str, Any] = field(default_factory=dict)  # by loss: the FormulaKind of its formula
    measures: Mapping[str, Any] = field(default_factory=dict)  # the measures its formulas may use

    def same_geometry(self, other: Entry) -> bool:
        """Both entries are cells of one geometry (one family, one structure)."""
        return self.family is other.family and self.geometry.key == other.geometry.key

    def rank(self, family_order: list[str]) -> tuple:
        """Catalogue order: family (in ``family_order``), geometry, then the geometry's cells."""
        ids = [c.id for c in self.geometry.cells()]
        name = self.family.name
        fam = family_order.index(name) if name in family_order else len(family_order)
        return (fam, self.geometry.key, ids.index(self.cell.id) if self.cell.id in ids else len(ids))

    @property
    def primary(self) -> bool:
        """The cell's primary entry (its id is the cell's canonical entry id)."""
        return self.id == self.geometry.primary_id(self.cell)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def file(self) -> str | None:
        return self.source.file if self.source else None

    @property
    def clock_name(self) -> str:
        return self.spec.clock.name

    @property
    def exponents(self) -> dict[str, float]:
        return {s: self.spec.scaling[s] for s in self.family.sizes}

    @property
    def formula_kinds(self) -> dict[str, str | None]:
        return {k: (f.kind if f is not None else None) for k, f in self.formulas.items()}

    @property
    def has_limit(self) -> bool:
        return self.formulas["train"] is not None and self.formulas["train"].kind != "none"

    def parameters(
        self, overrides: Mapping[str, float] | None = None, check_range: bool = True
    ) -> dict[str, float]:
        """Defaults updated by ``overrides``; unknown names and out-of-range values are errors."""
        values = {name: float(p.default) for name, p in self.spec.parameters.items()}
        for name, value in (overrides or {}).items():
            if name not in values:
                known = ", ".join(values) or "none"
                raise PrismcatError(f"{self.id}: unknown parameter '{name}' (parameters: {known})")
            value = float(value)
            lo, hi = self.spec.parameters[name].range
            if not np.isfinite(value) or (check_range and not lo <= value <= hi):
                raise PrismcatError(f"{self.id}: {name} = {value:g} lies outside its range [{lo:g}, {hi:g}]")
            values[name] = value
        return values

    def clock_map(self, params: Mapping[str, float], sizes: Mapping[str, float]) -> tuple[float, float]:
        """(slope, offset) with clock = slope * t + offset for a problem of these sizes."""
        env = {**{k: np.float64(v) for k, v in sizes.items()}, **params}
        c0, c1 = (float(self.clock({**env, "t": np.float64(x)})) for x in (0.0, 1.0))
        return c1 - c0, c0

    def model_time(
        self, clock_values: np.ndarray, params: Mapping[str, float], sizes: Mapping[str, float]
    ) -> np.ndarray:
        """Model time t at which the entry's clock takes ``clock_values`` for these sizes."""
        slope, offset = self.clock_map(params, sizes)
        return (np.asarray(clock_values, dtype=float) - offset) / slope

    def predict(
        self,
        times: np.ndarray,
        overrides: Mapping[str, float] | None = None,
        check_range: bool = True,
    ) -> Prediction:
        """Evaluate the limit curves at ``times`` (in the entry's clock) and parameters.

        ``check_range=False`` allows values outside the declared ranges (realised ratios of a
        finite run, or a consistency check pushing a parameter to its extreme).
        """
        params = self.parameters(overrides, check_range)
        times = np.asarray(times, dtype=float)
        curves: dict[str, np.ndarray | None] = {}
        for loss in LOSSES:
            formula = self.formulas[loss]
            if formula is None:
                curves[loss] = None
                continue
            where = f"{self.id}: {loss} limit ({formula.kind}) at {_fmt(params)}"
            try:
                values = formula.evaluate(params, times)
            except EvaluationError as exc:
                raise EvaluationError(f"{where}: {exc}") from None
            except (ArithmeticError, ValueError, FloatingPointError) as exc:
                raise EvaluationError(f"{where}: {type(exc).__name__}: {exc}") from None
            bad = ~np.isfinite(values)
            if bad.any():
                i = int(np.argmax(bad))
                raise EvaluationError(
                    f"{where}: not finite ({values[i]}) at {self.clock_name} = {times[i]:.6g}"
                )
            curves[loss] = values
        assert curves["train"] is not None
        return Prediction(
            id=self.id,
            clock=self.clock_name,
            parameters=params,
            t=times,
            train=curves["train"],
            population=curves["population"],
            quantities={k: self.spec_quantity(k) for k in LOSSES},
        )

    def spec_quantity(self, loss: str) -> str | None:
        q = self.quantities.get(loss)
        return q.text if q is not None else None

    def plot(
        self,
        params: Mapping[str, float] | None = None,
        times: Any = None,
        ax: Any = None,
        observed: Any = None,
    ):
        """The limit curves at ``params`` (default: the parameters' defaults) on ``times`` of the
        entry's clock (default: the validation window), with your ``observed`` curve over them."""
        return registry().view("entry.plot")(self, params, times, ax, observed)

    def __repr__(self) -> str:
        where = (
            "" if self.family is None or self.family.name == DEFAULT_FAMILY else f" of {self.geometry.title}"
        )
        return f"<Entry {self.id}: {self.spec.title} ({self.cell.kind} {self.cell.id}{where})>"

    def _repr_html_(self) -> str:
        return registry().view("entry.html")(self)

    def _repr_markdown_(self) -> str:
        return registry().view("entry.markdown")(self)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``prismcat show --json`` prints)."""
        spec = self.spec
        return {
            "id": self.id,
            "title": spec.title,
            "summary": spec.summary,
            "model": self.family.name,
            "structure": dict(self.spec.structure),
            "geometry": self.geometry.key,
            "cell": self.cell.id,
            "cell_kind": self.cell.kind,
            "file": self.file,
            "scaling": self.exponents,
            "parameters": {k: p.model_dump() for k, p in spec.parameters.items()},
            "clock": spec.clock.model_dump(),
            "losses": spec.losses.model_dump(mode="json"),
            "formula_kinds": self.formula_kinds,
            "convergence": spec.convergence.model_dump(by_alias=True),
            "references": list(spec.references),
        }


def _fmt(params: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in params.items()) or "no parameters"
