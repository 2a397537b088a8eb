"""The prism's fan: cell derivation for every direction, canonical ids, adjacency."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from prismcat.prism import (
    Cell,
    all_cells,
    cell_of,
    higher_cells,
    parse_cell,
    ratio_exponents,
    representative_exponents,
    triangle_cell_faces,
)

# Exponents (d, k, n, sigma2) of CELLS.md for every cell.
CELLS_MD = {
    "large-data": (1, 1, 2, -1),
    "small-data": (1, 1, 0, -1),
    "mean-field": (1, 2, 1, -2),
    "narrow-latent": (1, 0, 1, -1),
    "free": (1, 1, 1, 0),
    "large-data+mean-field": (1, 2, 2, -2),
    "large-data+narrow-latent": (1, 0, 2, -1),
    "large-data+free": (1, 1, 2, 0),
    "small-data+mean-field": (1, 2, 0, -2),
    "small-data+narrow-latent": (1, 0, 0, -1),
    "small-data+free": (1, 1, 0, 0),
    "mean-field+narrow-latent": (1, 1, 1, -2),
    "narrow-latent+free": (1, 0, 1, 0),
    "mean-field+free": (1, 2, 1, -1),
    "large-data+mean-field+narrow-latent": (1, 1, 2, -2),
    "large-data+narrow-latent+free": (1, 0, 2, 0),
    "large-data+mean-field+free": (1, 2, 2, -1),
    "small-data+mean-field+narrow-latent": (1, 1, 0, -2),
    "small-data+narrow-latent+free": (1, 0, 0, 0),
    "small-data+mean-field+free": (1, 2, 0, -1),
    "interior": (1, 1, 1, -1),
}


def test_there_are_21_cells_with_the_canonical_ids():
    cells = all_cells()
    assert len(cells) == 21
    assert {c.id for c in cells} == set(CELLS_MD)
    kinds = [c.kind for c in cells]
    assert (
        kinds.count("face"),
        kinds.count("edge"),
        kinds.count("vertex"),
        kinds.count("interior"),
    ) == (5, 9, 6, 1)


@pytest.mark.parametrize(("cell_id", "exponents"), CELLS_MD.items())
def test_cells_md_exponents_give_their_cell(cell_id, exponents):
    assert cell_of(*exponents).id == cell_id
    assert cell_of(*representative_exponents(parse_cell(cell_id))).id == cell_id


@pytest.mark.parametrize(("cell_id", "exponents"), CELLS_MD.items())
def test_cell_depends_only_on_ratio_exponents(cell_id, exponents):
    """Shift d's exponent and compensate: same ratios, same cell; scale all ratios: same cell."""
    d, k, n, s = exponents
    assert cell_of(d + 2, k + 2, n + 2, s - 2).id == cell_id
    x = ratio_exponents(d, k, n, s)
    # multiply the ratio exponents by 1/2 (a positive multiple stays in the same cone)
    half = (Fraction(1), 1 + x.x_gamma / 2, 1 + x.x_alpha / 2, x.x_a / 2 - 1)
    assert cell_of(*half).id == cell_id


@pytest.mark.parametrize(
    ("x_gamma", "x_a", "faces"),
    [
        ((-1), 0, {"narrow-latent"}),
        (1, -1, {"mean-field"}),
        (0, 1, {"free"}),
        (0, -1, {"mean-field", "narrow-latent"}),  # small init: between NL and MF
        (-1, -1, {"mean-field", "narrow-latent"}),
        (2, -1, {"mean-field", "free"}),
        (1, 0, {"mean-field", "free"}),
        (-1, 1, {"narrow-latent", "free"}),
        (-1, 5, {"narrow-latent", "free"}),
        (Fraction(1, 3), Fraction(-1, 3), {"mean-field"}),
        (0.5, -0.5, {"mean-field"}),
        (0, 0, set()),
    ],
)
def test_triangle_fan(x_gamma, x_a, faces):
    assert triangle_cell_faces(x_gamma, x_a) == frozenset(faces)


def test_every_direction_of_the_plane_is_classified():
    for xg, xa in itertools.product([-3, -1, -0.5, 0, 0.5, 1, 3], repeat=2):
        faces = triangle_cell_faces(xg, xa)
        assert len(faces) <= 2
        assert (len(faces) == 0) == (xg == 0 and xa == 0)


def test_parse_cell_rejects_non_canonical_and_impossible_ids():
    assert parse_cell("interior").kind == "interior"
    with pytest.raises(ValueError, match="not canonical"):
        parse_cell("mean-field+large-data")
    with pytest.raises(ValueError, match="unknown face"):
        parse_cell("huge-data")
    with pytest.raises(ValueError, match="at most one data face"):
        parse_cell("large-data+small-data")
    with pytest.raises(ValueError, match="at most two triangle faces"):
        parse_cell("mean-field+narrow-latent+free")
    with pytest.raises(ValueError, match="repeats"):
        parse_cell("free+free")


def test_adjacency_edges_and_vertices():
    edge = parse_cell("large-data+mean-field")
    assert {c.id for c in higher_cells(edge)} == {"large-data", "mean-field"}
    vertex = parse_cell("small-data+narrow-latent+free")
    assert {c.id for c in higher_cells(vertex)} == {
        "small-data+narrow-latent",
        "small-data+free",
        "narrow-latent+free",
    }
    assert vertex.is_boundary_of(parse_cell("free"))
    assert not parse_cell("free").is_boundary_of(vertex)
    assert Cell(frozenset()).id == "interior"
