"""Where a concrete run sits on the prism, which limits describe it, and how well.

A run (d, k, n, sigma2) has ratios gamma = k/d, alpha = n/d, a = sigma2 d, u = sigma2 k. In the fan's
log coordinates, log(alpha) measures how far it is toward the large-data (> 0) or small-data (< 0)
face, and (log gamma, log a) decomposes uniquely on the two triangle rays whose cone holds it: the
coefficients are how far it is toward those faces. A cell fits the run when the faces it contains
are the ones the run is far toward (at least ``EXTREME``, one order of magnitude) and the others are
not: the score of a cell is the extremeness it ignores plus the extremeness it requires but the
run lacks, in nats. Every entry of a cell gets that cell's score, and its limit curves are
evaluated at the run's exact ratios, mapped to model time t and turned back into per-dimension
losses L/d with the run's own normalisation, so they can be laid over a training curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prismcat.catalog.entry import LOSSES, Entry
from prismcat.errors import EvaluationError, PrismcatError
from prismcat.families.autoencoder import AUTOENCODER
from prismcat.prism import Cell, extremeness
from prismcat.validation.design import default_window

EXTREME = math.log(10.0)


@dataclass(frozen=True)
class Point:
    """A concrete run's sizes and ratios."""

    d: int
    k: int
    n: int
    sigma2: float

    def __post_init__(self) -> None:
        if min(self.d, self.k, self.n) < 1 or not (math.isfinite(self.sigma2) and self.sigma2 > 0):
            raise PrismcatError("d, k, n must be positive integers and sigma2 a positive number")

    @property
    def sizes(self) -> dict[str, float]:
        return {"d": float(self.d), "k": float(self.k), "n": float(self.n), "sigma2": self.sigma2}

    @property
    def ratios(self) -> dict[str, float]:
        return {
            "gamma": self.k / self.d,
            "alpha": self.n / self.d,
            "a": self.sigma2 * self.d,
            "u": self.sigma2 * self.k,
        }

    def extremeness(self) -> dict[str, float]:
        """How far toward each face, in nats (0 for faces the run is not toward)."""
        return extremeness(self.d, self.k, self.n, self.sigma2)


def cell_score(cell: Cell, strength: dict[str, float], threshold: float = EXTREME) -> float:
    """Extremeness the cell ignores plus extremeness it needs that the run lacks (nats)."""
    return sum(s for f, s in strength.items() if f not in cell.faces) + sum(
        max(0.0, threshold - strength[f]) for f in cell.faces
    )


@dataclass
class Candidate:
    """An entry whose limit may describe the run, with its predicted per-dimension losses."""

    entry: Entry
    score: float
    parameters: dict[str, float]
    out_of_range: list[str]
    train: np.ndarray | None = None
    population: np.ndarray | None = None
    note: str = ""
    distance: dict[str, float] = field(default_factory=dict)
    valid: np.ndarray | None = None  # times where the limit claims to hold (clock >= validation start)

    def to_json(self) -> dict[str, Any]:
        def curve(x):
            return None if x is None else [None if not np.isfinite(v) else float(v) for v in x]

        return {
            "id": self.entry.id,
            "cell": self.entry.cell.id,
            "score": round(self.score, 6),
            "parameters": self.parameters,
            "out_of_range": self.out_of_range,
            "clock": f"{self.entry.spec.clock.name} = {self.entry.spec.clock.definition}",
            "train": curve(self.train),
            "population": curve(self.population),
            "note": self.note,
            "distance": self.distance or None,
        }


def _observables(point: Point, observed: dict[str, float] | None) -> dict[str, float]:
    """t = 0 losses and Tr S: the run's own when simulated, else their expectations.

    E Tr S = d; E Tr G = sigma2 d k and E Tr G^2 = sigma2^2 d k (d + k + 1) (Wishart), so
    E L_pop(0) = (d - 2 E Tr G + E Tr G^2)/2, and E L_train(0) is the same (S is independent of W
    with E S = I).
    """
    if observed is not None:
        return observed
    d, k, s2 = point.d, point.k, point.sigma2
    pop0 = 0.5 * (d - 2 * s2 * d * k + s2**2 * d * k * (d + k + 1))
    return {"L_train0": pop0, "L_pop0": pop0, "trS": float(d)}


