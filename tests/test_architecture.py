"""The house rules of docs/architecture.md, checked: floors and no cycles (import-linter), small
modules, imports inside functions only to defer a heavy or optional library, a cheap
``import prismcat``, one registry collected once per plugin change, and one set of run settings
whose defaults the API, the command line and the pytest plugin share."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import prismcat
from prismcat import api, hookimpl
from prismcat import registry as registry_module
from prismcat.catalog import load_catalog
from prismcat.catalog.discovery import _load_cached
from prismcat.cli import build_parser
from prismcat.cli.arguments import run_options
from prismcat.plugins import plugin_manager
from prismcat.registry import backend, refresh, registry
from prismcat.settings import DEFAULT_CACHE_DIR, OptionError, RunOptions
from prismcat.validation import power as power_module
from prismcat.validation import runner as runner_module
from prismcat.validation.power import DEFAULT_DELTA

PACKAGE = Path(prismcat.__file__).parent
MAX_LINES = 500
# the libraries a function may import for itself, and why it defers them
DEFERRED = {
    "matplotlib": "0.3 s to import; only figures need it",
    "PIL": "matplotlib's image library, for figures only",
    "scipy": "scipy.optimize, .stats and .integrate take 0.1-0.4 s each",
    "tqdm": "tqdm.auto takes 70 ms; only a run with a progress bar needs it",
    "jax": "optional extra",
    "jaxlib": "optional extra",
    "diffrax": "optional extra",
    "torch": "optional extra (about 1 s to import)",
    "torchdiffeq": "optional extra",
    "distributed": "optional extra (the Dask executor)",
    "mkdocs": "optional extra (the site)",
    "pytest": "the conformance suite runs under pytest; the package does not need it",
}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_is_longer_than_five_hundred_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long


def test_a_function_imports_for_itself_only_a_heavy_or_optional_library():
    found = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import):
                    names = [a.name for a in sub.names]
                elif isinstance(sub, ast.ImportFrom):
                    names = ["." * sub.level + (sub.module or "")]
                else:
                    continue
                found += [
                    f"{path.relative_to(PACKAGE)}:{sub.lineno} {n}"
                    for n in names
                    if n.split(".")[0] not in DEFERRED
                ]
    assert not found, "imports inside functions that belong at the top:\n" + "\n".join(found)


def test_the_floors_and_the_no_cycle_contract_hold():
    pytest.importorskip("importlinter", reason="import-linter is a dev extra")
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "2 kept, 0 broken" in out.stdout


def test_import_prismcat_loads_neither_pydantic_nor_scipy_and_the_api_resolves_lazily():
    code = (
        "import sys, json, prismcat; from prismcat import hookimpl; "
        "before = sorted(m for m in ('pydantic', 'scipy', 'numpy', 'yaml', 'matplotlib') if m in sys.modules); "
        "prismcat.load_catalog; "
        "print(json.dumps([before, 'pydantic' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = json.loads(out.stdout)
    assert before == [] and after  # nothing heavy until a public name is used, then it resolves
    missing = [name for name in prismcat.__all__ if getattr(prismcat, name, None) is None]
    assert not missing and set(prismcat.__all__) <= set(dir(prismcat))
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        prismcat.nonesuch  # noqa: B018


class CountingPlugin:
    """Registers nothing; its presence changes the plugin manager's generation."""

    @hookimpl
    def register_checkers(self, register):
        pass


def test_the_registry_is_collected_once_per_plugin_change(monkeypatch, tmp_path):
    calls = []
    real = registry_module.collect
    monkeypatch.setattr(registry_module, "collect", lambda hook, pm: calls.append(hook) or real(hook, pm))
    first = refresh()
    collected = len(calls)
    assert collected == len(registry_module.HOOKS)
    (tmp_path / "e.yaml").write_text((PACKAGE.parent / "catalog" / "interior.yaml").read_text())
    for _ in range(3):
        load_catalog(tmp_path)
        backend("numpy")
        registry().checkers["tolerance"]
    assert len(calls) == collected and registry() is first
    assert registry().simulator("numpy") is first.simulator("numpy")  # one instance per process
    pm = plugin_manager()
    pm.register(CountingPlugin(), name="counting")
    try:
        second = registry()
        assert len(calls) == 2 * collected and second is not first and second.key != first.key
        assert registry() is second
    finally:
        pm.unregister(name="counting")
    assert registry().key not in (first.key, second.key)


