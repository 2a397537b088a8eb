"""The packaged catalogue: the whole prism, CELLS.md's normalisations, consistent neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from prismcat.formulas.expr import compile_expression
from prismcat.prism import all_cells
from prismcat.validation.check import checkers
from prismcat.validation.checks import CheckContext

# CELLS.md: (clock in terms of t, train quantity, population quantity or None), with a = sigma2 d.
CELLS_MD = {
    "interior": ("t", "L_train / d", "L_pop / d"),
    "large-data": ("t", "L_train / d", "L_pop / d"),
    "small-data": ("t * d / n", "L_train / d", "(L_pop - L_pop0) / n"),
    "mean-field": ("t", "L_train / d", "L_pop / d"),
    "narrow-latent": ("t", "(L_train - trS / 2) / k", "(L_pop - d / 2) / k"),
    "free": ("t", "L_train / d", "L_pop / d"),
    "large-data+mean-field": ("t", "L_train / d", "L_pop / d"),
    "large-data+narrow-latent": ("t", "(L_train - trS / 2) / k", "(L_pop - d / 2) / k"),
    "large-data+free": ("t", "L_train / d", "L_pop / d"),
    "small-data+mean-field": ("t * d / n", "L_train / d", "(L_pop - L_pop0) / n"),
    "small-data+narrow-latent": ("t * d / n", "(L_train - L_train0) / k", "(L_pop - L_pop0) * d / (n * k)"),
    "small-data+free": ("t * d / n", "L_train / d", None),
    "mean-field+narrow-latent": (
        "t",
        "(L_train - L_train0) / (sigma2 * d * k)",
        "(L_pop - L_pop0) / (sigma2 * d * k)",
    ),
    "narrow-latent+free": ("t", "(L_train - trS / 2) / k", "(L_pop - d / 2) / k"),
    "mean-field+free": ("t", "L_train / d", "L_pop / d"),
    "large-data+mean-field+narrow-latent": (
        "t",
        "(L_train - L_train0) / (sigma2 * d * k)",
        "(L_pop - L_pop0) / (sigma2 * d * k)",
    ),
    "large-data+narrow-latent+free": ("t", "(L_train - trS / 2) / k", "(L_pop - d / 2) / k"),
    "large-data+mean-field+free": ("t", "L_train / d", "L_pop / d"),
    "small-data+mean-field+narrow-latent": (
        "t * d / n",
        "(L_train - L_train0) / (sigma2 * d * k)",
        "(L_pop - L_pop0) / (sigma2 * n * k)",
    ),
    "small-data+narrow-latent+free": (
        "sigma2 * d * t * d / n",
        "(L_train - L_train0) / (k * (sigma2 * d)**2)",
        "(L_pop - L_pop0) * d / (n * k * (sigma2 * d)**2)",
    ),
    "small-data+mean-field+free": ("t * d / n", "L_train / d", None),
}
NAMES = ["L_train", "L_pop", "L_train0", "L_pop0", "trS", "d", "k", "n", "sigma2", "t"]


def test_one_primary_entry_per_cell_and_nothing_else(catalog):
    assert len(catalog) == 21
    assert sorted(catalog.entries) == sorted(c.id for c in all_cells())
    for entry in catalog:
        assert entry.cell.id == entry.id


def test_catalogue_layout_mirrors_the_prism(catalog):
    folders = {"face": "faces", "edge": "edges", "vertex": "vertices"}
    for entry in catalog:
        if entry.cell.kind == "interior":
            assert entry.file.endswith("catalog/interior.yaml")
        else:
            assert f"catalog/{folders[entry.cell.kind]}/{entry.id}.yaml" in entry.file


@pytest.mark.parametrize("cell_id", sorted(CELLS_MD))
def test_primary_entries_use_the_normalisations_of_cells_md(catalog, cell_id):
    entry = catalog.get(cell_id)
    clock, train, pop = CELLS_MD[cell_id]
    rng = np.random.default_rng(0)
    env = {name: np.float64(v) for name, v in zip(NAMES, rng.uniform(0.5, 3.0, len(NAMES)), strict=True)}
    params = {name: np.float64(m.value(env)) for name, m in entry.ratios.items()}
    env.update(params)

    def same(text: str, compiled) -> bool:
        want = compile_expression(text, NAMES)(env)
        return bool(np.isclose(compiled(env), want, rtol=1e-12))

    assert same(clock, entry.clock), entry.spec.clock.definition
    assert same(train, entry.quantities["train"]), entry.spec_quantity("train")
    if pop is None:
        assert entry.quantities["population"] is None and entry.absent["population"]
    else:
        assert same(pop, entry.quantities["population"]), entry.spec_quantity("population")


def test_every_entry_has_a_limit_or_says_why_not(catalog):
    for entry in catalog:
        if entry.id == "interior":
            assert not entry.has_limit
        else:
            assert entry.has_limit, entry.id


@pytest.mark.slow
def test_all_consistency_relations_hold(catalog):
    """Every edge/vertex is the limit of its neighbours' formulas (formula level, no simulation)."""
    checker = checkers()["consistency"]
    relations = 0
    for entry in catalog:
        relations += len(entry.relations)
        if checker.applies(entry, catalog):
            result = checker.check(CheckContext(entry, catalog, None))
            assert result.status == "pass", (entry.id, result.message)
    assert relations == 34  # 18 edge-face + 16 vertex-edge relations (2 pairs exempt: different clocks)


def test_regimes_table_lists_every_entry(catalog, capsys):
    from prismcat.cli import main

    from .conftest import CATALOG

    assert main(["regimes", "--catalog", str(CATALOG)]) == 0
    out = capsys.readouterr().out
    for entry in catalog:
        assert f"[{entry.id}]" in out
    assert "Cells without an entry: none." in out
