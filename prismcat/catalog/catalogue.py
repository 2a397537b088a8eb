"""A loaded catalogue: its entries by id and every problem found (a bad file never hides the
rest), and the checks that need the whole catalogue (consistency relations name existing,
adjacent entries)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prismcat.catalog.entry import Entry
from prismcat.errors import Location, PrismcatError, Problem


@dataclass
class Catalog:
    """Entries by id, plus every problem found while loading (a bad file never hides the rest)."""

    root: Path | None
    entries: dict[str, Entry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __iter__(self):
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.entries

    def get(self, entry_id: str) -> Entry:
        if entry_id not in self.entries:
            close = difflib.get_close_matches(entry_id, list(self.entries), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            broken = [p for p in self.problems if entry_id in (p.location.file or "")]
            extra = " (its file has problems; run prismcat lint)" if broken else ""
            raise PrismcatError(f"no entry '{entry_id}' in the catalogue{hint}{extra}")
        return self.entries[entry_id]

    def by_cell(self, geometry: str = "prism") -> dict[str, list[Entry]]:
        """Entries by cell id, of one geometry (default: the autoencoder's prism)."""
        out: dict[str, list[Entry]] = {}
        for e in self:
            if e.geometry.key == geometry:
                out.setdefault(e.cell.id, []).append(e)
        return out

    def by_geometry(self) -> dict[Any, list[Entry]]:
        """Entries grouped by the geometry their cells belong to (the prism first)."""
        out: dict[str, tuple[Any, list[Entry]]] = {}
        for e in self:
            out.setdefault(e.geometry.key, (e.geometry, []))[1].append(e)
        return dict(out.values())


def check_relations(cat: Catalog) -> None:
    """Each relation must name an existing, adjacent, higher-dimensional entry and all of its
    parameters."""
    for entry in cat:
        for rel in entry.relations:
            base = ("consistency", rel.index)

            def add(path: tuple, msg: str, entry: Entry = entry) -> None:
                loc = entry.source.locate(path) if entry.source else Location(entry.file, path=path)
                cat.problems.append(Problem(loc, msg))

            other = cat.entries.get(rel.spec.entry)
            if other is None:
                add((*base, "entry"), f"no entry '{rel.spec.entry}' in the catalogue")
                continue
            if rel.spec.exact:
                pass  # the same curve: any entry, any family
            elif not entry.same_geometry(other):
                add(
                    (*base, "entry"),
                    f"'{other.id}' lies in another geometry ({other.family.name} {other.geometry.key}); "
                    "a relation across geometries is exact: true",
                )
            elif not (other.cell.faces < entry.cell.faces and len(entry.cell.faces - other.cell.faces) == 1):
                add(
                    (*base, "entry"),
                    f"'{other.id}' ({other.cell.id}) is not a neighbour one face up from {entry.cell.id}",
                )
            want, got = set(other.spec.parameters), set(rel.spec.parameters)
            if want != got:
                missing, extra = sorted(want - got), sorted(got - want)
                msg = f"parameters must map exactly {', '.join(sorted(want)) or 'nothing'}"
                if missing:
                    msg += f"; missing {', '.join(missing)}"
                if extra:
                    msg += f"; unknown {', '.join(extra)}"
                add((*base, "parameters"), msg)
            has_population = "population" in entry.family.losses
            if (
                rel.spec.population is not None
                and entry.formulas.get("population") is None
                and has_population
            ):
                add(
                    (*base, "population"),
                    "this entry has no population limit; set population: null",
                )
        for other_id in entry.spec.consistency_exemptions:
            other = cat.entries.get(other_id)
            path = ("consistency_exemptions", other_id)
            loc = entry.source.locate(path, at_key=True) if entry.source else Location(entry.file, path=path)
            if other is None:
                cat.problems.append(Problem(loc, f"no entry '{other_id}' in the catalogue"))
            elif not entry.same_geometry(other) or not (
                other.cell.faces < entry.cell.faces and len(entry.cell.faces - other.cell.faces) == 1
            ):
                cat.problems.append(
                    Problem(loc, f"'{other_id}' is not a neighbour one face up from {entry.cell.id}")
                )
