"""The prism drawn: every face, edge and vertex, coloured by the status of its entries (the prism
geometry draws itself with this; matplotlib is imported by the caller's axes, never here)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from prismcat.prism import DATA_FACES, TRIANGLE_FACES, all_cells
from prismcat.status import COLOURS, HIGHLIGHT, worst

LEGEND = ("pass", "fail", "error", "none")  # the states a legend lists
# Triangle corners, named by the two triangle faces that meet there; y is the data axis.
CORNERS = {
    frozenset({"mean-field", "narrow-latent"}): np.array([0.0, 0.0]),
    frozenset({"narrow-latent", "free"}): np.array([1.7, 0.0]),
    frozenset({"mean-field", "free"}): np.array([0.75, 0.55]),
}
LEVEL = {"small-data": 0.0, "large-data": 1.5, None: 0.75}
LABEL_SHIFT = {
    "mean-field": np.array([-0.1, 0.0]),
    "free": np.array([0.1, 0.0]),
    "narrow-latent": np.array([0.0, -0.3]),
}
SHORT = {"large-data": "LD", "small-data": "SD", "mean-field": "MF", "narrow-latent": "NL", "free": "FR"}


def cell_status(
    statuses: Mapping[str, str], cell_entries: Mapping[str, list[str]], cells: list | None = None
) -> dict[str, str]:
    """Status of each cell (of the prism, or of ``cells``): 'none' without entries, else the worst
    of its entries."""
    out = {}
    for cell in all_cells() if cells is None else cells:
        ids = cell_entries.get(cell.id, [])
        out[cell.id] = worst(statuses[i] for i in ids if i in statuses)
    return out


def _corner(faces: frozenset[str], level: str | None) -> np.ndarray:
    return CORNERS[faces] + np.array([0.0, LEVEL[level]])


def draw(ax, status: Mapping[str, str], legend: bool = True) -> None:
    """Draw on ``ax`` with ``status`` mapping cell id -> pass/fail/error/none."""
    from matplotlib.patches import Polygon

    def colour(cell_id: str) -> str:
        state = status.get(cell_id, "none")
        return HIGHLIGHT if state == "here" else COLOURS[state]

    # rectangular faces (one per triangle face), then the two triangles
    for face in TRIANGLE_FACES:
        ends = [c for c in CORNERS if face in c]
        pts = [
            _corner(ends[0], "small-data"),
            _corner(ends[1], "small-data"),
            _corner(ends[1], "large-data"),
            _corner(ends[0], "large-data"),
        ]
        ax.add_patch(Polygon(pts, closed=True, facecolor=colour(face), alpha=0.18, edgecolor="none"))
        centre = np.mean(pts, axis=0) + LABEL_SHIFT[face]
        ax.text(*centre, SHORT[face], ha="center", va="center", fontsize=9, color=colour(face), weight="bold")
    for data in DATA_FACES:
        pts = [_corner(c, data) for c in CORNERS]
        ax.add_patch(Polygon(pts, closed=True, facecolor=colour(data), alpha=0.25, edgecolor="none"))
        centre = np.mean(pts, axis=0)
        ax.text(*centre, SHORT[data], ha="center", va="center", fontsize=9, color=colour(data), weight="bold")
    # edges: vertical ones (two triangle faces) and the triangles' sides (data face + one face)
    for pair in CORNERS:
        a, b = _corner(pair, "small-data"), _corner(pair, "large-data")
        cid = "+".join(f for f in ("mean-field", "narrow-latent", "free") if f in pair)
        ax.plot([a[0], b[0]], [a[1], b[1]], color=colour(cid), lw=3, solid_capstyle="round")
    for data in DATA_FACES:
        for face in TRIANGLE_FACES:
            ends = [c for c in CORNERS if face in c]
            a, b = _corner(ends[0], data), _corner(ends[1], data)
            ax.plot([a[0], b[0]], [a[1], b[1]], color=colour(f"{data}+{face}"), lw=3, solid_capstyle="round")
    # vertices
    for data in DATA_FACES:
        for pair in CORNERS:
            p = _corner(pair, data)
            cid = data + "+" + "+".join(f for f in ("mean-field", "narrow-latent", "free") if f in pair)
            ax.plot(*p, "o", ms=11, color=colour(cid), mec="black", mew=0.6)
    centre = np.mean([_corner(c, None) for c in CORNERS], axis=0)
    ax.plot(*centre, "s", ms=9, color=colour("interior"), mec="black", mew=0.6)
    ax.text(centre[0] + 0.07, centre[1], "interior", fontsize=7, va="center")
    ax.text(-0.15, LEVEL["large-data"] + 0.02, "large data\n(alpha up)", fontsize=7, ha="right", va="center")
    ax.text(-0.15, LEVEL["small-data"], "small data\n(alpha down)", fontsize=7, ha="right", va="center")
    if legend:
        for state in LEGEND:
            ax.plot([], [], "o", color=COLOURS[state], label={"none": "no entry"}.get(state, state))
        ax.legend(loc="upper right", fontsize=7, frameon=False)
    ax.set_xlim(-0.8, 2.2)
    ax.set_ylim(-0.25, 2.25)
    ax.set_aspect("equal")
    ax.axis("off")


def point_position(strength: Mapping[str, float], scale: float = 3.0) -> np.ndarray:
    """Where a run with these extremeness values (nats toward each face) sits in the picture.

    The data axis maps log(alpha) to the height through tanh; in the triangle a face's direction
    points at the middle of its side and a vertex direction at the corner, at a distance from the
    centre that grows like tanh(|extremeness| / scale).
    """
    height = LEVEL[None] + (LEVEL["large-data"] - LEVEL[None]) * np.tanh(
        (strength.get("large-data", 0.0) - strength.get("small-data", 0.0)) / scale
    )
    centre = np.mean(list(CORNERS.values()), axis=0)
    on = [(f, strength.get(f, 0.0)) for f in TRIANGLE_FACES if strength.get(f, 0.0) > 0]
    if not on:
        return np.array([centre[0], centre[1] + height])
    mid = {f: np.mean([c for pair, c in CORNERS.items() if f in pair], axis=0) for f in TRIANGLE_FACES}
    if len(on) == 1:
        target = mid[on[0][0]]
    else:
        (f, cf), (g, cg) = on
        corner = CORNERS[frozenset({f, g})]
        theta = cg / (cf + cg)
        target = (
            mid[f] + 2 * theta * (corner - mid[f])
            if theta < 0.5
            else corner + (2 * theta - 1) * (mid[g] - corner)
        )
    reach = np.tanh(math.hypot(*(v for _, v in on)) / scale)
    xy = centre + reach * (target - centre)
    return np.array([xy[0], xy[1] + height])
