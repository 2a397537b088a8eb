"""Cache keys cover everything that changes the simulated numbers, and nothing that does not.

A key is the content hash of a task's resolved problems and of the code-and-machine fingerprint
(prismcat.simulation.fingerprint). Editing what only the checkers read (tolerances, declared resolutions, the
title) must hit; anything that changes the numbers (seeds, sizes, dtype, integrator settings, the
BLAS thread count, the backend, its device, the simulation sources) must miss.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from prismcat import load_catalog
from prismcat.cli import main
from prismcat.simulation import fingerprint as fpmod
from prismcat.simulation.fingerprint import source_digest
from prismcat.simulation.plan import resolve
from prismcat.simulation.problem import Integrator
from prismcat.validation import plan as planning
from prismcat.validation.cache import DiskCache
from prismcat.validation.design import settings_for
from prismcat.validation.plan import plan_tasks, simulation_fingerprint
from prismcat.validation.runner import validate
from tests.conftest import edit_yaml

from .conftest import records_text, validate_in_process

REPO = Path(__file__).resolve().parents[1]
SIMULATION = REPO / "prismcat" / "simulation"
TASKS = REPO / "prismcat" / "validation" / "tasks.py"
NUMPY_BACKEND = REPO / "prismcat" / "simulators" / "numpy_backend.py"
N_TASKS = 16  # two entries, four rungs each, two seed blocks per rung (12 seeds: 8 + 4)


# -- helpers --------------------------------------------------------------------------------------
_validate = validate_in_process
_records = records_text


def _keys(catalog: Path, fp=None, backend: str = "numpy", **settings) -> list[str]:
    fp = simulation_fingerprint(backend) if fp is None else fp
    cat = load_catalog(catalog)
    return [t.key for e in cat for t in plan_tasks(e, settings_for(e, **settings), backend, None, fp)]


@pytest.fixture
def fresh_digests():
    """source_digest is lru-cached by path: start and end each test with an empty cache."""
    source_digest.cache_clear()
    yield
    source_digest.cache_clear()


def _copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dst


def _append_comment(path: Path) -> None:
    with path.open("a") as f:
        f.write("\n# an edit that changes nothing but the bytes of the source\n")


# -- hits: an identical or a checker-only change --------------------------------------------------
@pytest.mark.slow
def test_second_identical_validation_hits_every_task_with_identical_results(small, tmp_path):
    cache = tmp_path / "cache"
    first = _validate(small, cache)
    assert first.cache["hits"] == 0 and first.cache["misses"] == N_TASKS
    assert len(list(cache.glob("*/*.npz"))) == N_TASKS
    second = _validate(small, cache)
    n = len(_keys(small))
    assert n == N_TASKS
    assert second.cache["hits"] == n and second.cache["misses"] == 0
    assert second.cache["rejected"] == [] and second.cache["write_error"] is None
    assert _records(first) == _records(second)
    assert all(r.status == "pass" for r in second.runs)


@pytest.mark.slow
def test_default_executor_fills_the_cache_that_an_in_process_run_hits(small, tmp_path):
    """The one test on the default executor (a local process pool): its values are cached under
    the same keys and give the same bits as an in-process run."""
    cache = tmp_path / "cache"
    first = validate(load_catalog(small), progress=False, cache=DiskCache(cache))
    assert first.cache["misses"] == N_TASKS
    second = _validate(small, cache)
    assert second.cache["hits"] == N_TASKS and second.cache["misses"] == 0
    assert _records(first) == _records(second)
    fresh = _validate(small, tmp_path / "other")
    assert _records(fresh) == _records(first)


@pytest.mark.slow
@pytest.mark.parametrize(
    "what, change",
    [
        ("tolerance", lambda d: d["validation"]["tolerance"].update(train=0.5, population=0.5)),
        (
            "resolution",
            lambda d: d["validation"].update(resolution={"quick": 0.5, "reason": "declared for a test"}),
        ),
        ("title", lambda d: d.update(title="A retitled entry")),
        ("summary", lambda d: d.update(summary="Another summary.")),
    ],
    ids=["tolerance", "resolution", "title", "summary"],
)
def test_checker_only_edits_do_not_resimulate(small, tmp_path, what, change):
    cache = tmp_path / "cache"
    before = _keys(small)
    _validate(small, cache)
    for f in small.glob("*.yaml"):
        edit_yaml(f, change)
    cat = load_catalog(small)
    assert not cat.problems, cat.problems
    if what == "title":
        assert all(e.spec.title == "A retitled entry" for e in cat)
    assert _keys(small) == before
    again = _validate(small, cache)
    assert again.cache["hits"] == N_TASKS and again.cache["misses"] == 0


@pytest.mark.slow
def test_moving_the_catalogue_does_not_resimulate(small, tmp_path):
    cache = tmp_path / "cache"
    _validate(small, cache)
    moved = shutil.copytree(small, tmp_path / "elsewhere" / "my-catalogue")
    again = _validate(moved, cache)
    assert again.cache["hits"] == N_TASKS and again.cache["misses"] == 0


@pytest.mark.slow
def test_explicit_default_blas_threads_hits(small, tmp_path, monkeypatch):
    monkeypatch.delenv("PRISMCAT_BLAS_THREADS", raising=False)
    cache = tmp_path / "cache"
    _validate(small, cache)
    monkeypatch.setenv("PRISMCAT_BLAS_THREADS", "1")  # the default, spelled out
    again = _validate(small, cache)
    assert again.cache["hits"] == N_TASKS and again.cache["misses"] == 0


# -- misses: anything that changes the numbers ----------------------------------------------------
def _edit_entry(entry_file: str, change):
    def apply(catalog: Path) -> None:
        edit_yaml(catalog / entry_file, change)

    return apply


@pytest.mark.slow
@pytest.mark.parametrize(
    "edit, kwargs, hits, misses",
    [
        # one more seed in mean-field: the second block of seeds (8-11 -> 8-12) of each of its four
        # rungs changes; its first blocks (seeds 0-7) and the other entry's eight tasks do not
        (_edit_entry("mean-field.yaml", lambda d: d["validation"].update(seeds=13)), {}, 12, 4),
        # a new top rung: N = 2, 4, 8 are the same problems as before, N = 32 (two blocks) is new
        (_edit_entry("mean-field.yaml", lambda d: d["validation"].update(ladder=[2, 4, 8, 32])), {}, 14, 2),
        # a longer window changes every time grid of that entry
        (_edit_entry("ld-mf.yaml", lambda d: d["validation"].update(horizon=2.5)), {}, 8, 8),
        (None, {"dtype": "float32"}, 0, N_TASKS),
        (None, {"seed_offset": 1}, 0, N_TASKS),
    ],
    ids=["seeds", "ladder", "horizon", "float32", "seed_offset"],
)
def test_changes_that_change_the_numbers_miss(small, tmp_path, edit, kwargs, hits, misses):
    cache = tmp_path / "cache"
    first = _validate(small, cache)
    if edit is not None:
        edit(small)
    again = _validate(small, cache, **kwargs)
    assert (again.cache["hits"], again.cache["misses"]) == (hits, misses)
    assert again.cache["rejected"] == []
    assert len(list(cache.glob("*/*.npz"))) == N_TASKS + misses
    if kwargs:
        assert _records(again) != _records(first)


@pytest.mark.slow
def test_blas_thread_count_is_in_the_key(small, tmp_path, monkeypatch):
    monkeypatch.delenv("PRISMCAT_BLAS_THREADS", raising=False)
    cache = tmp_path / "cache"
    _validate(small, cache)
    one = _keys(small)
    monkeypatch.setenv("PRISMCAT_BLAS_THREADS", "2")
    assert simulation_fingerprint("numpy")["blas_threads"] == "2"
    two = _keys(small)
    assert set(one).isdisjoint(two)
    again = _validate(small, cache)
    assert again.cache["hits"] == 0 and again.cache["misses"] == N_TASKS


def test_backend_name_is_in_the_key(small):
    fp = simulation_fingerprint("numpy")
    other = {**copy.deepcopy(fp), "backend": "torch"}
    assert set(_keys(small, fp)).isdisjoint(_keys(small, other))
    # without a fingerprint the backend name alone still separates the keys
    assert set(_keys(small, {"backend": "numpy"})).isdisjoint(_keys(small, {"backend": "torch"}))
    cat = load_catalog(small)
    e = cat.get("mean-field")
    bare_numpy = [t.key for t in plan_tasks(e, settings_for(e), "numpy", None, None)]
    bare_torch = [t.key for t in plan_tasks(e, settings_for(e), "torch", None, None)]
    assert set(bare_numpy).isdisjoint(bare_torch)


def test_backend_device_is_in_the_key(small):
    fp = simulation_fingerprint("numpy")
    cpu, gpu = copy.deepcopy(fp), copy.deepcopy(fp)
    cpu["backend_details"]["device"] = "cpu"
    gpu["backend_details"]["device"] = "cuda:0"
    assert set(_keys(small, cpu)).isdisjoint(_keys(small, gpu))
    assert _keys(small, copy.deepcopy(cpu)) == _keys(small, cpu)


def test_backend_fingerprint_method_reaches_the_key(small, monkeypatch):
    """What the backend says about itself (versions, device) goes into the key unchanged."""
    from prismcat.simulation import get_simulator

    sim_cls = type(get_simulator("numpy"))
    before = _keys(small)
    original = sim_cls.fingerprint

    def on_device(self):
        return {**original(self), "device": "cuda:1"}

    monkeypatch.setattr(sim_cls, "fingerprint", on_device)
    fp = simulation_fingerprint("numpy")
    assert fp["backend_details"]["device"] == "cuda:1"
    assert set(_keys(small, fp)).isdisjoint(before)


# -- integrator and formulation are resolved before keying ----------------------------------------
def _ladder_keys(catalog: Path, monkeypatch, change) -> list[str]:
    """plan_tasks keys with every problem of the ladder passed through ``change``."""
    real = planning.ladder

    def patched(entry, settings):
        points = real(entry, settings)
        for p in points:
            p.problems = [change(q) for q in p.problems]
        return points

    fp = simulation_fingerprint("numpy")
    cat = load_catalog(catalog)
    with monkeypatch.context() as m:
        m.setattr(planning, "ladder", patched)
        return [t.key for e in cat for t in plan_tasks(e, settings_for(e), "numpy", None, fp)]


def _integ(**kw):
    return lambda q: dataclasses.replace(q, integrator=dataclasses.replace(q.integrator, **kw))


def test_default_tolerances_are_resolved_before_keying(small, monkeypatch):
    base = _ladder_keys(small, monkeypatch, lambda q: q)
    assert base == _keys(small)
    defaults = _ladder_keys(small, monkeypatch, lambda q: dataclasses.replace(q, integrator=Integrator()))
    explicit = _ladder_keys(small, monkeypatch, _integ(rtol=1e-10, atol=1e-12))
    assert defaults == base and explicit == base  # the same numbers, the same keys
    looser = _ladder_keys(small, monkeypatch, _integ(rtol=1e-9))
    assert set(looser).isdisjoint(base)
    atol = _ladder_keys(small, monkeypatch, _integ(atol=1e-11))
    assert set(atol).isdisjoint(base) and set(atol).isdisjoint(looser)


def test_float32_default_tolerances_are_resolved_before_keying(small, monkeypatch):
    def f32(**kw):
        return lambda q: dataclasses.replace(
            q, dtype="float32", integrator=dataclasses.replace(q.integrator, **kw)
        )

    base64 = _ladder_keys(small, monkeypatch, lambda q: q)
    defaults = _ladder_keys(small, monkeypatch, f32())
    explicit = _ladder_keys(small, monkeypatch, f32(rtol=1e-6, atol=1e-8))
    assert defaults == explicit
    assert set(defaults).isdisjoint(base64)
    assert set(_ladder_keys(small, monkeypatch, f32(rtol=1e-10, atol=1e-12))).isdisjoint(defaults)


def test_fixed_step_default_dt_is_resolved_before_keying(small, monkeypatch):
    rk4 = _ladder_keys(small, monkeypatch, _integ(method="rk4", dt=None))

    def explicit_dt(q):
        q = dataclasses.replace(q, integrator=dataclasses.replace(q.integrator, method="rk4", dt=None))
        dt = resolve(q).integrator.dt
        return dataclasses.replace(q, integrator=dataclasses.replace(q.integrator, dt=dt))

    assert _ladder_keys(small, monkeypatch, explicit_dt) == rk4
    assert set(rk4).isdisjoint(_keys(small))  # another method, other numbers

    def half_dt(q):
        q = explicit_dt(q)
        return dataclasses.replace(q, integrator=dataclasses.replace(q.integrator, dt=q.integrator.dt / 2))

    assert set(_ladder_keys(small, monkeypatch, half_dt)).isdisjoint(rk4)


def test_formulation_is_resolved_before_keying(small, monkeypatch):
    base = _ladder_keys(small, monkeypatch, lambda q: q)
    chosen = _ladder_keys(
        small, monkeypatch, lambda q: dataclasses.replace(q, formulation=resolve(q).formulation)
    )
    assert chosen == base

    def other(q):
        name = resolve(q).formulation
        return dataclasses.replace(q, formulation="data-w" if name != "data-w" else "covariance-w")

    assert set(_ladder_keys(small, monkeypatch, other)).isdisjoint(base)


# -- an edited kernel misses ----------------------------------------------------------------------
def test_source_digest_changes_when_a_kernel_is_edited(tmp_path, fresh_digests):
    sim = _copy_tree(SIMULATION, tmp_path / "simulation")
    tasks = tmp_path / "tasks.py"
    shutil.copy2(TASKS, tasks)
    real = source_digest(SIMULATION, TASKS)
    assert source_digest(sim, tasks) == real  # only relative paths and bytes count
    _append_comment(sim / "kernels.py")
    source_digest.cache_clear()
    edited = source_digest(sim, tasks)
    assert edited != real
    _append_comment(tasks)
    source_digest.cache_clear()
    assert source_digest(sim, tasks) not in (real, edited)
    (sim / "kernels.py").rename(sim / "kernels2.py")  # a renamed module is another package
    source_digest.cache_clear()
    assert source_digest(sim, tasks) not in (real, edited)


def test_runner_keys_use_the_simulation_sources(small, tmp_path, monkeypatch, fresh_digests):
    original = _keys(small)
    sim = _copy_tree(SIMULATION, tmp_path / "simulation")
    monkeypatch.setattr(fpmod, "_SIMULATION", sim)
    source_digest.cache_clear()
    assert _keys(small) == original  # an unedited copy: same sources, same keys
    _append_comment(sim / "kernels.py")
    source_digest.cache_clear()
    edited = _keys(small)
    assert set(edited).isdisjoint(original)


def test_runner_keys_use_the_task_module_source(small, tmp_path, monkeypatch, fresh_digests):
    original = _keys(small)
    tasks = tmp_path / "tasks.py"
    shutil.copy2(TASKS, tasks)
    monkeypatch.setattr(fpmod, "_TASKS", tasks)
    source_digest.cache_clear()
    assert _keys(small) == original
    _append_comment(tasks)
    source_digest.cache_clear()
    assert set(_keys(small)).isdisjoint(original)


def test_runner_keys_use_the_backend_package_source(small, tmp_path, monkeypatch, fresh_digests):
    original = _keys(small)
    backend = tmp_path / "numpy_backend.py"
    shutil.copy2(NUMPY_BACKEND, backend)
    monkeypatch.setattr(fpmod, "_package_root", lambda sim: backend)
    source_digest.cache_clear()
    assert _keys(small) == original
    _append_comment(backend)
    source_digest.cache_clear()
    assert set(_keys(small)).isdisjoint(original)


@pytest.mark.slow
def test_an_edited_kernel_resimulates(small, tmp_path, monkeypatch, fresh_digests):
    cache = tmp_path / "cache"
    sim = _copy_tree(SIMULATION, tmp_path / "simulation")
    monkeypatch.setattr(fpmod, "_SIMULATION", sim)
    source_digest.cache_clear()
    first = _validate(small, cache)
    assert first.cache["misses"] == N_TASKS
    _append_comment(sim / "kernels.py")
    source_digest.cache_clear()
    again = _validate(small, cache)
    assert again.cache["hits"] == 0 and again.cache["misses"] == N_TASKS
    assert again.cache["rejected"] == []


# -- prismcat cache info | clear --------------------------------------------------------------------
def _cli_json(capsys, *argv) -> dict:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_cache_info_and_clear(small, tmp_path, capsys):
    cache = tmp_path / "cache"
    _validate(small, cache)
    files = sorted(cache.glob("*/*.npz"))
    assert len(files) == N_TASKS
    size = sum(f.stat().st_size for f in files)

    info = _cli_json(capsys, "cache", "info", "--cache-dir", str(cache), "--json")
    assert info["files"] == N_TASKS and info["bytes"] == size
    assert info["root"] == str(cache)
    assert info["oldest"] and info["newest"] and info["oldest"] <= info["newest"]

    assert main(["cache", "info", "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out
    assert f"{N_TASKS} file(s)" in out and str(cache) in out

    # nothing is a day old yet
    assert _cli_json(capsys, "cache", "clear", "--older-than", "1d", "--cache-dir", str(cache), "--json") == {
        "files": 0,
        "bytes": 0,
    }
    assert len(list(cache.glob("*/*.npz"))) == N_TASKS
    assert main(["cache", "clear", "--older-than", "7d", "--cache-dir", str(cache)]) == 0
    assert "removed 0 file(s)" in capsys.readouterr().out

    # two files last touched two days ago go, the others stay (and are still hits)
    old = time.time() - 2 * 86400
    for f in files[:2]:
        os.utime(f, (old, old))
    old_bytes = sum(f.stat().st_size for f in files[:2])
    gone = _cli_json(capsys, "cache", "clear", "--older-than", "1d", "--cache-dir", str(cache), "--json")
    assert gone == {"files": 2, "bytes": old_bytes}
    assert sorted(cache.glob("*/*.npz")) == files[2:]
    again = _validate(small, cache)
    assert (again.cache["hits"], again.cache["misses"]) == (N_TASKS - 2, 2)

    # clear without an age removes everything, temporary leftovers and empty folders included
    (files[2].parent / ".tmp-leftover").write_bytes(b"half a file")
    info = _cli_json(capsys, "cache", "info", "--cache-dir", str(cache), "--json")
    assert info["files"] == N_TASKS  # a temporary file is not a cache file
    total = info["bytes"]
    gone = _cli_json(capsys, "cache", "clear", "--cache-dir", str(cache), "--json")
    assert gone == {"files": N_TASKS + 1, "bytes": total + len(b"half a file")}
    assert list(cache.iterdir()) == []
    info = _cli_json(capsys, "cache", "info", "--cache-dir", str(cache), "--json")
    assert info["files"] == 0 and info["bytes"] == 0 and info["oldest"] is None
    assert main(["cache", "clear", "--cache-dir", str(cache)]) == 0
    assert "removed 0 file(s)" in capsys.readouterr().out
    assert _validate(small, cache).cache["misses"] == N_TASKS


@pytest.mark.slow
def test_cache_clear_older_than_counts_the_bytes_it_frees(small, tmp_path, capsys):
    cache = tmp_path / "cache"
    _validate(small, cache)
    files = sorted(cache.glob("*/*.npz"))
    old = time.time() - 3 * 3600
    for f in files[:3]:
        os.utime(f, (old, old))
    expected = sum(f.stat().st_size for f in files[:3])
    gone = _cli_json(capsys, "cache", "clear", "--older-than", "2h", "--cache-dir", str(cache), "--json")
    assert gone == {"files": 3, "bytes": expected}
    assert sorted(cache.glob("*/*.npz")) == files[3:]


@pytest.mark.slow
def test_cache_clear_older_than_spares_files_a_run_just_used(small, tmp_path, capsys):
    """``--older-than`` is documented as "only files not used for this long": a file written two
    days ago and hit by a validation a moment ago has just been used, and must stay."""
    cache = tmp_path / "cache"
    _validate(small, cache)
    old = time.time() - 2 * 86400
    for f in cache.glob("*/*.npz"):
        os.utime(f, (old, old))
    used = _validate(small, cache)
    assert used.cache["hits"] == N_TASKS  # every file was just used
    gone = _cli_json(capsys, "cache", "clear", "--older-than", "1d", "--cache-dir", str(cache), "--json")
    assert gone["files"] == 0, f"clear --older-than 1d removed {gone['files']} file(s) used a moment ago"
    assert len(list(cache.glob("*/*.npz"))) == N_TASKS


def test_cache_commands_on_a_missing_folder(tmp_path, capsys):
    missing = tmp_path / "never-made"
    info = _cli_json(capsys, "cache", "info", "--cache-dir", str(missing), "--json")
    assert info["files"] == 0 and info["bytes"] == 0
    assert _cli_json(capsys, "cache", "clear", "--cache-dir", str(missing), "--json") == {
        "files": 0,
        "bytes": 0,
    }
    assert not missing.exists()


@pytest.mark.parametrize("age", ["abc", "-1d", "1w", "nand", "infd"])
def test_cache_clear_rejects_a_bad_age(tmp_path, capsys, age):
    with pytest.raises(SystemExit) as exc:
        main(["cache", "clear", f"--older-than={age}", "--cache-dir", str(tmp_path)])
    assert exc.value.code == 2
    assert "bad age" in capsys.readouterr().err
