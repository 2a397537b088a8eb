"""Hostile catalogues, results files and options: no script runs, nothing of the user's is deleted or
overwritten, nothing passes unsimulated, no small file buys unbounded work, and every bad input is
refused before any work with one clear line (docs/security.md is the threat model).

The YAML attacks live in tests/corpus (each with its exact located error); the cases here need more
than a file: a results.json, a folder, an option, a memory limit, a browser."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import prismcat
from prismcat.catalog import load_catalog
from prismcat.catalog.loader import Catalog
from prismcat.cli import main
from prismcat.errors import PrismcatError
from prismcat.formulas import dag
from prismcat.formulas.expr import Scope
from prismcat.safehtml import sanitize
from prismcat.settings import OptionError, RunOptions

from .conftest import edit_yaml

CORPUS = Path(__file__).parent / "corpus"
BASE = (CORPUS / "_base.txt").read_text()

# payloads that run script if any renderer passes them through (each marks the page if it runs)
PAYLOADS = [
    "<script>document.body.setAttribute('data-pwned', 'script')</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned', 'img')\">",
    "[click](javascript:document.body.setAttribute('data-pwned','link'))",
    "<svg onload=\"document.body.setAttribute('data-pwned', 'svg')\"></svg>",
    "<iframe srcdoc=\"<script>parent.document.body.setAttribute('data-pwned','frame')</script>\"></iframe>",
    "<details open ontoggle=\"document.body.setAttribute('data-pwned', 'details')\">x</details>",
    "$\\text{<img src=x onerror=\"document.body.setAttribute('data-pwned', 'math')\">}$",
    "$\\href{javascript:alert(1)}{x}$",
    "</p><style>body{display:none}</style><a href='javascript:alert(1)'>x</a>",
]
PAYLOAD = " ".join(PAYLOADS)


def _dangerous(html: str) -> list[str]:
    """What in ``html`` could run script, as a browser's parser sees it: script, frame, SVG and
    embedding elements, event-handler attributes, and javascript: or data: addresses outside images."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Scan(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag in ("script", "iframe", "frame", "svg", "object", "embed", "style", "base", "form"):
                found.append(f"<{tag}>")
            for name, value in attrs:
                address = (value or "").strip().lower()
                if name.startswith("on"):
                    found.append(f"<{tag} {name}=...>")
                elif name in ("href", "src", "action", "formaction", "xlink:href") and (
                    address.startswith("javascript:")
                    or (address.startswith("data:") and not address.startswith("data:image/png;"))
                ):
                    found.append(f"<{tag} {name}={value[:30]}>")

    Scan().feed(html)
    return found


# -- the allow-list ----------------------------------------------------------------------------------
@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_allow_list_removes_every_payload(payload):
    from prismcat.mathml import render_arithmatex

    html = f'<p>{payload} <span class="arithmatex">\\({payload.strip("$")}\\)</span></p>'
    out = sanitize(render_arithmatex(html))
    assert not _dangerous(out), out
    assert "<math" in out  # the formula itself survives


def test_the_allow_list_keeps_what_prismcat_writes():
    html = (
        '<h2 id="a">T<a class="headerlink" href="#a">x</a></h2><table><tbody><tr><td colspan="2">1</td></tr></tbody>'
        '</table><img alt="f" src="f.png" width="320"><a href="https://arxiv.org/abs/2606.05335">p</a>'
        '<math display="block"><mrow><mi>x</mi><mo stretchy="false">(</mo></mrow></math>'
    )
    assert sanitize(html) == html
    png = '<img alt="f" src="data:image/png;base64,AAAA">'
    assert sanitize(png, data_images=True) == png
    assert "data:" not in sanitize('<img src="data:text/html;base64,AAAA">', data_images=True)
    assert "data:" not in sanitize('<a href="data:text/html,x">x</a>', data_images=True)


