"""The CP catalogue: it loads clean, sits on its polygons, validates against simulation, and the
checks have power: the paper's NTK time constant, a formula a few percent off and a wrong
cross-family map all fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from prismcat_cp.family import CP, Structure, polygon

import prismcat
from prismcat.catalog import load_catalog
from prismcat.checkers.consistency import ConsistencyChecker
from prismcat.validation.checks import CheckContext
from prismcat.validation.design import settings_for

# one worker runs the module, so its module-scoped validation is simulated once
pytestmark = pytest.mark.xdist_group("cp-catalogue")

CATALOG = Path(__file__).resolve().parents[1] / "prismcat_cp" / "catalog"


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


def test_the_cp_entries_load_clean_and_are_in_the_default_catalogue(cat):
    mine = [e for e in cat if e.family is CP]
    assert len(mine) == len(list(CATALOG.rglob("*.yaml"))) == 11
    assert not [p for p in cat.problems], cat.problems
    for e in mine:
        assert e.primary and e.id == e.geometry.primary_id(e.cell)
        assert e.geometry.cell_of(e.exponents).id == e.cell.id
        assert e.formulas["population"] is None and "no data" in e.absent["population"]


def test_the_polygons_have_the_papers_cells():
    asym, sym = polygon(Structure(nu=3, symmetry="asym")), polygon(Structure(nu=4, symmetry="sym"))
    assert sorted(c.id for c in asym.cells() if c.kind == "vertex") == ["A", "B", "C", "D", "E"]
    assert sorted(c.id for c in sym.cells() if c.kind == "vertex") == ["A", "B", "E"]
    # the normal, where every leading term counts: ASYM (1, nu-1, (1-nu)/nu), SYM (1, nu/2, (1-nu)/nu)
    assert asym.cell_of({"p": 1, "H": 2, "sigma": -2 / 3}).id == "interior"
    assert sym.cell_of({"p": 1, "H": 2, "sigma": -3 / 4}).id == "interior"
    # the facts' conditions: B-C is p^{nu-1} H sigma^{2 nu} ~ 1 with H sigma^nu -> infinity
    assert asym.cell_of({"p": 1, "H": 4, "sigma": -1}).id == "B-C"
    assert asym.cell_of({"p": 1, "H": 5, "sigma": -4 / 3}).id == "C"
    with pytest.raises(ValueError, match="odd nu"):
        Structure(nu=3, symmetry="sym")


def test_a_bad_structure_is_a_located_error(tmp_path):
    text = (
        (CATALOG / "asym3" / "a.yaml")
        .read_text()
        .replace("{nu: 3, symmetry: asym}", "{nu: 3, symetry: asym}")
    )
    (tmp_path / "a.yaml").write_text(text)
    msgs = [str(p) for p in load_catalog(tmp_path).problems]
    assert any(
        "a.yaml:" in m and "structure.symetry: unknown key 'symetry' (allowed: nu, symmetry)" in m
        for m in msgs
    ), msgs


def test_the_cross_family_relation_holds_to_round_off_and_a_wrong_map_fails(cat):
    entry = cat.get("cp-sym2-interior")
    ctx = CheckContext(entry, cat, settings_for(entry), None)
    result = ConsistencyChecker().check(ctx)
    assert result.status == "pass", result.message
    assert max(r["train"] for r in result.details["cp-sym2-interior <- large-data"]["distances"]) < 1e-10
    # the same check on the autoencoder's side: a face entry must reduce to what points at it
    assert ConsistencyChecker().applies(cat.get("large-data"), cat)
    wrong = tmp_catalog_with(
        cat, "cp-sym2-interior", "parameters: {gamma: gamma, a: a}", "parameters: {gamma: gamma, a: 1.02 * a}"
    )
    e2 = wrong.get("cp-sym2-interior")
    bad = ConsistencyChecker().check(CheckContext(e2, wrong, settings_for(e2), None))
    assert bad.status == "fail" and "FAILED" in bad.message


def tmp_catalog_with(cat, entry_id, old, new):
    import tempfile

    root = Path(tempfile.mkdtemp())
    shutil.copytree(CATALOG, root / "cp")
    shutil.copy(cat.get("large-data").source.file, root / "large-data.yaml")
    path = next((root / "cp").rglob("interior.yaml"))
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return load_catalog(root)


@pytest.fixture(scope="session")
def validated(tmp_path_factory):
    """The family's quick profile, once per session (cached under a temp dir)."""
    cache = tmp_path_factory.mktemp("cache")
    ids = [e.id for e in load_catalog() if e.family is CP]
    return prismcat.validate(ids, cache=cache, progress=False), cache


@pytest.mark.slow
def test_the_family_passes_its_quick_profile(validated):
    result, _ = validated
    bad = {e.id: e.message for e in result.entries if e.status != "pass"}
    assert not bad, bad
    rec = result.to_json()
    assert {e["backend"] for e in rec["entries"]} == {"cp-numpy"}
    assert {e["model"] for e in rec["entries"]} == {"cp"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("entry_id", "old", "new"),
    [
        # the paper's NTK claim, f -> (1 - e^{-t}) F, i.e. L / L0 = exp(-2 tau): excluded
        ("cp-asym3-c", "expression: exp(-6 * tau)", "expression: exp(-2 * tau)"),
        ("cp-asym3-b-c", "expression: exp(-6 * tau)", "expression: exp(-2 * tau)"),
        # a formula 10% off in its time constant
        ("cp-asym3-a", "(1 + 4 * tau)**(-1.5)", "(1 + 4.4 * tau)**(-1.5)"),
        ("cp-sym2-interior", "0.5 + a * (0.5 * a", "0.5 + 1.03 * a * (0.5 * a"),
    ],
)
def test_a_wrong_formula_fails_against_the_same_simulations(validated, tmp_path, entry_id, old, new):
    _, cache = validated
    src = load_catalog().get(entry_id).source.file
    text = Path(src).read_text()
    assert old in text
    (tmp_path / "wrong.yaml").write_text(_drop_relations(text.replace(old, new)))
    result = prismcat.validate(catalog=load_catalog(tmp_path), cache=cache, progress=False)
    (entry,) = result.entries
    assert entry.status == "fail", entry.message
    assert "extrapolation" in entry.message or "tolerance" in entry.message


def _drop_relations(text: str) -> str:
    """The entry alone (its relation partners are not in the scratch catalogue)."""
    out, skip = [], False
    for line in text.splitlines():
        if line.startswith("consistency:"):
            skip = True
            continue
        if skip and (line.startswith(" ") or line.startswith("-")):
            continue
        skip = False
        out.append(line)
    return "\n".join(out) + "\n"


def test_where_places_the_papers_ntk_run_on_the_b_c_edge(cat):
    pl = prismcat.where_family(
        "cp", {"p": 32, "H": 32768, "sigma": 0.05}, {"nu": 3, "symmetry": "asym"}, catalog=cat
    )
    assert pl.candidates[0].entry.id == "cp-asym3-b-c"
    small = prismcat.where_family(
        "cp",
        {"p": 6, "H": 6, "sigma": 1.5},
        {"nu": 3, "symmetry": "asym"},
        catalog=cat,
        simulate_run=True,
        t_max=0.002,
    )
    best = small.best
    assert best is not None and best.entry.id == "cp-asym3-a", [
        (c.entry.id, c.distance) for c in small.candidates
    ]
    assert np.isfinite(best.distance["train"])
