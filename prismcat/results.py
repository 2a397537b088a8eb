"""Typed results of the Python API (:mod:`prismcat.api`): each has ``to_json()`` (the content of
``results.json`` or of the command's ``--json``), ``to_frame()`` (pandas, the ``notebook`` extra),
a short ``repr``, rich notebook displays and a ``plot()`` that returns matplotlib axes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prismcat.catalog import load_catalog
from prismcat.optional import pandas
from prismcat.placement import best_fit
from prismcat.registry import registry
from prismcat.settings import DEFAULT_FAMILY
from prismcat.validation.records import load_results


@dataclass
class EntryResult:
    """One entry's validation: its record in ``results.json``."""

    record: dict[str, Any]

    id = property(lambda self: self.record["id"])
    status = property(lambda self: self.record["status"])
    message = property(lambda self: self.record["message"])
    checks = property(lambda self: {c["checker"]: c["status"] for c in self.record["checks"]})
    headline = property(lambda self: dict(self.record.get("headline", {})))

    def to_json(self) -> dict[str, Any]:
        return self.record

    def plot(self, loss: str = "train", ax: Any = None):
        """The seed band and mean at every size of the ladder, and the limit."""
        return registry().view("entry_result.plot")(self.record, loss, ax)

    def __repr__(self) -> str:
        return f"<EntryResult {self.id}: {self.status}>"

    def _repr_html_(self) -> str:
        return registry().view("entry_result.html")(self)


@dataclass
class ValidationResult:
    """A validation of some entries (:func:`prismcat.api.validate`)."""

    records: dict[str, Any]
    validation: Any = field(default=None, repr=False)  # the runner's Validation (None if read from a file)

    @classmethod
    def read(cls, path: str | Path) -> ValidationResult:
        """A saved ``results.json`` (checked against its schema)."""
        return cls(load_results(path))

    @property
    def entries(self) -> list[EntryResult]:
        return [EntryResult(r) for r in self.records["entries"]]

    @property
    def ok(self) -> bool:
        return all(e.status == "pass" for e in self.entries)

    def __getitem__(self, entry_id: str) -> EntryResult:
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(f"no entry '{entry_id}' in this validation ({', '.join(e.id for e in self.entries)})")

    def __len__(self) -> int:
        return len(self.records["entries"])

    def to_json(self) -> dict[str, Any]:
        """Exactly the content of ``results.json``."""
        return self.records

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for e in self.entries:
            row = {"entry": e.id, "cell": e.record["cell"], "kind": e.record["cell_kind"], "status": e.status}
            for loss in ("train", "population"):
                row[f"{loss}_headline"] = e.headline.get(loss, "")
            row.update({f"check_{k}": v for k, v in e.checks.items()})
            row["message"] = e.message
            out.append(row)
        return out

    def to_frame(self):
        """One row per entry: cell, status, the headline per loss, each check's status, the reason."""
        return pandas().DataFrame(self.rows()).set_index("entry")

    def write_report(
        self, out_dir: str | Path, catalog: Any = None, *, overwrite: bool = False
    ) -> dict[str, Path]:
        """The HTML, Markdown and JSON report files (as ``prismcat validate --report``); a file of
        the same name that prismcat did not write is replaced only if ``overwrite``."""
        cat = catalog if catalog is not None else load_catalog()
        return registry().view("validation.report")(self.records, cat, out_dir, overwrite=overwrite)

    def plot(self, entry_id: str | None = None, loss: str = "train", ax: Any = None):
        """One entry's curves (the first one by default)."""
        return (self[entry_id] if entry_id else self.entries[0]).plot(loss, ax)

    def summary(self) -> str:
        """One line: how many passed, failed and errored, on which backend and profile."""
        s = self.records["summary"]
        return (
            f"{s['passed']} passed, {s['failed']} failed, {s['errors']} errors of {s['total']} "
            f"({self.records['backend']}, {self.records['profile']} profile)"
        )

    def __repr__(self) -> str:
        return f"<ValidationResult {self.summary()}>"

    def table(self) -> tuple[list[list[str]], list[str]]:
        """One row per entry (id, cell, status, headline or reason) and the header."""
        rows = [
            [e.id, e.record["cell"], e.status, "; ".join(e.headline.values()) or e.message]
            for e in self.entries
        ]
        return rows, ["entry", "cell", "status", "headline"]

    def _repr_html_(self) -> str:
        return registry().view("validation.html")(self)

    def _repr_markdown_(self) -> str:
        return registry().view("validation.markdown")(self)


@dataclass
class Placement:
    """Where a concrete run (d, k, n, sigma2) sits on the prism and which limits may describe it
    (:func:`prismcat.api.where`)."""

    point: Any
    strength: dict[str, float]
    t: np.ndarray
    candidates: list[Any]
    simulation: dict[str, np.ndarray] | None = None

    @property
    def best(self) -> Any:
        """The candidate that describes the run best (closest, else highest score), or None."""
        return best_fit(self.candidates)

    def to_json(self) -> dict[str, Any]:
        """What ``prismcat where --json`` prints."""
        p = self.point
        best = self.best
        return {
            "model": getattr(getattr(p, "family", None), "name", DEFAULT_FAMILY),
            "sizes": dict(p.sizes)
            if hasattr(p, "family")
            else {"d": p.d, "k": p.k, "n": p.n, "sigma2": p.sigma2},
            "ratios": p.ratios,
            "toward": self.strength,
            "t": self.t.tolist(),
            "candidates": [c.to_json() for c in self.candidates],
            "simulation": None
            if self.simulation is None
            else {k: v.tolist() for k, v in self.simulation.items()},
            "best_fit": None if best is None else best.entry.id,
        }

    def to_frame(self):
        rows = [
            {
                "candidate": c.entry.id,
                "cell": c.entry.cell.id,
                "score": c.score,
                **{f"distance_{k}": v for k, v in c.distance.items()},
                "note": c.note,
            }
            for c in self.candidates
        ]
        return pandas().DataFrame(rows).set_index("candidate")

    def png(self) -> bytes:
        """The figure of ``prismcat where --figure``: the point on the prism and the candidates' curves."""
        return registry().view("placement.png")(self)

    def plot(self, ax: Any = None, loss: str = "train"):
        """The candidates' predicted per-dimension losses (and the simulated run, if any)."""
        return registry().view("placement.plot")(self, ax, loss)

    def rows(self) -> list[list[str]]:
        """One row per candidate: id, score, distance to the run, note."""
        return [
            [
                c.entry.id,
                f"{c.score:.2f}",
                " / ".join(f"{c.distance[x]:.3g}" for x in ("train", "population") if x in c.distance) or "-",
                c.note,
            ]
            for c in self.candidates
        ]

    def headline(self) -> str:
        """The run's ratios, what it is far toward, and the best candidate, in one line."""
        r = self.point.ratios
        far = ", ".join(f"{f} {v:.2f}" for f, v in self.strength.items() if v > 0) or "nothing extreme"
        best = self.best
        return (
            f"gamma = {r['gamma']:.4g}, alpha = {r['alpha']:.4g}, a = {r['a']:.4g}, u = {r['u']:.4g}; "
            f"toward {far}" + (f"; best: {best.entry.id}" if best else "")
        )

    def __repr__(self) -> str:
        return f"<Placement {self.headline()}>"

    def _repr_html_(self) -> str:
        return registry().view("placement.html")(self)

    def _repr_markdown_(self) -> str:
        return registry().view("placement.markdown")(self)
