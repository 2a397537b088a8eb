"""Plugin isolation at load time: a plugin that fails to import, to register, or whose hook raises
or registers a name already taken is reported (``prismcat plugins``) and everything else works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGINS = {
    # module name: source
    "pc_test_missing_dep": "import a_module_that_does_not_exist\n",
    "pc_test_raising_hook": (
        "from prismcat import hookimpl\n\n@hookimpl\ndef register_simulators(register):\n"
        "    raise RuntimeError('backend setup failed')\n"
    ),
    "pc_test_duplicate": (
        "from prismcat import hookimpl\nfrom prismcat.simulation import Simulator\n\n"
        "class Dup(Simulator):\n    name = 'numpy'\n\n    def integrate(self, prepared):\n        pass\n\n"
        "@hookimpl\ndef register_simulators(register):\n    register(Dup())\n"
    ),
    "pc_test_bad_signature": (
        "from prismcat import hookimpl\n\n@hookimpl\ndef register_checkers(register, extra):\n    pass\n"
    ),
}


@pytest.fixture
def site(tmp_path) -> Path:
    """A folder on PYTHONPATH with four broken plugins installed through entry points."""
    root = tmp_path / "site"
    root.mkdir()
    for i, (module, source) in enumerate(PLUGINS.items()):
        (root / f"{module}.py").write_text(source)
        info = root / f"{module}-0.{i}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.{i}\n"
            "Requires-Dist: prismcat-regimes>=0.2,<1\n"
        )
        (info / "entry_points.txt").write_text(f"[prismcat]\n{module.removeprefix('pc_test_')} = {module}\n")
    return root


def run(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    return subprocess.run(
        [sys.executable, "-m", "prismcat.cli", *args], capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.slow
def test_every_command_works_and_warns_once_per_broken_plugin(site, small):
    res = run(site, "list", "--catalog", str(small))
    assert res.returncode == 0, res.stderr
    assert "mean-field" in res.stdout
    assert (
        "warning: plugin 'missing_dep' (pc-test-missing-dep 0.0) failed to load: "
        "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'; see 'prismcat plugins'"
    ) in res.stderr
    assert "signature" in res.stderr.lower() or "bad_signature" in res.stderr
    sim = ("simulate", "--d", "8", "--k", "4", "--n", "16", "--sigma2", "0.1", "--times", "0:1:3")
    res = run(site, *sim, "--backend", "torch")
    assert res.returncode == 0, res.stderr
    assert "torch" in res.stdout
    assert "'raising_hook'" in res.stderr
    assert "register_simulators: RuntimeError: backend setup failed" in res.stderr
    # two plugins claim the name 'numpy': neither is used, and the error says so (no silent pick)
    res = run(site, *sim)
    assert res.returncode == 2
    assert "error: simulator backend 'numpy' is registered by more than one plugin (" in res.stderr
    assert "'duplicate'" in res.stderr and "'numpy' is also registered by 'prismcat.simulators'" in res.stderr


def test_prismcat_plugins_lists_each_plugin_with_what_it_registers_or_why_not(site):
    res = run(site, "plugins", "--json")
    assert res.returncode == 0, res.stderr
    items = {p["name"]: p for p in json.loads(res.stdout)}
    builtin = items["prismcat.simulators"]  # numpy, torch and jax ship with prismcat
    assert builtin["source"] == "builtin"
    assert builtin["registers"] == {"simulators": ["numpy", "torch", "jax"]}
    assert builtin["errors"] == [
        "register_simulators: 'numpy' is also registered by 'duplicate', so neither is used (uninstall one of them)"
    ]
    assert items["prismcat.checkers"]["source"] == "builtin"  # the standard checkers ship with prismcat
    assert items["prismcat.checkers"]["registers"]["checkers"] == [
        "extrapolation",
        "convergence",
        "tolerance",
        "cauchy",
        "consistency",
    ]
    assert items["prismcat.formulas.builtin"]["source"] == "builtin"
    for name in ("missing_dep", "raising_hook", "duplicate", "bad_signature"):
        assert not items[name]["ok"], name
        assert items[name]["source"] == "entry point"
    assert items["missing_dep"]["errors"][0].startswith("failed to load: ModuleNotFoundError")
    assert items["duplicate"]["registers"] == {"simulators": ["numpy"]}
    table = run(site, "plugins")
    assert table.returncode == 0
    assert "FAILED" in table.stdout and "raising_hook: register_simulators: RuntimeError" in table.stdout
    assert "warning:" not in table.stderr  # the command that lists them does not warn about them


def test_a_plugin_registered_at_run_time_is_listed(monkeypatch):
    from prismcat import hookimpl
    from prismcat.plugins import plugin_manager, plugin_report

    class Extra:
        @hookimpl
        def register_checkers(self, register):
            raise ValueError("oops")

    pm = plugin_manager()
    pm.register(Extra(), name="test-extra")
    try:
        info = {p.name: p for p in plugin_report()}["test-extra"]
        assert info.source == "runtime" and info.errors == ["register_checkers: ValueError: oops"]
        from prismcat.validation.check import checkers

        assert set(checkers()) == {"extrapolation", "tolerance", "convergence", "cauchy", "consistency"}
    finally:
        pm.unregister(name="test-extra")


def _dist(root: Path, module: str, source: str, requires: str | None) -> None:
    (root / f"{module}.py").write_text(source)
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    meta = f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 1.0\n"
    (info / "METADATA").write_text(meta + (f"Requires-Dist: {requires}\n" if requires else ""))
    (info / "entry_points.txt").write_text(f"[prismcat]\n{module} = {module}\n")


@pytest.mark.slow
def test_a_plugin_for_another_prismcat_version_is_reported_and_never_imported(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    marker = tmp_path / "imported"
    source = f"open({str(marker)!r}, 'w').write('x')\n"  # importing it would leave a trace
    _dist(root, "pc_old", source, "prismcat-regimes<0.2")
    _dist(root, "pc_undeclared", source, None)
    _dist(root, "pc_extra_only", source, 'prismcat-regimes>=9; extra == "docs"')
    _dist(root, "pc_current", "", "prismcat-regimes>=0.2,<1")
    _dist(root, "pc_other_project", source, "prismcat>=1.0")  # the index's unrelated "prismcat"
    res = run(root, "plugins", "--json")
    assert res.returncode == 0, res.stderr
    items = {p["name"]: p for p in json.loads(res.stdout)}
    assert not marker.exists()
    from prismcat import __version__

    assert items["pc_old"]["errors"] == [
        f"not loaded: supports prismcat <0.2, but this is prismcat {__version__}: upgrade one of them"
    ]
    assert items["pc_old"]["supports"] == "<0.2"
    for name in ("pc_undeclared", "pc_extra_only"):
        assert items[name]["errors"][0].startswith("not loaded: does not declare which prismcat versions"), (
            name
        )
    assert items["pc_current"]["ok"] and items["pc_current"]["supports"] == "<1,>=0.2"
    assert "the package index's unrelated project" in items["pc_other_project"]["errors"][0]
    assert "declare 'prismcat-regimes>=X,<Y'" in items["pc_other_project"]["errors"][0]
    table = run(root, "list")
    assert table.returncode == 0
    assert "warning: plugin 'pc_old' (pc-old 1.0) not loaded: supports prismcat <0.2" in table.stderr


def test_prismcat_load_plugins_selects_entry_point_plugins(site):
    env_run = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    res = subprocess.run(
        [sys.executable, "-m", "prismcat.cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        env={**env_run, "PRISMCAT_LOAD_PLUGINS": "raising_hook"},
        check=False,
    )
    names = {p["name"] for p in json.loads(res.stdout)}
    assert "raising_hook" in names and "missing_dep" not in names and "duplicate" not in names
    assert {"prismcat.simulators", "prismcat.checkers"} <= names  # built-ins always load
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "prismcat.cli",
            "simulate",
            "--d",
            "4",
            "--k",
            "2",
            "--n",
            "8",
            "--sigma2",
            "0.1",
            "--times",
            "0:1:3",
        ],
        capture_output=True,
        text=True,
        env={**env_run, "PRISMCAT_LOAD_PLUGINS": ""},
        check=False,
    )
    assert res.returncode == 0 and res.stderr == "", res.stderr  # no third-party plugin, no warning
