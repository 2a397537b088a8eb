"""The cheap report (issue #12 item 3) keeps its content: one section and one figure per entry with
simulations, the prism, the statuses; every PNG decodes; a failing entry still gets its figure;
figures do not depend on what was drawn before them nor on how many processes drew them. No
timing is asserted here: benchmarks/bench_report.py measures the speed."""

from __future__ import annotations

import base64
import copy
import io
import json
import re
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from prismcat import figures
from prismcat.catalog import load_catalog
from prismcat.report import write_records, write_report
from prismcat.report.write import html_report, markdown
from prismcat.validation.cache import DiskCache
from prismcat.validation.records import to_records
from prismcat.validation.runner import validate

from .conftest import SMALL
from .conftest import edit_yaml as edit

PNG = re.compile(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)">')


def _validated(root, cache):
    cat = load_catalog(root)
    assert not cat.problems, cat.problems
    v = validate(cat, backend="numpy", cache=DiskCache(cache), progress=False)
    return cat, v


@pytest.fixture(scope="module")
def passing(tmp_path_factory):
    """The two-entry test catalogue, validated: (catalogue, Validation, records)."""
    root = tmp_path_factory.mktemp("pass") / "catalog"
    shutil.copytree(SMALL, root)
    cat, v = _validated(root, root.parent / "cache")
    return cat, v, to_records(v)


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    """The same with a wrong train formula on the edge: it fails tolerance (and the face fails
    consistency with it)."""
    root = tmp_path_factory.mktemp("fail") / "catalog"
    shutil.copytree(SMALL, root)
    edit(root / "ld-mf.yaml", lambda d: d["losses"]["train"]["formula"].update(expression="0.4 + 0 * t"))
    cat, v = _validated(root, root.parent / "cache")
    return cat, to_records(v)


def images(html: str) -> list[tuple[str, Image.Image]]:
    out = []
    for alt, data in PNG.findall(html):
        img = Image.open(io.BytesIO(base64.b64decode(data)))
        img.load()  # decodes the whole image (a truncated or corrupt PNG raises here)
        out.append((alt, img))
    return out


def sections(html: str) -> dict[str, str]:
    parts = re.findall(r"<section id=[\"']([^\"']+)[\"']>(.*?)</section>", html, flags=re.S)
    return dict(parts)


def jobs(records, cat):
    out = []
    for rec in records["entries"]:
        e = cat.get(rec["id"])
        out.append((rec, e.clock_name, {loss: e.spec_quantity(loss) for loss in ("train", "population")}))
    return out


def assert_drawn(img: Image.Image) -> None:
    """A real figure: not blank, and more than a couple of colours."""
    a = np.asarray(img.convert("RGB")).astype(np.int32)
    assert a.std() > 10
    assert len(np.unique((a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2])) > 50


@pytest.mark.slow
def test_the_report_has_a_section_and_a_figure_per_entry_the_prism_and_the_statuses(passing, tmp_path):
    cat, _, records = passing
    paths = write_records(records, cat, tmp_path / "r")
    assert json.loads(paths["json"].read_text()) == records
    assert paths["markdown"].read_text() == markdown(records)
    html = paths["html"].read_text()
    ids = [e["id"] for e in records["entries"]]
    assert list(sections(html)) == ids
    imgs = images(html)
    assert [alt for alt, _ in imgs] == ["prism coloured by status"] + [f"curves of {i}" for i in ids]
    for entry_id, body in sections(html).items():
        assert body.count("data:image/png;base64,") == 1, entry_id
        assert 'Status <span class="pass">pass</span>' in body
    # the summary table links every entry and shows its status
    for entry_id in ids:
        assert f'<td><a href="#{entry_id}">{entry_id}</a></td>' in html
    assert html.count('<span class="pass">pass</span>') >= 2 * len(ids)
    assert "2 passed, 0 failed, 0 errors</b> of 2 entries" in html


def test_every_png_decodes_with_the_expected_size(passing, tmp_path):
    cat, _, records = passing
    html = write_records(records, cat, tmp_path / "r")["html"].read_text()
    (_, prism), *entry_imgs = images(html)
    assert prism.format == "PNG" and prism.size == (int(4.5 * figures.DPI), int(3.95 * figures.DPI))
    assert_drawn(prism)
    for alt, img in entry_imgs:
        # two loss columns (train and population), two rows
        width, height = figures.ENTRY_PANEL
        assert img.size == (int(2 * width * figures.DPI), int(height * figures.DPI)), alt
        assert_drawn(img)