# -- the site ----------------------------------------------------------------------------------------
def _hostile_catalogue(root: Path) -> Catalog:
    """The small catalogue with the payload in every prose field of its entries, as if a catalogue
    had slipped past the loader's own refusal (which tests/corpus checks)."""
    cat = load_catalog(root)
    entries = {}
    for e in cat:
        s = e.spec
        losses = s.losses
        pop = losses.population
        pop = pop.model_copy(update={"description": PAYLOAD}) if pop is not None else pop
        spec = s.model_copy(
            update={
                "title": "T " + PAYLOAD,
                "summary": PAYLOAD,
                "notes": PAYLOAD,
                "references": [PAYLOAD],
                "convergence": s.convergence.model_copy(update={"note": PAYLOAD}),
                "losses": losses.model_copy(update={"population": pop}),
                "parameters": {
                    k: p.model_copy(update={"description": PAYLOAD}) for k, p in s.parameters.items()
                },
            }
        )
        entries[e.id] = dataclasses.replace(e, spec=spec)
    return Catalog(cat.root, entries, [])


def _hostile_results(catalog: Catalog, tmp: Path) -> Path:
    """A results.json whose every text field carries the payload."""
    from prismcat.validation.records import to_records
    from prismcat.validation.runner import validate

    v = validate(catalog, ["large-data+mean-field"], progress=False, jobs=1)
    records = to_records(v)
    for rec in records["entries"]:
        rec["title"] = rec["message"] = PAYLOAD
        rec["headline"] = {"train": PAYLOAD, "population": PAYLOAD}
        for c in rec["checks"]:
            c["message"] = PAYLOAD
            c["checker"] = "x" + PAYLOAD
    records["backend"] = PAYLOAD
    path = tmp / "results.json"
    path.write_text(json.dumps(records))
    return path


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    pytest.importorskip("mkdocs")
    from prismcat.site import build_site

    tmp = tmp_path_factory.mktemp("hostile")
    small = tmp / "catalog"
    import shutil

    shutil.copytree(Path(__file__).parent / "data" / "small_catalog", small)
    cat = _hostile_catalogue(small)
    results = _hostile_results(cat, tmp)
    index = build_site(tmp / "site", results=results, catalog=cat)
    return index.parent


@pytest.mark.slow
def test_no_page_of_the_site_holds_a_payload_that_could_run(hostile_site):
    pages = [p for p in hostile_site.rglob("*.html")]
    assert len(pages) > 10
    raw = [p.split("document.body")[0] + "document.body" for p in PAYLOADS if p.startswith("<")]
    for page in pages:
        text = page.read_text()
        content = text.split('<article class="md-content__inner md-typeset">', 1)[-1].split("</article>")[0]
        assert not _dangerous(content), page  # the theme around it has its own scripts and icons
        assert not [r for r in raw if r in text], page  # nowhere on the page, in the theme neither
    entry = (hostile_site / "entries" / "large-data+mean-field.html").read_text()
    assert "data-pwned" in entry  # the payload is there, as text
    index = json.loads((hostile_site / "search" / "search_index.json").read_text())
    assert not any("<script" in d["text"] or "<img" in d["text"] for d in index["docs"])


def _body_tag(url: str, profile: Path) -> str:
    """The <body ...> tag of ``url`` as headless Chromium leaves it after running the page."""
    import re
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    res = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", f"--user-data-dir={profile}", "--virtual-time-budget=3000",
         "--dump-dom", url],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-500:]
    m = re.search(r"<body[^>]*>", res.stdout)
    assert m, res.stdout[:500]
    return m.group(0)


@pytest.mark.slow
@pytest.mark.skipif(
    not (os.environ.get("PRISMCAT_REQUIRE_BROWSER") or __import__("shutil").which("chromium")),
    reason="no chromium here",
)
def test_no_payload_runs_in_a_browser(hostile_site, tmp_path):
    from .test_site import _serve

    server, base = _serve(hostile_site)
    try:
        # the check itself sees a payload that runs
        (hostile_site / "canary.html").write_text(f"<html><body><p>x</p>{PAYLOADS[0]}</body></html>")
        assert "data-pwned" in _body_tag(base + "canary.html", tmp_path / "p0")
        for i, name in enumerate(
            ["entries/large-data+mean-field.html", "entries/mean-field.html", "entries/index.html"]
        ):
            assert "data-pwned" not in _body_tag(base + name, tmp_path / f"p{i + 1}"), name
    finally:
        (hostile_site / "canary.html").unlink()
        server.shutdown()


