"""Robustness: numerical faults become failed checks, failing plugins fail only what they touched,
interrupted runs resume from the cache, and the same command gives the same results.json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from prismcat.catalog import load_catalog
from prismcat.hookspecs import hookimpl
from prismcat.plugins import plugin_manager
from prismcat.report import write_report
from prismcat.simulation import Integrated, Simulator
from prismcat.validation.cache import DiskCache
from prismcat.validation.checks import Checker, CheckResult
from prismcat.validation.records import to_records
from prismcat.validation.runner import validate

from .conftest import edit_yaml as edit


@pytest.fixture
def plugin():
    """Register a plugin object for one test."""
    pm = plugin_manager()
    names = []

    def register(obj, name):
        pm.register(obj, name=name)
        names.append(name)

    yield register
    for name in names:
        pm.unregister(name=name)


def no_nan_in(path: Path) -> None:
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text)


# -- numerical faults ---------------------------------------------------------------------------
def test_formula_nan_inside_its_range_fails_the_entry_with_where_and_when(small, tmp_path):
    edit(
        small / "ld-mf.yaml",
        lambda d: d["losses"]["train"]["formula"].update(expression="log(0.3 - u) + 0 * t"),
    )
    edit(small / "ld-mf.yaml", lambda d: d["validation"].update(parameters={"u": 0.5}))
    cat = load_catalog(small)  # values are not smoke-tested here: the runner must cope
    v = validate(cat, ["large-data+mean-field"], progress=False)
    run = v.runs[0]
    assert run.status == "error"
    assert "large-data+mean-field: train limit (closed_form) at u=0.5" in run.error
    assert "not finite (nan) at t = " in run.error  # found where the design probes its window
    write_report(v, cat, tmp_path / "r")
    no_nan_in(tmp_path / "r" / "results.json")


def test_a_diverging_integrator_fails_the_entry_with_time_and_step(small):
    edit(small / "ld-mf.yaml", lambda d: d["validation"].update(integrator="rk4", dt=1.5))
    edit(small / "ld-mf.yaml", lambda d: d["parameters"]["u"].update(default=8.0))
    edit(small / "ld-mf.yaml", lambda d: d["validation"].update(parameters={"u": 8.0}))
    v = validate(load_catalog(small), ["large-data+mean-field"], progress=False)
    run = v.runs[0]
    assert run.status == "error"
    assert "diverged at t =" in run.error and "dt = 1.5" in run.error


def test_an_ode_that_does_not_converge_fails_with_its_time(small):
    def blow_up(d):
        d["losses"]["train"]["formula"] = {
            "kind": "ode",
            "state": {"g": "u"},
            "rhs": {"g": "10 * g**2"},
            "expression": "g",
        }

    edit(small / "ld-mf.yaml", blow_up)
    v = validate(load_catalog(small), ["large-data+mean-field"], progress=False)
    run = v.runs[0]
    assert run.status == "error"
    assert "ODE solver (DOP853) failed near t =" in run.error
    assert "large-data+mean-field: train limit (ode) at u=0.2" in run.error


# -- plugin isolation -----------------------------------------------------------------------------
class Raising(Simulator):
    name = "raising"

    def integrate(self, prepared):
        raise RuntimeError("boom")


class WrongShape(Simulator):
    name = "wrongshape"

    def integrate(self, prepared):
        return Integrated(np.zeros((1, 3)), np.zeros((1, 3)), prepared.state0)


class NaNs(Simulator):
    name = "nans"

    def integrate(self, prepared):
        shape = (len(prepared.problems), len(prepared.times))
        return Integrated(np.full(shape, np.nan), np.zeros(shape), prepared.state0)


class Hanging(Simulator):
    name = "hanging"

    def integrate(self, prepared):
        while True:
            time.sleep(0.01)


class SimPlugin:
    def __init__(self, sim):
        self.sim = sim

    @hookimpl
    def register_simulators(self, register):
        register(self.sim)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sim", "message"),
    [
        (Raising(), "simulator backend 'raising' failed: RuntimeError: boom"),
        (WrongShape(), "simulator backend 'wrongshape' returned train of shape (1, 3)"),
        (NaNs(), "simulator backend 'nans' returned non-finite train values"),
        (Hanging(), "simulator backend 'hanging' did not finish within 0.5 s (task timeout)"),
    ],
)
def test_a_failing_simulator_fails_only_its_entries_and_the_report_says_how(
    small, tmp_path, plugin, sim, message
):
    plugin(SimPlugin(sim), f"test-{sim.name}")
    cat = load_catalog(small)
    # the hanging backend meets a 0.5 s limit (each of its tasks waits it out); the others must
    # finish, on a busy machine too
    v = validate(cat, backend=sim.name, progress=False, timeout=0.5 if isinstance(sim, Hanging) else 120.0)
    assert [r.status for r in v.runs] == ["error", "error"]
    for run in v.runs:
        assert message in run.error, run.error
        # formula-level checks still ran and still pass
        assert {c.checker: c.status for c in run.checks}.get("consistency") == "pass"
    paths = write_report(v, cat, tmp_path / "r")
    data = json.loads(paths["json"].read_text())
    assert all(message in e["message"] for e in data["entries"])
    import html

    assert html.escape(message, quote=False) in paths["html"].read_text()  # as text: quotes need no escape
    no_nan_in(paths["json"])


class BadChecker(Checker):
    def __init__(self, name, behaviour):
        self.name = name
        self.behaviour = behaviour

    def applies(self, entry, catalog):
        return entry.id == "mean-field"

    def check(self, ctx):
        if self.behaviour == "raise":
            raise ValueError("checker bug")
        if self.behaviour == "garbage":
            return {"status": "pass"}
        if self.behaviour == "bad-status":
            return CheckResult(self.name, "maybe", "?")
        while True:
            time.sleep(0.01)


class CheckerPlugin:
    def __init__(self, checkers):
        self.checkers = checkers

    @hookimpl
    def register_checkers(self, register):
        for c in self.checkers:
            register(c)


@pytest.mark.slow
def test_failing_checkers_fail_only_their_check(small, plugin):
    bad = [
        BadChecker("raiser", "raise"),
        BadChecker("garbage", "garbage"),
        BadChecker("badstatus", "bad-status"),
        BadChecker("sleeper", "hang"),
    ]
    plugin(CheckerPlugin(bad), "test-bad-checkers")
    v = validate(load_catalog(small), progress=False, timeout=1.0, seeds_per_task=1)  # 1 s per task
    runs = {r.entry.id: r for r in v.runs}
    assert runs["large-data+mean-field"].status == "pass"  # untouched
    checks = {c.checker: c for c in runs["mean-field"].checks}
    assert checks["raiser"].message == "checker 'raiser' failed: ValueError: checker bug"
    assert (
        checks["garbage"].message == "checker 'garbage' failed: PluginError: returned dict, not a CheckResult"
    )
    assert (
        checks["badstatus"].message == "checker 'badstatus' failed: PluginError: returned the status 'maybe'"
    )
    assert checks["sleeper"].message == "checker 'sleeper' did not finish within 1 s (task timeout)"
    for name in ("extrapolation", "tolerance", "convergence", "consistency"):
        assert checks[name].status == "pass"
    assert runs["mean-field"].status == "error"


# -- interrupted runs and reproducibility -------------------------------------------------------
def _validate_cmd(catalog: Path, report: Path, cache: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "prismcat.cli",
        "validate",
        "--catalog",
        str(catalog),
        "--report",
        str(report),
        "--cache-dir",
        str(cache),
        "--no-progress",
        *extra,
    ]


@pytest.mark.slow
def test_kill_9_then_rerun_reuses_the_cache_and_completes(small, tmp_path):
    # the small catalogue as it is: 16 tasks (2 entries x 4 rungs x 2 blocks of seeds), long
    # enough to be killed half-way
    cache, report = tmp_path / "cache", tmp_path / "report"
    proc = subprocess.Popen(
        _validate_cmd(small, report, cache), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list(cache.rglob("*.npz"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list(cache.rglob("*.npz"))
    assert 2 <= len(done) < 16, "the run was not killed half-way"
    for f in done:  # every file under its final name is complete
        with np.load(f) as arrays:
            assert set(arrays.files) >= {"train", "population"}
    assert not (report / "results.json").exists()
    res = subprocess.run(_validate_cmd(small, report, cache), capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads((report / "results.json").read_text())
    assert [e["status"] for e in data["entries"]] == ["pass", "pass"]
    assert data["timing"]["cache"]["hits"] >= len(done)
    assert sum(len(e["sizes"]) for e in data["entries"]) == 8


@pytest.mark.slow
def test_same_command_twice_gives_identical_results_json(small, tmp_path):
    """Byte-identical apart from the one timing field; fresh runs (no cache) both times."""
    texts = []
    for i in range(2):
        report = tmp_path / f"r{i}"
        res = subprocess.run(
            _validate_cmd(small, report, tmp_path / "c", "--no-cache"),
            capture_output=True,
            text=True,
            check=False,
        )
        assert res.returncode == 0, res.stderr
        data = json.loads((report / "results.json").read_text())
        assert set(data["timing"]) == {"started", "total_s", "entries_s", "cache", "phases_s"}
        data.pop("timing")
        texts.append(json.dumps(data, indent=1))
    assert texts[0] == texts[1]


@pytest.mark.slow
def test_records_drop_nothing_computed_when_a_later_entry_fails(small):
    """An entry that errors does not take the other's measurements with it."""
    edit(
        small / "mean-field.yaml",
        lambda d: d["losses"]["train"]["formula"].update(integrand="log(-u) + lam * t"),
    )
    v = validate(load_catalog(small), cache=DiskCache(None), progress=False)
    records = to_records(v)
    by_id = {e["id"]: e for e in records["entries"]}
    assert by_id["mean-field"]["status"] == "error"
    edge = by_id["large-data+mean-field"]
    checks = {c["checker"]: c for c in edge["checks"]}
    assert checks["tolerance"]["status"] == checks["convergence"]["status"] == "pass"
    # its relation to the broken face cannot be evaluated: that one check errs, and says why
    assert (
        checks["consistency"]["status"] == "error"
        and "mean-field: train limit" in checks["consistency"]["message"]
    )
    assert len(edge["sizes"]) == 4
