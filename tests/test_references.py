"""Every reference resolves to an arXiv id or a theory heading shipped with prismcat; `prismcat
lint` holds the packaged catalogue to it (located errors) and warns for a user's catalogue. Also
`prismcat show --latex` and the report's rendered formulas."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import prismcat
from prismcat.catalog.references import anchors, check_references, resolve
from prismcat.cli import main
from prismcat.paths import theory_dir

REPO = Path(__file__).resolve().parents[1]


def test_every_packaged_reference_resolves():
    cat = prismcat.load_catalog()
    assert check_references(cat) == []
    refs = {r for e in cat for r in e.spec.references}
    assert any(r.startswith("docs/theory/") for r in refs) and "arXiv:2606.05335" in refs


def test_no_packaged_file_points_outside_the_product():
    for path in (REPO / "catalog").rglob("*.yaml"):
        text = path.read_text()
        assert "shared/" not in text and "CELLS.md" not in text, path


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("arXiv:2606.05335", None),
        ("docs/theory/large-data.md#large-data-vertices", None),
        ("docs/theory/large-data.md", None),
        ("shared/theory/large-data.md", "neither an arXiv id"),
        ("arXiv:2606", "neither an arXiv id"),
        ("docs/theory/nowhere.md#x", "there is no theory page nowhere.md"),
        ("docs/theory/large-data.md#no-such-heading", "large-data.md has no heading #no-such-heading"),
    ],
)
def test_resolve(ref, says):
    why = resolve(ref)
    assert (why is None) if says is None else (says in why)


def test_cell_headings_exist_for_every_cell():
    from prismcat.prism import all_cells

    found = set().union(*(anchors(p) for p in theory_dir().glob("*.md")))
    assert {c.id.replace("+", "-") for c in all_cells()} <= found


def _broken_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "cat"
    shutil.copytree(REPO / "catalog" / "faces", dest)
    f = dest / "mean-field.yaml"
    text = f.read_text()
    start = text.index("references:")
    line = text[start : text.index("\n", start)]
    f.write_text(text.replace(line, 'references: ["arXiv:2606.05335", "docs/theory/mean-field.md#nope"]'))
    return dest


def test_lint_warns_for_a_users_catalogue(tmp_path, capsys):
    dest = _broken_copy(tmp_path)
    assert main(["lint", "--catalog", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "warning: " in out and "mean-field.yaml:" in out and "mean-field.md has no heading #nope" in out
    assert main(["lint", "--catalog", str(dest), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["warnings"][0]["path"] == "references[1]" and data["problems"] == []


def test_lint_errors_for_the_packaged_catalogue(tmp_path, capsys, monkeypatch):
    import prismcat.cli.catalogue as lint

    dest = _broken_copy(tmp_path)
    monkeypatch.setattr(lint, "is_packaged", lambda *a, **k: True)  # as if it were prismcat's own
    assert main(["lint", "--catalog", str(dest)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "#nope" in x)
    assert not line.startswith("warning") and "mean-field.yaml:" in line and "references[1]" in line


def test_show_latex_prints_the_formulas(capsys):
    assert main(["show", "large-data+mean-field", "--latex"]) == 0
    out = capsys.readouterr().out
    assert "\\begin{align}" in out and "\\frac{" in out and "**" not in out
    assert "% prismcat entry 'large-data+mean-field'" in out
    assert main(["show", "mean-field", "--latex", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["losses"]) == {"train", "population"}


@pytest.mark.slow
def test_the_html_report_shows_each_entrys_formulas(tmp_path):
    from prismcat.report.write import html_report
    from prismcat.validation.records import to_records
    from prismcat.validation.runner import validate

    cat = prismcat.load_catalog()
    v = validate(cat, ["large-data+mean-field"], progress=False, jobs=1)
    records = to_records(v)
    page = html_report(records, cat)
    assert page.count("<math") >= 2 and 'display="block"' in page and "\\frac" not in page.split("<math")[0]