def predict_losses(entry: Entry, point: Point, t: np.ndarray, observed: dict[str, float] | None = None):
    """The entry's limit as per-dimension losses L/d at model times ``t`` for this run.

    The entry's quantity q is affine in the loss it normalises, q = A + B L, so L = (q - A) / B
    with A, B read off the quantity at the run's sizes, ratios and t = 0 observables.
    """
    params = {name: m.value(point.sizes) for name, m in entry.ratios.items()}
    slope, offset = entry.clock_map(params, point.sizes)
    clock = slope * t + offset
    pred = entry.predict(clock, params, check_range=False)
    base = {**{k: np.float64(v) for k, v in {**point.sizes, **params}.items()}}
    base.update({k: np.float64(v) for k, v in _observables(point, observed).items()})
    out = {}
    for loss, name in (("train", "L_train"), ("population", "L_pop")):
        q = entry.quantities.get(loss)
        values = getattr(pred, loss)
        if q is None or values is None:
            out[loss] = None
            continue
        other = "L_pop" if name == "L_train" else "L_train"
        a0 = float(q({**base, name: np.float64(0.0), other: np.float64(0.0)}))
        b1 = float(q({**base, name: np.float64(1.0), other: np.float64(0.0)})) - a0
        out[loss] = (values - a0) / b1 / AUTOENCODER.loss_scale(point.sizes)
    return params, out["train"], out["population"]


def candidates(
    catalog: Any, point: Point, t: np.ndarray, top: int = 5, observed: dict | None = None
) -> list[Candidate]:
    """Entries ranked by how well their cell fits the run, with their predicted curves."""
    strength = point.extremeness()
    on_prism = [e for e in catalog if e.geometry.key == "prism"]  # other families: family_candidates
    ranked = sorted(on_prism, key=lambda e: (cell_score(e.cell, strength), e.id))
    out = []
    for entry in ranked[:top]:
        cand = Candidate(entry, cell_score(entry.cell, strength), {}, [])
        try:
            try:
                params, tr, po = predict_losses(entry, point, t, observed)
            except EvaluationError:
                if t[0] != 0:
                    raise
                # limits of a large initialisation are not defined at t = 0: predict from t > 0
                params, tr, po = predict_losses(entry, point, t[1:], observed)
                tr, po = (None if x is None else np.concatenate([[np.nan], x]) for x in (tr, po))
                cand.note = "not defined at t = 0 (a limit for t > 0)"
            cand.parameters = params
            slope, offset = entry.clock_map(params, point.sizes)
            cand.valid = slope * t + offset >= default_window(entry)[0] - 1e-12
            cand.out_of_range = [
                name
                for name, p in entry.spec.parameters.items()
                if not p.range[0] <= params[name] <= p.range[1]
            ]
            cand.train, cand.population = _finite(tr, cand), _finite(po, cand)
        except EvaluationError as exc:
            cand.note = str(exc)
        out.append(cand)
    return out


def _finite(values: np.ndarray | None, cand: Candidate) -> np.ndarray | None:
    if values is None:
        return None
    bad = ~np.isfinite(values)
    if bad.any():
        cand.note = cand.note or "not finite at some times (outside the validity of the limit)"
        values = np.where(bad, np.nan, values)
    return values


def compare(cands: list[Candidate], sim_train: np.ndarray, sim_pop: np.ndarray) -> None:
    """Sup distance over the times where each prediction is finite and the limit claims to hold
    (its clock at or after the entry's validation window start, e.g. t >= 0.25 for a large
    initialisation)."""
    for c in cands:
        for loss, sim in (("train", sim_train), ("population", sim_pop)):
            pred = getattr(c, loss)
            if pred is None:
                continue
            ok = np.isfinite(pred) & (c.valid if c.valid is not None else True)
            if ok.any():
                c.distance[loss] = float(np.max(np.abs(pred[ok] - sim[ok])))


