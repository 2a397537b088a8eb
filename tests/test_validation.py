"""Validation: checkers catch wrong formulas and wrong edges, the cache resumes, reports are
written, the CLI exits right, and the pytest plugin collects YAML regimes."""

from __future__ import annotations

import json
import re

import pytest

from prismcat.catalog import load_catalog
from prismcat.validation.cache import DiskCache
from prismcat.validation.check import checkers
from prismcat.validation.checks import CheckContext
from prismcat.validation.records import to_records
from prismcat.validation.runner import validate

from .conftest import edit_yaml as edit


def statuses(v) -> dict[str, dict[str, str]]:
    return {r.entry.id: {c.checker: c.status for c in r.checks} for r in v.runs}


def test_the_standard_checkers_ship_with_prismcat_as_a_builtin_plugin():
    from prismcat.plugins import plugin_report

    assert {"extrapolation", "tolerance", "convergence", "cauchy", "consistency"} <= set(checkers())
    builtin = next(p for p in plugin_report() if p.name == "prismcat.checkers")
    assert builtin.source == "builtin" and "extrapolation" in builtin.registers["checkers"]


@pytest.mark.slow
def test_correct_entries_pass(small, tmp_path):
    cat = load_catalog(small)
    v = validate(cat, backend="numpy", cache=DiskCache(tmp_path / "cache"), progress=False)
    for run in v.runs:
        assert run.status == "pass", (run.entry.id, run.message)
    got = statuses(v)
    assert got["large-data+mean-field"] == {
        "extrapolation": "pass",
        "convergence": "pass",
        "tolerance": "pass",
        "consistency": "pass",
    }
    assert got["mean-field"]["consistency"] == "pass"  # the face reduces to its edge


def test_a_factor_two_in_the_rate_is_caught(small, tmp_path):
    def wrong(d):
        for loss in ("train", "population"):
            d["losses"][loss]["formula"]["expression"] = "0.5 * (1 - u)**2 / (1 + u * expm1(8 * t))**2"
        d["consistency"] = []

    edit(small / "ld-mf.yaml", wrong)
    v = validate(load_catalog(small), ["large-data+mean-field"], progress=False)
    run = v.runs[0]
    assert run.status == "fail"
    checks = {c.checker: c for c in run.checks}
    assert checks["extrapolation"].status == "fail" and "REJECTED" in checks["extrapolation"].message
    assert checks["tolerance"].status == "fail"
    assert checks["convergence"].status == "fail"
    # a deterministic O(1) error: the fitted rate is ~0 with a small standard error, the declared
    # rate 1 is rejected
    assert re.search(r"train: rate 0\.\d\d \+- 0\.\d\d .* REJECTED", checks["convergence"].message)


def test_a_wrong_edge_is_caught_by_consistency(small):
    def wrong(d):
        for loss in ("train", "population"):
            d["losses"][loss]["formula"]["expression"] = "0.5 * (1 - u)**2 / (1 + u * expm1(2 * t))**2"

    edit(small / "ld-mf.yaml", wrong)
    cat = load_catalog(small)
    checker = checkers()["consistency"]
    for entry_id in ("large-data+mean-field", "mean-field"):  # seen from the edge and from the face
        entry = cat.get(entry_id)
        result = checker.check(CheckContext(entry, cat, None))
        assert result.status == "fail", result.message
        assert "large-data+mean-field <- mean-field" in result.message


def test_a_relation_is_checked_whatever_budget_the_designed_entries_were_given(small, monkeypatch):
    """The relation needs a point and a window, not a ladder: with a quick budget too small for
    any ladder, the checker once redesigned the whole experiment and failed with 'does not fit'."""
    from prismcat.validation import policy

    edit(small / "ld-mf.yaml", lambda d: d.pop("validation", None))  # the edge is designed
    monkeypatch.setitem(policy.POINT_BUDGET, "quick", 1e-6)
    cat = load_catalog(small)
    result = checkers()["consistency"].check(CheckContext(cat.get("large-data+mean-field"), cat, None))
    assert result.status == "pass", result.message


def test_a_missing_relation_between_adjacent_primary_entries_fails(small):
    edit(small / "ld-mf.yaml", lambda d: d.update(consistency=[]))
    cat = load_catalog(small)
    result = checkers()["consistency"].check(CheckContext(cat.get("mean-field"), cat, None))
    assert result.status == "fail"
    assert "no consistency relation declared for large-data+mean-field -> mean-field" in result.message


def test_relation_targets_are_checked_at_load(small):
    edit(small / "ld-mf.yaml", lambda d: d["consistency"][0].update(entry="small-data"))
    cat = load_catalog(small)
    assert any("no entry 'small-data'" in str(p) and "consistency[0].entry" in str(p) for p in cat.problems)
    edit(
        small / "ld-mf.yaml",
        lambda d: d["consistency"][0].update(entry="mean-field", parameters={"u": "u"}),
    )
    cat = load_catalog(small)
    assert any("missing alpha" in str(p) for p in cat.problems)


