"""Pictures of a family's geometry (the prism, a Pareto polygon) coloured by status, and of one
entry's cell on it."""

from __future__ import annotations

from typing import Any

from prismcat.figures.canvas import figure, png
from prismcat.prism_drawing import draw


def prism_png(status: dict[str, str], title: str = "The prism, coloured by validation status") -> bytes:
    """The prism coloured by ``status`` (cell id -> pass/fail/error/none, or 'here' to highlight)."""
    # The picture's data box (3.0 x 2.5, equal aspect) in a 4.2 x 3.5 in axes with room for the
    # title: the 6 x 4.6 in figure it used to be drawn in, cropped to its content.
    fig = figure(4.5, 3.95)
    ax = fig.add_axes((0.15 / 4.5, 0.05 / 3.95, 4.2 / 4.5, 3.5 / 3.95))
    draw(ax, status, legend="here" not in status.values())
    ax.set_title(title, fontsize=10)
    return png(fig, tight=False)


def geometry_png(geometry: Any, marks: dict[str, str], title: str) -> bytes:
    """A family geometry (the prism, a Pareto polygon) coloured by ``marks`` (cell id ->
    pass/fail/error/none, or 'here' to highlight one cell)."""
    if geometry.key == "prism":
        return prism_png(marks, title)
    fig = figure(4.5, 3.95)
    ax = fig.add_axes((0.15 / 4.5, 0.05 / 3.95, 4.2 / 4.5, 3.5 / 3.95))
    geometry.draw(ax, marks)
    ax.set_title(title, fontsize=10)
    return png(fig, tight=False)


def cell_png(entry: Any) -> bytes:
    """The entry's cell highlighted on its family's geometry."""
    g = entry.geometry
    title = entry.cell.id if g.key == "prism" else f"{entry.cell.id} ({g.title})"
    return geometry_png(g, {entry.cell.id: "here"}, title)