def best_fit(cands: list[Candidate]) -> Candidate | None:
    scored = [c for c in cands if "train" in c.distance]
    return min(scored, key=lambda c: max(c.distance.values())) if scored else None


__all__ = [
    "EXTREME",
    "LOSSES",
    "Candidate",
    "Point",
    "best_fit",
    "candidates",
    "cell_score",
    "compare",
    "predict_losses",
]


# -- another model family: its own geometry and quantities --------------------------------------
@dataclass(frozen=True)
class FamilyPoint:
    """A concrete run of a model family other than the autoencoder: its sizes and structure."""

    family: Any
    structure: Any
    sizes: dict[str, float]

    def __post_init__(self) -> None:
        missing = [s for s in self.family.sizes if s not in self.sizes]
        extra = [s for s in self.sizes if s not in self.family.sizes]
        if missing or extra:
            raise PrismcatError(
                f"the {self.family.name} family's sizes are {', '.join(self.family.sizes)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else "")
            )
        if any(not (math.isfinite(v) and v > 0) for v in self.sizes.values()):
            raise PrismcatError("every size must be a positive number")

    @property
    def geometry(self) -> Any:
        return self.family.geometry(self.structure)

    @property
    def ratios(self) -> dict[str, float]:
        """The geometry's log-coordinates of the run (nats)."""
        r1, r2 = self.geometry.log_position(self.sizes)
        return {"r1": r1, "r2": r2}

    def extremeness(self) -> dict[str, float]:
        return self.geometry.extremeness(self.sizes)


def family_candidates(catalog: Any, point: FamilyPoint, t: np.ndarray, top: int = 5) -> list[Candidate]:
    """The entries of the run's geometry ranked by how well their cell fits it, with their limit
    curves on the run's model times, in each entry's own normalisation (e.g. L / L0)."""
    strength = point.extremeness()
    key = point.geometry.key
    mine = [e for e in catalog if e.geometry.key == key and e.family is point.family]
    ranked = sorted(mine, key=lambda e: (cell_score(e.cell, strength), e.id))
    out = []
    for entry in ranked[:top]:
        cand = Candidate(entry, cell_score(entry.cell, strength), {}, [])
        params = {name: m.value(point.sizes) for name, m in entry.ratios.items()}
        cand.parameters = params
        cand.out_of_range = [
            n for n, p in entry.spec.parameters.items() if not p.range[0] <= params[n] <= p.range[1]
        ]
        slope, offset = entry.clock_map(params, point.sizes)
        clock = slope * t + offset
        cand.valid = clock >= default_window(entry)[0] - 1e-12
        if entry.has_limit:
            try:
                ok = clock >= default_window(entry)[0] - 1e-12
                values = np.full(t.shape, np.nan)
                values[ok] = entry.predict(clock[ok], params, check_range=False).train
                cand.train = _finite(values, cand)
                cand.note = cand.note or f"as {entry.spec_quantity('train')}"
            except EvaluationError as exc:
                cand.note = str(exc)
        else:
            cand.note = "no closed form"
        out.append(cand)
    return out


def family_compare(cands: list[Candidate], point: FamilyPoint, sim: dict[str, np.ndarray]) -> dict[str, Any]:
    """Each candidate's distance to the simulated run, measured in the candidate's own quantity;
    returns the run's curve in the first candidate's quantity (for the figure)."""
    shown = {}
    env_sizes = {k: np.float64(v) for k, v in point.sizes.items()}
    observed = point.family.environment(sim, point.sizes)
    for c in cands:
        q = c.entry.quantities.get("train")
        if q is None:
            continue
        env = {**env_sizes, **{k: np.float64(v) for k, v in c.parameters.items()}, **observed}
        run = np.asarray(np.broadcast_to(q(env), sim[next(iter(sim))].shape), dtype=float)[0]
        shown.setdefault("train", run)
        if c.train is not None:
            ok = np.isfinite(c.train) & (c.valid if c.valid is not None else True)
            if ok.any():
                c.distance["train"] = float(np.max(np.abs(c.train[ok] - run[ok])))
    return shown
