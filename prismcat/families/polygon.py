"""A two-dimensional normal fan as a family geometry: the Pareto polygon of a diagram expansion.

Two log-ratios (r1, r2), linear in the scaling exponents, place a scaling direction in the plane
(r1 = r2 = 0 is the direction where every leading term counts: the polygon's interior cell). Each
edge of the polygon is a ray of the fan (a scaling where one balance holds and the others are
extreme); each vertex is the open cone between two consecutive rays. A cell is the set of edges
that contain it, as on the prism: an edge lies on itself, a vertex on its two edges, the interior
on none. Rays are listed counter-clockwise, each with the name of the edge, e.g. "A-B"; a vertex is
named by the letter its two edges share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from prismcat.prism_drawing import LEGEND
from prismcat.scaling import exact
from prismcat.status import COLOURS, HIGHLIGHT

INTERIOR = "interior"


@dataclass(frozen=True)
class PolygonCell:
    faces: frozenset[str]
    name: str

    @property
    def id(self) -> str:
        return self.name

    @property
    def kind(self) -> str:
        return {0: "interior", 1: "edge", 2: "vertex"}[len(self.faces)]

    def __str__(self) -> str:
        return self.name


def _shared(a: str, b: str) -> str:
    common = set(a.split("-")) & set(b.split("-"))
    if len(common) != 1:
        raise ValueError(f"edges {a} and {b} do not share one vertex")
    return common.pop()


class PolygonGeometry:
    """The fan of ``rays`` (edge name -> (r1, r2) direction, counter-clockwise) in the plane of
    ``r1``, ``r2``: each a map size -> coefficient (r = sum coefficient * exponent)."""

    cell_word = "Pareto polygon"

    def __init__(
        self,
        key: str,
        title: str,
        rays: dict[str, tuple[int, int]],
        r1: Mapping[str, Fraction],
        r2: Mapping[str, Fraction],
        axes: tuple[str, str],
        normal: Mapping[str, Fraction],
    ):
        self.key, self.title, self.rays, self.axes = key, title, dict(rays), axes
        self.r1, self.r2, self.normal = dict(r1), dict(r2), dict(normal)
        names = list(self.rays)
        self._vertices = {
            _shared(names[i], names[(i + 1) % len(names)]): (names[i], names[(i + 1) % len(names)])
            for i in range(len(names))
        }
        for e1, e2 in self._vertices.values():
            (a1, a2), (b1, b2) = self.rays[e1], self.rays[e2]
            if a1 * b2 - a2 * b1 <= 0:
                raise ValueError(f"rays {e1} and {e2} are half a turn or more apart: not a polygon's fan")

    # -- cells --------------------------------------------------------------------------------
    def cells(self) -> list[PolygonCell]:
        out = [PolygonCell(frozenset({e}), e) for e in self.rays]
        out += [PolygonCell(frozenset(pair), v) for v, pair in sorted(self._vertices.items())]
        return [*out, PolygonCell(frozenset(), INTERIOR)]

    def parse(self, cell_id: str) -> PolygonCell:
        for c in self.cells():
            if c.id == cell_id:
                return c
        raise ValueError(
            f"'{cell_id}' is not a cell of the {self.title} (cells: {', '.join(c.id for c in self.cells())})"
        )

    def position(self, exponents: Mapping[str, Any]) -> tuple[Fraction, Fraction]:
        e = {s: exact(v) for s, v in exponents.items()}
        r1 = sum((c * e[s] for s, c in self.r1.items()), Fraction(0))
        r2 = sum((c * e[s] for s, c in self.r2.items()), Fraction(0))
        return r1, r2

    def cell_of(self, exponents: Mapping[str, Any]) -> PolygonCell:
        v = self.position(exponents)
        if v == (0, 0):
            return self.parse(INTERIOR)
        for edge, (a, b) in self.rays.items():
            if a * v[1] - b * v[0] == 0 and a * v[0] + b * v[1] > 0:
                return self.parse(edge)
        for vertex, (e1, e2) in self._vertices.items():
            alpha, beta = self._split(v, e1, e2)
            if alpha > 0 and beta > 0:
                return self.parse(vertex)
        raise AssertionError("the rays span the plane")  # pragma: no cover

    def _split(self, v, e1: str, e2: str):
        """(alpha, beta) with v = alpha ray(e1) + beta ray(e2), exact for Fractions."""
        (a1, a2), (b1, b2) = self.rays[e1], self.rays[e2]
        det = a1 * b2 - a2 * b1
        if isinstance(v[0], Fraction):
            det = Fraction(det)
        return (v[0] * b2 - v[1] * b1) / det, (a1 * v[1] - a2 * v[0]) / det

    def adjacent(self, cell: PolygonCell) -> list[PolygonCell]:
        return [c for c in self.cells() if len(c.faces ^ cell.faces) == 1]

    def representative(self, cell: PolygonCell) -> dict[str, Fraction]:
        """Exponents in the cell: the normal direction plus the cell's ray(s) (solved exactly)."""
        target = [Fraction(0), Fraction(0)]
        for e in cell.faces:
            target[0] += self.rays[e][0]
            target[1] += self.rays[e][1]
        # move along the two axes sizes (those with a unit in r1 / r2) from the normal
        out = dict(self.normal)
        s1, s2 = self.axes
        m = [[self.r1.get(s1, 0), self.r1.get(s2, 0)], [self.r2.get(s1, 0), self.r2.get(s2, 0)]]
        det = Fraction(m[0][0] * m[1][1] - m[0][1] * m[1][0])
        x1 = (target[0] * m[1][1] - m[0][1] * target[1]) / det
        x2 = (m[0][0] * target[1] - m[1][0] * target[0]) / det
        out[s1] += x1
        out[s2] += x2
        return out

    def primary_id(self, cell: PolygonCell) -> str:
        return f"{self.key}-{cell.id.lower()}"

    def coordinates(self, exponents: Mapping[str, Any]) -> str:
        r1, r2 = self.position(exponents)
        return f"r1={r1}, r2={r2}"

    # -- concrete runs ------------------------------------------------------------------------
    def log_position(self, sizes: Mapping[str, float]) -> tuple[float, float]:
        r1 = sum(float(c) * math.log(sizes[s]) for s, c in self.r1.items())
        r2 = sum(float(c) * math.log(sizes[s]) for s, c in self.r2.items())
        return r1, r2

    def extremeness(self, sizes: Mapping[str, float]) -> dict[str, float]:
        """How far toward each edge a run is (nats): its log-position split on the two rays
        whose cone holds it."""
        v = self.log_position(sizes)
        out = dict.fromkeys(self.rays, 0.0)
        if v == (0.0, 0.0):
            return out
        for e1, e2 in self._vertices.values():
            alpha, beta = self._split(v, e1, e2)
            if alpha >= -1e-12 and beta >= -1e-12:
                out[e1] = max(alpha * math.hypot(*self.rays[e1]), 0.0)
                out[e2] = max(beta * math.hypot(*self.rays[e2]), 0.0)
                break
        return out

    # -- picture ------------------------------------------------------------------------------
    def corners(self) -> dict[str, tuple[float, float]]:
        """Polygon vertices whose edges have the rays as outward normals (a polygon around the
        unit circle): the picture has the classification's combinatorics and normals."""
        out = {}
        for v, (e1, e2) in self._vertices.items():
            (a1, a2), (b1, b2) = (_unit(self.rays[e]) for e in (e1, e2))
            det = a1 * b2 - a2 * b1
            out[v] = ((b2 - a2) / det, (a1 - b1) / det)
        return out

    def draw(self, ax: Any, marks: Mapping[str, str]) -> None:
        from matplotlib.patches import Polygon

        def colour(cell_id: str) -> str:
            state = marks.get(cell_id, "none")
            return HIGHLIGHT if state == "here" else COLOURS[state]

        pts = self.corners()
        order = [
            _shared(a, b)
            for a, b in zip(self.rays, [*list(self.rays)[1:], next(iter(self.rays))], strict=True)
        ]
        ax.add_patch(Polygon([pts[v] for v in order], closed=True, facecolor=colour(INTERIOR), alpha=0.2,
                             edgecolor="none"))  # fmt: skip
        ax.text(0, 0, INTERIOR, ha="center", va="center", fontsize=8)
        for edge in self.rays:
            a, b = (pts[x] for x in edge.split("-"))
            ax.plot([a[0], b[0]], [a[1], b[1]], color=colour(edge), lw=4, solid_capstyle="round")
            mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
            ux, uy = _unit(self.rays[edge])
            ax.text(mx + 0.22 * ux, my + 0.22 * uy, edge, ha="center", va="center", fontsize=8)
        for v, (x, y) in pts.items():
            ax.plot(x, y, "o", ms=12, color=colour(v), mec="black", mew=0.6)
            ax.text(x * 1.18, y * 1.18, v, ha="center", va="center", fontsize=10, weight="bold")
        if "here" not in marks.values():
            for state in LEGEND:
                ax.plot([], [], "o", color=COLOURS[state], label={"none": "no entry"}.get(state, state))
            ax.legend(loc="lower right", fontsize=7, frameon=False)
        r = 1.6 * max(max(abs(x), abs(y)) for x, y in pts.values())
        ax.set_xlim(-r, r)
        ax.set_ylim(-r, r)
        ax.set_aspect("equal")
        ax.axis("off")


def _unit(v: tuple[float, float]) -> tuple[float, float]:
    n = math.hypot(*v)
    return (v[0] / n, v[1] / n)