def test_a_runtime_registered_family_hits_the_catalogue_cache_on_repeated_loads(tmp_path):
    from tests.test_families import TOY, toy_plugin

    (tmp_path / "toy.yaml").write_text(TOY)
    with toy_plugin():
        first = load_catalog(tmp_path)
        assert not first.problems and registry().runtime("families", "toy")
        hits = _load_cached.cache_info().hits
        again = load_catalog(tmp_path)  # same files, same registry key: served from the cache
        assert _load_cached.cache_info().hits == hits + 1 and again.get("toy-x-y") is first.get("toy-x-y")
    with toy_plugin():  # registered again: a new generation, so compiled again
        third = load_catalog(tmp_path)
        assert third.get("toy-x-y") is not first.get("toy-x-y") and not third.problems


def test_the_api_the_command_line_and_the_pytest_plugin_share_every_default(pytestconfig):
    from prismcat.pytest_plugin import run_options as pytest_options

    defaults = RunOptions()
    for command in (["validate"], ["power"]):
        args = build_parser().parse_args(command)
        assert run_options(args).replace(progress=True) == defaults, command
    assert build_parser().parse_args(["power"]).delta == DEFAULT_DELTA
    assert api.power.__kwdefaults__["delta"] == DEFAULT_DELTA
    assert Path(api.validate.__kwdefaults__["cache"]) == DEFAULT_CACHE_DIR
    assert build_parser().parse_args(["validate"]).cache_dir == DEFAULT_CACHE_DIR
    assert defaults.timeout == 900  # the API has the command line's task timeout, not none
    assert pytest_options(pytestconfig).replace(progress=True, jobs=None) == defaults


def test_power_forwards_every_setting_to_the_simulations(monkeypatch):
    seen = []

    def spy(entries, options, cache, executor, phases=None):
        seen.append(options)
        raise KeyboardInterrupt  # stop before anything is simulated

    monkeypatch.setattr(runner_module, "simulate", spy)  # power runs the validation's experiment
    settings = dict(
        dtype="float32", jobs=1, seeds_per_task=2, seed_offset=5, timeout=30.0, profile="thorough"
    )
    with pytest.raises(KeyboardInterrupt):
        prismcat.power("large-data", cache=None, progress=False, **settings)
    assert seen[-1] == RunOptions(progress=False, **settings)
    with pytest.raises(KeyboardInterrupt):
        power_module.power(
            load_catalog(), ["large-data"], options=RunOptions(backend="numpy", options={"x": "1"})
        )
    assert dict(seen[-1].options) == {"x": "1"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"jobs": 0}, "--jobs must be at least 1, got 0"),
        ({"seeds_per_task": -1}, "--seeds-per-task"),
        ({"dtype": "float16"}, "--dtype"),
        ({"profile": "fast"}, "--profile"),
        ({"timeout": float("nan")}, "--task-timeout"),
        ({"delta": 1.5}, "delta must lie in (0, 1)"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_setting_is_refused_by_power_and_validate_before_any_work(monkeypatch, settings, message):
    monkeypatch.setattr(runner_module, "simulate", lambda *a, **k: pytest.fail("simulated"))
    with pytest.raises((OptionError, TypeError), match=message.replace("(", r"\(").replace(")", r"\)")):
        prismcat.power("large-data", cache=None, **settings)
    if "delta" not in settings:
        with pytest.raises((OptionError, TypeError)):
            prismcat.validate("large-data", cache=None, **settings)


def test_an_entry_without_seeds_gets_the_policys_minimum_and_profiles_are_the_settings_ones(tmp_path):
    from prismcat.catalog.schema import Validation
    from prismcat.settings import PROFILES
    from prismcat.validation import policy
    from prismcat.validation.design import settings_for

    text = (PACKAGE.parent / "catalog" / "interior.yaml").read_text()
    (tmp_path / "interior.yaml").write_text(
        text.replace("  seeds: 24\n", "").replace("thorough: {seeds: 64}", "thorough: {}")
    )
    entry = load_catalog(tmp_path).get("interior")
    assert entry.spec.validation.seeds is None
    assert {p: settings_for(entry, p).seeds for p in PROFILES} == dict.fromkeys(PROFILES, policy.MIN_SEEDS)
    assert set(Validation.model_fields["profiles"].annotation.__args__[0].__args__) == set(PROFILES)