@pytest.mark.slow
def test_cache_resumes_and_results_are_reproducible(small, tmp_path):
    cache_dir = tmp_path / "cache"
    cat = load_catalog(small)
    first = validate(cat, cache=DiskCache(cache_dir), progress=False)
    assert first.cache["hits"] == 0
    second = validate(cat, cache=DiskCache(cache_dir), progress=False)
    assert second.cache["hits"] == 16 and second.cache["misses"] == 0  # 2 entries x 4 rungs x 2 blocks
    a, b = to_records(first), to_records(second)
    a.pop("timing")
    b.pop("timing")
    assert json.dumps(a) == json.dumps(b)


@pytest.mark.slow
def test_cli_writes_the_three_reports_and_exits_by_status(small, tmp_path, capsys):
    from prismcat.cli import main
    from prismcat.validation.records import Results

    out = tmp_path / "report"
    code = main(
        [
            "validate",
            "--catalog",
            str(small),
            "--report",
            str(out),
            "--no-progress",
            "--cache-dir",
            str(tmp_path / "c"),
        ]
    )
    assert code == 0, capsys.readouterr()
    data = json.loads((out / "results.json").read_text())
    Results.model_validate(data)
    assert [e["status"] for e in data["entries"]] == ["pass", "pass"]
    assert set(data["timing"]) >= {"started", "total_s", "entries_s"}
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3  # the prism and one figure per entry
    assert "| large-data+mean-field | large-data+mean-field | pass |" in (out / "report.md").read_text()
    # a wrong formula: exit code 1, the report says why
    edit(
        small / "ld-mf.yaml",
        lambda d: d["losses"]["train"]["formula"].update(expression="0.4 + 0 * t"),
    )
    code = main(["validate", "--catalog", str(small), "--report", str(out), "--no-progress", "--no-cache"])
    assert code == 1
    data = json.loads((out / "results.json").read_text())
    edge = next(e for e in data["entries"] if e["id"] == "large-data+mean-field")
    assert edge["status"] == "fail" and "extrapolation" in edge["message"]


@pytest.mark.slow
def test_pytest_collects_catalogue_entries(small, pytester):
    pytester.makeconftest("")
    # the plugin is active through its pytest11 entry point (installed with prismcat); a subprocess,
    # since an in-process run re-imports prismcat and would leave its plugin registry to later tests.
    # Both runs share the plugin's cache (under pytester's folder): the edit changes only a formula
    result = pytester.runpytest_subprocess(str(small), "-q")
    result.assert_outcomes(passed=2)
    edit(
        small / "ld-mf.yaml",
        lambda d: d["losses"]["train"]["formula"].update(expression="0.4 + 0 * t"),
    )
    result = pytester.runpytest_subprocess(str(small), "-q")
    # the broken edge fails its own checks, and the face fails consistency with it
    result.assert_outcomes(failed=2)
    text = result.stdout.str()
    assert "error vs N:" in text and "[fail] extrapolation" in text and "[fail] tolerance" in text
    assert "[fail] consistency: large-data+mean-field <- mean-field" in text


@pytest.mark.parametrize(("declared", "status"), [(1, "pass"), (3, "fail")])
def test_cauchy_confirms_the_interiors_rate_and_rejects_a_wrong_one(entry_text, tmp_path, declared, status):
    """The interior has no closed form: successive sizes must close in at the declared rate, here
    on a short ladder (d = 16..128, 8 nested seeds), where the measured rate is about 1.2 +- 0.15."""

    def small_ladder(d):
        d["validation"].update(ladder=[16, 32, 64, 128], seeds=8)
        d["validation"].pop("profiles", None)
        d["convergence"]["rate"] = declared

    (tmp_path / "cat").mkdir()
    path = tmp_path / "cat" / "interior.yaml"
    path.write_text(entry_text("interior"))
    edit(path, small_ladder)
    (run,) = validate(load_catalog(tmp_path / "cat"), progress=False, jobs=1).runs
    (check,) = run.checks
    assert check.checker == "cauchy" and check.status == status, check.message
    if status == "fail":
        assert "REJECTED" in check.message and "declared 3" in check.message


def test_pytest_collects_only_entry_files_and_a_broken_entry_fails_with_its_location(small, pytester):
    pytester.makeconftest("")
    (small / "notes.yaml").write_text("title: not an entry\n")
    (small / "broken.yaml").write_text("id: broken\nscaling: {d: 1}\nlosses: 3\n")
    result = pytester.runpytest_inprocess(str(small), "--collect-only", "-q")
    collected = result.stdout.str()
    assert "ld-mf.yaml::ld-mf" in collected and "mean-field.yaml::mean-field" in collected
    assert "broken.yaml::broken" in collected and "notes.yaml" not in collected
    result = pytester.runpytest_inprocess(str(small / "broken.yaml"), "--prismcat-no-cache", "-q")
    result.assert_outcomes(failed=1)
    assert "broken.yaml:3" in result.stdout.str()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--prismcat-jobs", "0"], "--prismcat-jobs must be at least 1"),
        (["--prismcat-profile", "slow"], "invalid choice"),
    ],
)
def test_a_bad_pytest_option_stops_before_any_item_runs(small, pytester, option, message):
    pytester.makeconftest("")
    result = pytester.runpytest_inprocess(str(small), *option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