@pytest.mark.slow
def test_site_refuses_a_folder_it_did_not_build_and_deletes_nothing(tmp_path):
    pytest.importorskip("mkdocs")
    from prismcat.site import build_site

    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "thesis.tex").write_text("my thesis")
    (project / "src" / "main.py").write_text("print(1)")
    code = main(["site", "--output", str(project)])
    assert code == 2
    assert (project / "thesis.tex").read_text() == "my thesis"
    assert (project / "src" / "main.py").read_text() == "print(1)"
    assert sorted(p.name for p in project.rglob("*")) == ["main.py", "src", "thesis.tex"]
    # told to, it builds there and keeps the user's files
    build_site(project, overwrite=True)
    assert (project / "thesis.tex").read_text() == "my thesis" and (project / "index.html").is_file()
    # a site it built is rebuilt in place: its own old files go, nothing else
    site = tmp_path / "site"
    build_site(site)
    (site / "entries" / "stale-entry.html").write_text("x")  # not in the marker: the user's
    with pytest.raises(PrismcatError, match=r"stale-entry\.html"):
        build_site(site)
    (site / "entries" / "stale-entry.html").unlink()
    build_site(site)
    assert (site / "index.html").is_file()


def test_an_entry_id_that_names_a_site_page_is_refused():
    with pytest.raises(prismcat.CatalogError, match="'index' is reserved"):
        prismcat.entry_from_data({"id": "index"} | _base_data())


def _base_data() -> dict:
    import yaml

    data = yaml.safe_load(BASE)
    data.pop("id")
    return data


# -- the report ----------------------------------------------------------------------------------
def test_a_crafted_results_file_makes_a_report_with_nothing_that_runs(small, tmp_path):
    cat = load_catalog(small)
    results = _hostile_results(cat, tmp_path)
    from prismcat.results import ValidationResult

    res = ValidationResult.read(results)
    paths = res.write_report(tmp_path / "report", cat)
    html = paths["html"].read_text()
    assert html.count("<style>") == 1 and not _dangerous(html.split("<body", 1)[1])  # its own style only
    assert "data-pwned" in html  # shown as text
    for display in (res._repr_html_(), res.entries[0]._repr_html_()):
        assert not _dangerous(display)


def test_a_results_file_with_a_status_that_is_not_one_is_refused(small, tmp_path):
    cat = load_catalog(small)
    path = _hostile_results(cat, tmp_path)
    data = json.loads(path.read_text())
    data["entries"][0]["status"] = "<script>alert(1)</script>"
    path.write_text(json.dumps(data))
    assert main(["regimes", "--catalog", str(small), "--results", str(path)]) == 2
    with pytest.raises(PrismcatError, match=r"entries\.0\.status"):
        from prismcat.validation.records import load_results

        load_results(path)