@pytest.mark.slow
def test_a_failing_entry_still_gets_its_figure(passing, failing, tmp_path):
    cat, records = failing
    edge = next(e for e in records["entries"] if e["id"] == "large-data+mean-field")
    assert edge["status"] == "fail" and "tolerance" in edge["message"]
    html = write_records(records, cat, tmp_path / "r")["html"].read_text()
    body = sections(html)["large-data+mean-field"]
    assert 'Status <span class="fail">fail</span>' in body
    assert html.count('<span class="fail">fail</span>') >= 2  # summary table and section
    imgs = dict(images(html))
    assert len(imgs) == 3
    assert_drawn(imgs["curves of large-data+mean-field"])
    # a different figure from the passing one (its status in the title, its wrong limit)
    good = dict(images(html_report(passing[2], passing[0])))
    assert (
        imgs["curves of large-data+mean-field"].tobytes() != good["curves of large-data+mean-field"].tobytes()
    )


def test_an_entry_without_simulations_gets_a_section_but_no_figure(passing):
    cat, _, records = passing
    records = copy.deepcopy(records)
    broken = records["entries"][0]
    broken.update(status="error", message="the backend crashed", sizes=[], clock=[])
    html = html_report(records, cat)
    assert list(sections(html)) == [e["id"] for e in records["entries"]]
    assert "data:image" not in sections(html)[broken["id"]]
    assert "the backend crashed" in sections(html)[broken["id"]]
    assert len(images(html)) == 2  # the prism and the other entry


def _variants(records, cat):
    """Jobs of both figure shapes and of the panel without a limit formula, to draw in turn."""
    base = jobs(records, cat)
    one_loss = copy.deepcopy(base[1])
    for s in one_loss[0]["sizes"]:
        del s["curves"]["population"], s["errors"]["population"]
    no_limit = copy.deepcopy(base[0])
    no_limit[0]["checks"] = []
    for s in no_limit[0]["sizes"]:
        s["errors"] = {}
        for curve in s["curves"].values():
            curve["limit"] = None
    return [*base, one_loss, no_limit, base[0]]


@pytest.mark.slow
def test_figures_do_not_depend_on_what_was_drawn_before(passing):
    cat, _, records = passing
    todo = _variants(records, cat)
    alone = [figures.entry_png(*job) for job in todo]
    drawer = figures.EntryFigures()
    in_turn = [drawer.png(*job) for job in todo]
    backwards = [drawer.png(*job) for job in reversed(todo)][::-1]
    assert in_turn == alone and backwards == alone  # same record, same bytes
    assert alone[0] == alone[-1]
    sizes = [Image.open(io.BytesIO(png)).size for png in alone]
    assert sizes[-3][0] == int(5.2 * figures.DPI)  # one loss: one column
    assert len(set(alone[:-1])) == len(alone) - 1


@pytest.mark.slow
@pytest.mark.parametrize("threads", [False, True], ids=["forked", "other-thread-alive"])
def test_drawing_in_processes_gives_the_same_bytes(passing, threads):
    """Forked from this process, or (another thread alive: a fork could deadlock) started afresh."""
    cat, _, records = passing
    todo = _variants(records, cat)
    serial = figures.entry_pngs(todo, workers=1)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    if threads:
        thread.start()
    try:
        assert figures.entry_pngs(todo, workers=2) == serial
        out = [figures._MISSING] * len(todo)  # and the pool itself (entry_pngs would fall back)
        figures._draw_parallel(todo, [[0, 2, 4], [1, 3]], out)
        assert out == serial
    finally:
        stop.set()


def test_how_many_processes_draw(monkeypatch):
    monkeypatch.delenv("PRISMCAT_REPORT_WORKERS", raising=False)
    assert figures._workers(None, 3) == 1  # a handful of figures: no pool
    assert figures._workers(4, 2) == 2
    assert figures._workers(0, 10) == 1
    monkeypatch.setenv("PRISMCAT_REPORT_WORKERS", "1")
    assert figures._workers(None, 21) == 1


def test_write_report_takes_a_validation_and_writes_what_write_records_writes(passing, tmp_path):
    cat, v, _ = passing
    a = write_report(v, cat, tmp_path / "a")
    b = write_records(to_records(v), cat, tmp_path / "b", workers=1)
    for kind in ("json", "markdown", "html"):
        assert a[kind].read_bytes() == b[kind].read_bytes(), kind


def test_a_y_label_longer_than_its_panel_is_broken_in_two(passing):
    cat, _, records = passing
    rec, clock, _ = jobs(records, cat)[0]
    long = "(L_train - L_train0) / (k * (sigma2 * d)**2) + a long tail to be sure"
    drawer = figures.EntryFigures()
    png = drawer.png(rec, clock, {"train": long, "population": "L_pop / d"})
    _, axes = drawer._figures[2]
    assert axes[0, 0].get_ylabel().count("\n") == 1
    assert axes[0, 1].get_ylabel() == "L_pop / d"
    assert_drawn(Image.open(io.BytesIO(png)))
