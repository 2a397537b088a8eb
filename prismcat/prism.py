"""The prism's geometry: its normal fan, cells, canonical ids and adjacency.

Scale d ~ N^e_d, k ~ N^e_k, n ~ N^e_n, sigma2 ~ N^e_s. The limit depends only on the exponents of
the ratios alpha = n/d, gamma = k/d, a = sigma2 d:

    x_alpha = e_n - e_d,   x_gamma = e_k - e_d,   x_a = e_s + e_d.

Data axis: x_alpha > 0 large-data, x_alpha < 0 small-data. Triangle: three rays in the
(x_gamma, x_a) plane, narrow-latent (-1, 0), mean-field (1, -1), free (0, 1); a point on a ray
lies on that face, a point strictly between two rays on the vertex where those faces meet,
the origin in the interior of the triangle. A cell is its set of faces.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

from prismcat.scaling import Number, exact

DATA_FACES = ("large-data", "small-data")
TRIANGLE_FACES = ("mean-field", "narrow-latent", "free")
FACES = DATA_FACES + TRIANGLE_FACES
RAYS: dict[str, tuple[int, int]] = {"narrow-latent": (-1, 0), "mean-field": (1, -1), "free": (0, 1)}
INTERIOR = "interior"
KIND_BY_SIZE = {0: "interior", 1: "face", 2: "edge", 3: "vertex"}


@dataclass(frozen=True)
class Cell:
    """A cell of the prism: the set of faces that contain it (empty for the interior)."""

    faces: frozenset[str]

    def __post_init__(self) -> None:
        unknown = self.faces - set(FACES)
        if unknown:
            raise ValueError(f"unknown face(s): {', '.join(sorted(unknown))}")
        if len(self.faces & set(DATA_FACES)) > 1:
            raise ValueError("a cell lies on at most one data face")
        if len(self.faces & set(TRIANGLE_FACES)) > 2:
            raise ValueError("a cell lies on at most two triangle faces")

    @property
    def id(self) -> str:
        return "+".join(f for f in FACES if f in self.faces) or INTERIOR

    @property
    def kind(self) -> str:
        """'face', 'edge', 'vertex' or 'interior'."""
        return KIND_BY_SIZE[len(self.faces)]

    @property
    def data_face(self) -> str | None:
        return next((f for f in DATA_FACES if f in self.faces), None)

    @property
    def triangle_faces(self) -> tuple[str, ...]:
        return tuple(f for f in TRIANGLE_FACES if f in self.faces)

    def __str__(self) -> str:
        return self.id

    def is_boundary_of(self, other: Cell) -> bool:
        """True if this cell lies in the closure of ``other`` (``other``'s faces are a subset)."""
        return other.faces < self.faces


def parse_cell(cell_id: str) -> Cell:
    """The cell with canonical id ``cell_id``; the id must list faces in canonical order."""
    if cell_id == INTERIOR:
        return Cell(frozenset())
    parts = cell_id.split("+")
    if len(set(parts)) != len(parts):
        raise ValueError(f"'{cell_id}' repeats a face")
    cell = Cell(frozenset(parts))
    if cell.id != cell_id:
        raise ValueError(
            f"'{cell_id}' is not canonical; write '{cell.id}' "
            f"(data face first, then {', '.join(TRIANGLE_FACES)})"
        )
    return cell


def all_cells() -> list[Cell]:
    """The 21 cells: 5 faces, 9 edges, 6 vertices and the interior, in a stable order."""
    data_options: list[tuple[str, ...]] = [(), *((f,) for f in DATA_FACES)]
    tri_options: list[tuple[str, ...]] = [(), *((f,) for f in TRIANGLE_FACES)]
    tri_options += list(itertools.combinations(TRIANGLE_FACES, 2))
    cells = [Cell(frozenset(d + t)) for d in data_options for t in tri_options]
    return sorted(cells, key=lambda c: (len(c.faces), [FACES.index(f) for f in FACES if f in c.faces]))


@dataclass(frozen=True)
class RatioExponents:
    """Exponents of (alpha, gamma, a) in N."""

    x_alpha: Fraction
    x_gamma: Fraction
    x_a: Fraction

    def __str__(self) -> str:
        return f"x_alpha={self.x_alpha}, x_gamma={self.x_gamma}, x_a={self.x_a}"


def ratio_exponents(d: Number, k: Number, n: Number, sigma2: Number) -> RatioExponents:
    ed, ek, en, es = (exact(v) for v in (d, k, n, sigma2))
    return RatioExponents(x_alpha=en - ed, x_gamma=ek - ed, x_a=es + ed)


def triangle_cell_faces(x_gamma: Number, x_a: Number) -> frozenset[str]:
    """The triangle faces whose cone of the fan holds (x_gamma, x_a)."""
    v = (exact(x_gamma), exact(x_a))
    if v == (0, 0):
        return frozenset()
    for f, g in itertools.combinations(TRIANGLE_FACES, 2):
        (a1, a2), (b1, b2) = RAYS[f], RAYS[g]
        det = Fraction(a1 * b2 - a2 * b1)
        alpha = (v[0] * b2 - v[1] * b1) / det
        beta = (a1 * v[1] - a2 * v[0]) / det
        if alpha >= 0 and beta >= 0:
            return frozenset(name for name, c in ((f, alpha), (g, beta)) if c > 0)
    raise AssertionError("the three rays span the plane")  # pragma: no cover


def cell_of(d: Number, k: Number, n: Number, sigma2: Number) -> Cell:
    """The cell reached when d, k, n, sigma2 scale like N to these exponents."""
    x = ratio_exponents(d, k, n, sigma2)
    data = () if x.x_alpha == 0 else (("large-data",) if x.x_alpha > 0 else ("small-data",))
    return Cell(frozenset(data) | triangle_cell_faces(x.x_gamma, x.x_a))


def adjacent_cells(cell: Cell) -> list[Cell]:
    """Cells one step away: drop one face (a higher-dimensional neighbour) or add one."""
    out = []
    for other in all_cells():
        diff = other.faces ^ cell.faces
        if len(diff) == 1:
            out.append(other)
    return out


def higher_cells(cell: Cell) -> list[Cell]:
    """Cells this one bounds (one face fewer): an edge's two faces, a vertex's three edges."""
    return [c for c in adjacent_cells(cell) if c.faces < cell.faces]


def representative_exponents(cell: Cell) -> tuple[int, int, int, int]:
    """Integer exponents (d, k, n, sigma2) with d ~ N that place a problem in ``cell``."""
    x_alpha = 1 if "large-data" in cell.faces else (-1 if "small-data" in cell.faces else 0)
    xg, xa = 0, 0
    for f in cell.triangle_faces:
        xg, xa = xg + RAYS[f][0], xa + RAYS[f][1]
    e_d = 1
    return (e_d, e_d + xg, e_d + x_alpha, xa - e_d)


def extremeness(d: float, k: float, n: float, sigma2: float) -> dict[str, float]:
    """How far a concrete run (d, k, n, sigma2) is toward each face, in nats (0 for faces it is not
    toward): |log alpha| for its data face, and (log gamma, log a) split on the two triangle rays
    whose cone holds it."""
    la, lg, lz = math.log(n / d), math.log(k / d), math.log(sigma2 * d)
    out = dict.fromkeys(FACES, 0.0)
    out["large-data" if la > 0 else "small-data"] = abs(la)
    if lg or lz:
        for f, g in itertools.combinations(TRIANGLE_FACES, 2):
            (a1, a2), (b1, b2) = RAYS[f], RAYS[g]
            det = a1 * b2 - a2 * b1
            cf, cg = (lg * b2 - lz * b1) / det, (a1 * lz - a2 * lg) / det
            if cf >= -1e-12 and cg >= -1e-12:
                out[f], out[g] = max(cf, 0.0), max(cg, 0.0)
                break
    return out