@pytest.mark.parametrize(
    "target",
    ["file", "under-a-file", "user-report", "no-space"],
)
def test_the_report_folder_is_checked_before_the_run(small, tmp_path, monkeypatch, capsys, target):
    """Each of these used to surface only after the whole run, as an internal error."""
    import shutil

    report = tmp_path / "out"
    if target == "file":
        report.write_text("a file")
    elif target == "under-a-file":
        (tmp_path / "f").write_text("a file")
        report = tmp_path / "f" / "out"
    elif target == "user-report":
        report.mkdir()
        (report / "report.md").write_text("# my own notes")
    else:
        real = shutil.disk_usage
        monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1000))
    ran = []
    monkeypatch.setattr("prismcat.api.validate", lambda *a, **k: ran.append(1))
    code = main(["validate", "--catalog", str(small), "--report", str(report), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and not ran
    assert err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err
    if target == "user-report":
        assert (report / "report.md").read_text() == "# my own notes"


def test_a_report_that_cannot_be_written_after_the_run_keeps_the_table(small, tmp_path, monkeypatch, capsys):
    import errno

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("prismcat.results.ValidationResult.write_report", full)
    code = main(["validate", "--catalog", str(small), "--report", str(tmp_path / "r"), "--no-progress",
                 "--cache-dir", str(tmp_path / "c"), "--executor", "in-process", "mean-field"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2
    assert "mean-field" in out and "passed" in out  # the results table was printed
    assert "No space left on device" in err and "rerun" in err


@pytest.mark.slow
def test_a_catalogue_file_name_that_is_not_utf8_still_gives_a_report(small, tmp_path):
    name = os.fsdecode(b"mean-field-\xff.yaml")
    os.rename(small / "mean-field.yaml", small / name)
    code = main(["validate", "--catalog", str(small), "--report", str(tmp_path / "r"), "--no-progress",
                 "--cache-dir", str(tmp_path / "c"), "--executor", "in-process", "mean-field"])  # fmt: skip
    assert code == 0
    html = (tmp_path / "r" / "report.html").read_text()
    assert "mean-field-\\xff.yaml" in html


# -- options at the edge -----------------------------------------------------------------------------
def _exit_code(argv: list[str]) -> int:
    """What the command returns, or exits with (argument errors exit from the parser)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["validate", "--seeds-per-task", "-1"], "--seeds-per-task must be at least 1"),
        (["validate", "--seeds-per-task", "0"], "--seeds-per-task must be at least 1"),
        (["validate", "--task-timeout", "-1"], "--task-timeout"),
        (["validate", "--task-timeout", "nan"], "--task-timeout"),
        (["validate", "--task-timeout", "inf"], "--task-timeout"),
        (["validate", "--seed-offset", "-5"], "--seed-offset must be at least 0"),
        (["validate", "--jobs", "0"], "--jobs must be at least 1"),
        (["validate", "--jobs", "x"], "invalid int value"),
        (["validate", "--max-memory", "lots"], "bad memory size"),
        (["validate", "--backend", "nosuch"], "no simulator backend 'nosuch'"),
        (["validate", "--option", "lr=0.1"], "takes no options"),
        (["validate", "--executor", "dask", "--workers", "0"], "--workers must be at least 1"),
        (["power", "--jobs", "0"], "--jobs must be at least 1"),
        (["power", "--delta", "2"], "--delta must lie in (0, 1)"),
        (["simulate", "--d", "8", "--k", "4", "--n", "8", "--sigma2", "0.1", "--seed", "-1"], "seed"),
        (["simulate", "--d", "40000", "--k", "40000", "--n", "40000", "--sigma2", "0.01"], "over the limit"),
        (["simulate", "--d", "8", "--k", "4", "--n", "8", "--sigma2", "0.1", "--times", "0,1e300"], "budget"),
        (
            [
                "simulate",
                "--d",
                "8",
                "--k",
                "4",
                "--n",
                "8",
                "--sigma2",
                "0.1",
                "--times",
                "0,1e300",
                "--integrator",
                "euler",
            ],
            "budget",
        ),
        (["regimes", "--results", "/nonexistent/results.json"], "cannot read results file"),
        (["where", "--d", "8", "--k", "4", "--n", "8", "--sigma2", "0.1", "--points", "0"], "--points"),
        (["where", "--d", "8", "--k", "4", "--n", "8", "--sigma2", "0.1", "--t-max", "-1"], "--t-max"),
        (["where", "--d", "8", "--k", "4", "--n", "8", "--sigma2", "0.1", "--top", "0"], "--top"),
        (["where", "--d", "0", "--k", "4", "--n", "8", "--sigma2", "0.1"], "--d: must be at least 1"),
        (["simulate", "--d", "8", "--k", "4", "--n", "8", "--sigma2", "-1"], "--sigma2"),
        (["simulate", "--d", "8", "--k", "4", "--n", "8", "--sigma2", "0.1", "--dt", "0"], "--dt"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_code_2_before_any_work(argv, says, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    started = []
    monkeypatch.setattr("prismcat.validation.runner.simulate", lambda *a, **k: started.append(1))
    code = _exit_code([*argv, "--no-progress"] if argv[0] in ("validate", "power") else argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not started and not (tmp_path / "report").exists() and not (tmp_path / ".prismcat-cache").exists()


def test_run_options_refuse_what_the_command_line_refuses():
    for bad in ({"seeds_per_task": -1}, {"jobs": 0}, {"timeout": float("nan")}, {"seed_offset": -5},
                {"profile": "fast"}, {"dtype": "float16"}, {"max_memory": 0}, {"jobs": True}):  # fmt: skip
        with pytest.raises(OptionError):
            RunOptions(**bad)
    with pytest.raises(OptionError, match="--seeds-per-task"):
        prismcat.validate("mean-field", seeds_per_task=-1)
    with pytest.raises(OptionError):
        prismcat.power("mean-field", jobs=0)


def test_an_entry_is_never_judged_on_less_than_its_design(small, monkeypatch):
    """Whatever drops tasks (an option, a bug, a plugin), the entry errors: it never passes."""
    from prismcat.validation import plan, runner

    real = plan.plan_tasks
    monkeypatch.setattr(plan, "plan_tasks", lambda *a, **k: [])
    v = runner.validate(load_catalog(small), progress=False, jobs=1)
    assert [r.status for r in v.runs] == ["error", "error"]
    assert all("rungs were planned" in r.message for r in v.runs)
    monkeypatch.setattr(plan, "plan_tasks", lambda *a, **k: [t for t in real(*a, **k) if t.index != 0])
    v = runner.validate(load_catalog(small), ["mean-field"], progress=False, jobs=1)
    assert v.runs[0].status == "error" and "3 of 4 rungs" in v.runs[0].message
    monkeypatch.setattr(plan, "plan_tasks", lambda *a, **k: real(*a, **k)[1:])  # one seed block short
    v = runner.validate(load_catalog(small), ["mean-field"], progress=False, jobs=1)
    assert v.runs[0].status == "error" and "4 of 12 seeds were simulated" in v.runs[0].message


# -- bounded work ------------------------------------------------------------------------------------
def test_shared_helpers_are_evaluated_once_each():
    """h_i = h_(i-1) + h_(i-1): 30 additions, not 2^30 - 1."""
    calls = []
    counting = dict(dag._OPS, add=lambda a, b: calls.append(1) or np.add(a, b))
    helpers = {"h0": "t"} | {f"h{i}": f"h{i - 1} + h{i - 1}" for i in range(1, 31)}
    scope = Scope(["t"], helpers)
    scope._builder = dag.Builder(counting)
    f = scope.compile("h30")
    assert f({"t": np.float64(1.0)}) == 2.0**30
    assert len(calls) == 30


def test_too_many_helpers_or_operations_are_located_errors():
    data = _base_data() | {"id": "x"}
    data["where"] = {f"h{i}": "u" for i in range(65)}
    with pytest.raises(prismcat.CatalogError, match="where: at most 64 items"):
        prismcat.entry_from_data(data)

    def balanced(terms: list[str]) -> str:
        while len(terms) > 1:
            terms = [f"({a} + {b})" for a, b in zip(terms[::2], terms[1::2], strict=False)] + (
                [terms[-1]] if len(terms) % 2 else []
            )
        return terms[0]

    helpers = {f"h{i}": balanced([f"t * {j + 1000 * i}" for j in range(128)]) for i in range(64)}
    assert max(len(h) for h in helpers.values()) <= 2000
    with pytest.raises(prismcat.ExpressionError, match="distinct operations"):
        Scope(["t"], helpers).compile(balanced(list(helpers)))


def test_a_stiff_ode_is_solved_by_an_implicit_method():
    data = _base_data() | {"id": "stiff"}
    data["losses"]["train"]["formula"] = {
        "kind": "ode",
        "state": {"y": "1"},
        "rhs": {"y": "-1e12 * (y - cos(t))"},
        "expression": "y",
    }
    entry = prismcat.entry_from_data(data, check_values=True)
    t = np.linspace(0, 2, 5)
    assert np.allclose(entry.predict(t).train, np.cos(t), rtol=1e-8, atol=1e-10)


def test_an_ode_beyond_its_step_budget_is_a_located_error():
    data = _base_data() | {"id": "long"}
    data["losses"]["train"]["formula"] = {
        "kind": "ode",
        "state": {"x": "1", "v": "0"},
        "rhs": {"x": "v", "v": "-x"},
        "expression": "x",
    }
    data["validation"]["horizon"] = 1e9
    with pytest.raises(prismcat.CatalogError) as info:
        prismcat.entry_from_data(data, "long.yaml", check_values=True)
    assert str(info.value).startswith("long.yaml:")
    assert "losses.train.formula" in str(info.value) and "step budget" in str(info.value)


def test_a_window_beyond_the_simulation_budget_is_refused_by_lint_and_by_validation(small, capsys):
    edit_yaml(small / "mean-field.yaml", lambda d: d["validation"].update(horizon=1e300))
    assert main(["lint", str(small)]) == 1
    out = capsys.readouterr().out
    assert "validation.horizon" in out and "budget" in out
    v = prismcat.validate(catalog=load_catalog(small), cache=None, progress=False, jobs=1)
    by_id = {e.id: e for e in v.entries}
    assert by_id["mean-field"].status == "error" and "budget" in by_id["mean-field"].message
    assert by_id["large-data+mean-field"].status == "pass"


def test_a_rung_that_cannot_fit_is_refused_before_anything_is_allocated(small, capsys, monkeypatch):
    edit_yaml(
        small / "ld-mf.yaml",
        lambda d: d["validation"].update(ladder=[8, 16, 1400], base={"k": 0.125, "n": 0.25}),
    )
    assert main(["lint", str(small), "--max-memory", "4G"]) == 1
    out = capsys.readouterr().out
    assert "validation.ladder" in out and "over the limit of 4 GB" in out and "X alone 5.49 GB" in out
    drawn = []
    monkeypatch.setattr("prismcat.simulation.plan.draw", lambda p: drawn.append(p) or 1 / 0)
    v = prismcat.validate(
        "large-data+mean-field", catalog=load_catalog(small), cache=None, progress=False, max_memory=4e9
    )
    assert v.entries[0].status == "error" and "over the limit" in v.entries[0].message
    assert not drawn


def test_a_huge_catalogue_file_is_never_read(small, tmp_path):
    """Under a 2 GB address-space limit, a 3 GB file (sparse: it takes no disk) used to crash the
    run with MemoryError and take the good entry beside it down with it."""
    huge = small / "huge.yaml"
    with open(huge, "wb") as f:
        f.truncate(3 * 2**30)
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))\n"
        "from prismcat.catalog import load_catalog\n"
        f"cat = load_catalog({str(small)!r})\n"
        "print(sorted(cat.entries), [str(p) for p in cat.problems])\n"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "'large-data+mean-field', 'mean-field'" in res.stdout
    assert "larger than the limit" in res.stdout and "(not read)" in res.stdout


def test_a_problem_file_is_checked_before_its_arrays_are_read(tmp_path, capsys):
    """A few bytes of header can claim an array of 80 GB: the header is read, not the array."""
    import io
    import zipfile

    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w") as z:
        for name, shape in (("X", (100_000, 100_000)), ("W0", (100_000, 4))):
            buf = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                buf, {"descr": "<f8", "fortran_order": False, "shape": shape}
            )
            z.writestr(f"{name}.npy", buf.getvalue())
    assert main(["simulate", "--problem", str(bomb)]) == 2
    assert "shape (100000, 100000)" in capsys.readouterr().err
