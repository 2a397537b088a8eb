"""A hostile-cache corpus: every way a cache file can be damaged is a miss, never a crash, never a
wrong hit.

A first validation fills the cache folder; one file is then damaged (truncated, swapped with
another key's, rewritten with other arrays, shapes, values or metadata, replaced by garbage, a
directory or a dangling symlink), or the folder is made unwritable. The second validation must
complete with results identical to a run on an empty cache, count the damaged file as a miss and
say why in ``v.cache["rejected"]`` (or, for an unwritable folder, in ``v.cache["write_error"]``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import types
from pathlib import Path

import numpy as np
import pytest

from prismcat import files as files_mod
from prismcat import load_catalog
from prismcat.cli import main
from prismcat.validation.cache import META, DiskCache
from prismcat.validation.design import settings_for
from prismcat.validation.plan import plan_tasks, simulation_fingerprint

from .conftest import SMALL, records_text, validate_in_process

N_TASKS = 16  # two entries, four rungs each, two seed blocks per rung (12 seeds: 8 + 4)


# -- helpers --------------------------------------------------------------------------------------
_validate = validate_in_process
_records = records_text


def _tasks(catalog: Path):
    fp = simulation_fingerprint("numpy")
    cat = load_catalog(catalog)
    return [t for e in cat for t in plan_tasks(e, settings_for(e), "numpy", None, fp)]


def _load(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    meta = json.loads(bytes(arrays.pop(META)).decode())
    return arrays, meta


def _save(path: Path, arrays: dict[str, np.ndarray], meta: dict | None) -> None:
    extra = {} if meta is None else {META: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    with path.open("wb") as f:
        np.savez(f, **arrays, **extra)


def _rewrite(path: Path, arrays=None, meta=None, drop_meta: bool = False) -> None:
    """Rewrite a valid file with some arrays or metadata replaced (callables of the old ones)."""
    old_arrays, old_meta = _load(path)
    new_arrays = arrays(old_arrays) if arrays else old_arrays
    new_meta = None if drop_meta else (meta(old_meta) if meta else old_meta)
    _save(path, new_arrays, new_meta)


# -- the corpus -----------------------------------------------------------------------------------
# Each damage gets (target, other, target_task, other_task) and returns how many tasks miss.
def truncate_half(target, other, task, other_task):
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return 1


def truncate_empty(target, other, task, other_task):
    target.write_bytes(b"")
    return 1


def other_key_moved_in(target, other, task, other_task):
    # a valid file with the same array names and shapes, for another key; the other task misses
    # too, since its own file is gone (a plain miss, not a rejection)
    os.replace(other, target)
    return 2


def wrong_array_names(target, other, task, other_task):
    _rewrite(target, arrays=lambda a: {f"old_{k}": v for k, v in a.items()})
    return 1


def missing_array(target, other, task, other_task):
    _rewrite(target, arrays=lambda a: {k: v for k, v in a.items() if k != "trS"})
    return 1


def extra_array(target, other, task, other_task):
    _rewrite(target, arrays=lambda a: {**a, "seconds": np.array(1.0)})
    return 1


def wrong_shapes(target, other, task, other_task):
    _rewrite(target, arrays=lambda a: {**a, "train": a["train"][:, :-1]})
    return 1


def transposed_curves(target, other, task, other_task):
    _rewrite(target, arrays=lambda a: {**a, "population": a["population"].T.copy()})
    return 1


def integer_curves(target, other, task, other_task):
    _rewrite(target, arrays=lambda a: {**a, "train": np.zeros(a["train"].shape, dtype=np.int64)})
    return 1


def nan_curves(target, other, task, other_task):
    def poison(a):
        train = a["train"].copy()
        train[0, train.shape[1] // 2] = np.nan
        return {**a, "train": train}

    _rewrite(target, arrays=poison)
    return 1


def inf_initial_loss(target, other, task, other_task):
    _rewrite(target, arrays=lambda a: {**a, "population0": np.full_like(a["population0"], np.inf)})
    return 1


def meta_names_another_key(target, other, task, other_task):
    _rewrite(target, meta=lambda m: {**m, "key": other_task.key})
    return 1


def meta_other_format(target, other, task, other_task):
    _rewrite(target, meta=lambda m: {**m, "format": m["format"] - 1})
    return 1


def meta_other_problems(target, other, task, other_task):
    _rewrite(target, meta=lambda m: {**m, "problems": list(other_task.digests)})
    return 1


def meta_not_json(target, other, task, other_task):
    arrays, _ = _load(target)
    with target.open("wb") as f:
        np.savez(f, **arrays, **{META: np.frombuffer(b"\xff\xfe not json", dtype=np.uint8)})
    return 1


def meta_not_a_record(target, other, task, other_task):
    arrays, _ = _load(target)
    with target.open("wb") as f:
        np.savez(f, **arrays, **{META: np.frombuffer(b"[1, 2, 3]", dtype=np.uint8)})
    return 1


def no_meta_old_format(target, other, task, other_task):
    _rewrite(target, drop_meta=True)
    return 1


def random_garbage(target, other, task, other_task):
    size = target.stat().st_size
    target.write_bytes(random.Random(0).randbytes(size))
    return 1


def a_plain_npy(target, other, task, other_task):
    arrays, _ = _load(target)
    with target.open("wb") as f:
        np.save(f, arrays["train"])
    return 1


def directory_in_place(target, other, task, other_task):
    target.unlink()
    target.mkdir()
    return 1


def dangling_symlink(target, other, task, other_task):
    target.unlink()
    target.symlink_to(target.parent / "gone" / "nowhere.npz")
    return 1


DAMAGES = [
    truncate_half,
    truncate_empty,
    other_key_moved_in,
    wrong_array_names,
    missing_array,
    extra_array,
    wrong_shapes,
    transposed_curves,
    integer_curves,
    nan_curves,
    inf_initial_loss,
    meta_names_another_key,
    meta_other_format,
    meta_other_problems,
    meta_not_json,
    meta_not_a_record,
    no_meta_old_format,
    random_garbage,
    a_plain_npy,
    directory_in_place,
    dangling_symlink,
]


@pytest.fixture(scope="module")
def first_fill(tmp_path_factory):
    """One first validation of the small catalogue into a fresh cache, for the whole module: the
    catalogue, the filled cache and that validation's records (tests work on copies)."""
    root = tmp_path_factory.mktemp("first-fill")
    catalog = root / "catalog"
    shutil.copytree(SMALL, catalog)
    cache = root / "cache"
    first = _validate(catalog, cache)
    assert first.cache["misses"] == N_TASKS and first.cache["rejected"] == []
    assert all(r.status == "pass" for r in first.runs)
    return catalog, cache, _records(first)


@pytest.fixture
def filled(first_fill, small, tmp_path):
    """A catalogue, its cache filled by a first validation, and that validation's records: a copy
    of the module's one first fill (the keys do not depend on where the catalogue lies), and the
    records of this catalogue's validation from it (every task a hit: the same numbers)."""
    _, master, first = first_fill
    cache = tmp_path / "cache"
    shutil.copytree(master, cache)
    again = _validate(small, cache)
    assert again.cache["hits"] == N_TASKS and again.cache["rejected"] == []
    assert json.loads(_records(again))["entries"][0]["checks"] == json.loads(first)["entries"][0]["checks"]
    return small, cache, _records(again)


def _target(catalog: Path, cache: Path):
    """The first task of mean-field and the next rung of the same entry: same array names and
    shapes, different key (so only the metadata tells their files apart)."""
    tasks = _tasks(catalog)
    task = tasks[0]
    other_task = next(
        t for t in tasks if (t.entry_id, t.index, t.part) == (task.entry_id, task.index + 1, task.part)
    )
    assert task.entry_id == other_task.entry_id and task.key != other_task.key
    assert task.expected().shapes == other_task.expected().shapes
    dc = DiskCache(cache)
    target, other = dc.path(task.key), dc.path(other_task.key)
    assert target.is_file() and other.is_file()
    return task, other_task, target, other


@pytest.mark.slow
@pytest.mark.parametrize("damage", DAMAGES, ids=[d.__name__ for d in DAMAGES])
def test_a_damaged_file_is_a_miss_with_its_reason(filled, damage):
    catalog, cache, expected = filled
    task, other_task, target, other = _target(catalog, cache)
    misses = damage(target, other, task, other_task)

    again = _validate(catalog, cache)  # (a) completes, (d) does not raise

    assert _records(again) == expected  # (b) identical to a run on an empty cache
    assert (again.cache["hits"], again.cache["misses"]) == (N_TASKS - misses, misses)  # (c)
    rejected = again.cache["rejected"]
    assert rejected, "the damaged file is not reported"
    assert all(r.startswith(str(target)) for r in rejected), rejected
    assert again.cache["write_error"] is None
    assert all(r.status == "pass" for r in again.runs)

    # the recomputed value replaced the damaged file (except a directory, which stays)
    third = _validate(catalog, cache)
    assert _records(third) == expected
    if damage is directory_in_place:
        assert target.is_dir()
        assert (third.cache["hits"], third.cache["misses"]) == (N_TASKS - 1, 1)
        assert any("directory" in r for r in rejected), rejected
        assert any("not cached" in r for r in third.cache["rejected"]), third.cache["rejected"]
    else:
        assert target.is_file() and not target.is_symlink()
        assert (third.cache["hits"], third.cache["misses"]) == (N_TASKS, 0)
        assert third.cache["rejected"] == []


def test_a_damaged_file_is_never_a_hit_through_the_cache_api(filled):
    """DiskCache.get itself: every damage gives None, one miss and one reason, no hit."""
    catalog, cache, _ = filled
    task, other_task, target, other = _target(catalog, cache)
    for damage in DAMAGES:
        if damage in (other_key_moved_in, directory_in_place, dangling_symlink):
            continue  # these change the folder itself; covered above
        good = target.read_bytes()
        damage(target, other, task, other_task)
        dc = DiskCache(cache)
        assert dc.get(task.key, task.expected()) is None, damage.__name__
        assert (dc.hits, dc.misses, len(dc.rejected)) == (0, 1, 1), damage.__name__
        target.write_bytes(good)
        dc = DiskCache(cache)
        assert dc.get(task.key, task.expected()) is not None and dc.rejected == []


def test_a_young_temporary_file_is_never_read_and_an_old_one_is_swept(filled):
    catalog, cache, expected = filled
    _, _, target, _ = _target(catalog, cache)
    young = target.parent / ".tmp-young"
    old = target.parent / ".tmp-old"
    young.write_bytes(target.read_bytes()[:100])
    old.write_bytes(b"left by a killed run")
    past = os.stat(old).st_mtime - 2 * DiskCache.STALE_SECONDS
    os.utime(old, (past, past))
    target.unlink()  # only the final name is ever read: the task misses
    again = _validate(catalog, cache)
    assert _records(again) == expected
    assert (again.cache["hits"], again.cache["misses"]) == (N_TASKS - 1, 1)
    assert again.cache["rejected"] == []
    assert young.exists() and not old.exists()
    assert target.is_file()


# -- an unwritable cache folder -------------------------------------------------------------------
def _deny_writes(monkeypatch, root: Path) -> list[str]:
    """Make temporary-file creation under ``root`` fail as in a read-only folder (tests run as
    root in CI, where chmod does not stop writes); elsewhere (the report, which shares
    write_atomic) it works. Returns the folders of the refused attempts."""
    attempts: list[str] = []
    real = files_mod.tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        folder = Path(kwargs.get("dir") or ".").resolve()
        if folder == root.resolve() or root.resolve() in folder.parents:
            attempts.append(str(folder))
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)

    fake = types.SimpleNamespace(**{**vars(files_mod.tempfile), "mkstemp": mkstemp})
    monkeypatch.setattr(files_mod, "tempfile", fake)
    return attempts


@pytest.mark.slow
@pytest.mark.parametrize("state", ["empty", "one-file-missing"])
def test_an_unwritable_cache_folder_is_reported_and_the_run_completes(small, tmp_path, monkeypatch, state):
    expected = _records(_validate(small, tmp_path / "reference"))
    cache = tmp_path / "cache"
    if state == "empty":
        cache.mkdir()
        misses = N_TASKS
    else:
        _validate(small, cache)
        task = _tasks(small)[0]
        DiskCache(cache).path(task.key).unlink()
        misses = 1
    before = sorted(cache.rglob("*.npz"))
    attempts = _deny_writes(monkeypatch, cache)

    v = _validate(small, cache)

    assert _records(v) == expected
    assert (v.cache["hits"], v.cache["misses"]) == (N_TASKS - misses, misses)
    error = v.cache["write_error"]
    assert error and str(cache) in error and "Permission denied" in error
    assert v.cache["rejected"] == []
    assert len(attempts) == 1  # reported once, then the run goes on uncached
    assert sorted(cache.rglob("*.npz")) == before
    assert not list(cache.rglob(".tmp-*"))


def _chmod_protects() -> bool:
    """Whether a 0o555 folder stops this process from writing (not as root, or root without
    CAP_DAC_OVERRIDE)."""
    if os.geteuid() == 0:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "ro"
            folder.mkdir()
            folder.chmod(0o555)
            try:
                (folder / "probe").write_bytes(b"")
            except PermissionError:
                return True
            finally:
                folder.chmod(0o755)
            return False
    return True


CHMOD_PROTECTS = _chmod_protects()
needs_chmod = pytest.mark.skipif(not CHMOD_PROTECTS, reason="this user writes through chmod 0o555 (root)")


def _chmod_tree(root: Path, mode: int) -> None:
    for p in [root, *root.rglob("*")]:
        if p.is_dir():
            p.chmod(mode)


@needs_chmod
@pytest.mark.parametrize("state", ["empty", "one-file-missing"])
def test_a_read_only_cache_folder_is_reported_and_the_run_completes(small, tmp_path, state):
    expected = _records(_validate(small, tmp_path / "reference"))
    cache = tmp_path / "cache"
    if state == "empty":
        cache.mkdir()
        misses = N_TASKS
    else:
        _validate(small, cache)
        DiskCache(cache).path(_tasks(small)[0].key).unlink()
        misses = 1
    before = sorted(cache.rglob("*.npz"))
    ro = stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    _chmod_tree(cache, ro)
    try:
        v = _validate(small, cache)
    finally:
        _chmod_tree(cache, 0o755)
    assert _records(v) == expected
    assert (v.cache["hits"], v.cache["misses"]) == (N_TASKS - misses, misses)
    error = v.cache["write_error"]
    assert error and str(cache) in error
    assert v.cache["rejected"] == []
    assert sorted(cache.rglob("*.npz")) == before


# -- the command line says so ---------------------------------------------------------------------
def _cli_validate(catalog: Path, cache: Path, report: Path) -> list[str]:
    return [
        "validate",
        "--catalog",
        str(catalog),
        "--cache-dir",
        str(cache),
        "--report",
        str(report),
        "--no-progress",
        "--executor",
        "in-process",
    ]


def _results(report: Path) -> str:
    data = json.loads((report / "results.json").read_text())
    data.pop("timing")
    return json.dumps(data, sort_keys=True)


def test_cli_warns_about_unusable_cache_files(filled, tmp_path, capsys):
    catalog, cache, expected = filled
    task, other_task, target, other = _target(catalog, cache)
    random_garbage(target, other, task, other_task)
    capsys.readouterr()
    code = main(_cli_validate(catalog, cache, tmp_path / "report"))
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "warning:" in err and "unusable" in err and str(target) in err
    assert _results(tmp_path / "report") == expected
    # a clean cache: no warning
    code = main(_cli_validate(catalog, cache, tmp_path / "report2"))
    out, err = capsys.readouterr()
    assert code == 0 and "unusable" not in err and "cannot write" not in err


@pytest.mark.slow
def test_cli_warns_about_an_unwritable_cache_folder(small, tmp_path, monkeypatch, capsys):
    expected = _records(_validate(small, tmp_path / "reference"))
    cache = tmp_path / "cache"
    cache.mkdir()
    _deny_writes(monkeypatch, cache)
    capsys.readouterr()
    code = main(_cli_validate(small, cache, tmp_path / "report"))
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "warning:" in err and "cannot write to the cache folder" in err and str(cache) in err
    assert err.count("cannot write to the cache folder") == 1
    assert _results(tmp_path / "report") == expected


# -- damage to the folder structure, not to one file ----------------------------------------------
@pytest.mark.slow
def test_a_file_where_the_key_subfolder_should_be_spoils_only_that_key(small, tmp_path):
    """A plain file stands where the two-letter subfolder of one key goes. That key cannot be
    cached; it must be reported like a directory standing in place of a file, and every other
    result of the run must still be cached (the folder itself is writable)."""
    expected = _records(_validate(small, tmp_path / "reference"))
    cache = tmp_path / "cache"
    cache.mkdir()
    tasks = _tasks(small)
    sub = DiskCache(cache).path(tasks[0].key).parent
    assert all(DiskCache(cache).path(t.key).parent != sub for t in tasks[1:])
    sub.write_bytes(b"not a folder")

    v = _validate(small, cache)

    assert _records(v) == expected
    assert (v.cache["hits"], v.cache["misses"]) == (0, N_TASKS)
    assert v.cache["write_error"] is None, v.cache["write_error"]
    assert any(r.startswith(str(sub)) for r in v.cache["rejected"]), v.cache["rejected"]
    others = [DiskCache(cache).path(t.key) for t in tasks[1:]]
    assert all(p.is_file() for p in others), "other results of the run were not cached"


def _unsearchable(monkeypatch, folder: Path) -> None:
    """Make ``folder`` behave as a folder this user may not enter: stat of anything in it fails
    with EACCES, as with mode 0o000 for a non-root user (Path.exists raises PermissionError)."""
    real_stat = os.stat
    real_lstat = os.lstat
    inside = str(folder) + os.sep

    def guard(real):
        def stat(path, *args, **kwargs):
            if str(path).startswith(inside):
                raise PermissionError(13, "Permission denied", str(path))
            return real(path, *args, **kwargs)

        return stat

    monkeypatch.setattr(os, "stat", guard(real_stat))
    monkeypatch.setattr(os, "lstat", guard(real_lstat))


def test_a_subfolder_that_cannot_be_entered_is_a_miss_not_a_crash(filled, monkeypatch):
    catalog, cache, expected = filled
    _, _, target, _ = _target(catalog, cache)
    _unsearchable(monkeypatch, target.parent)
    v = _validate(catalog, cache)  # must not raise
    monkeypatch.undo()
    assert _records(v) == expected
    assert (v.cache["hits"], v.cache["misses"]) == (N_TASKS - 1, 1)
    assert any(r.startswith(str(target)) for r in v.cache["rejected"]), v.cache["rejected"]


@needs_chmod
def test_a_subfolder_with_mode_000_is_a_miss_not_a_crash(filled):
    catalog, cache, expected = filled
    _, _, target, _ = _target(catalog, cache)
    target.parent.chmod(0)
    try:
        v = _validate(catalog, cache)  # must not raise
    finally:
        target.parent.chmod(0o755)
    assert _records(v) == expected
    assert (v.cache["hits"], v.cache["misses"]) == (N_TASKS - 1, 1)
    assert any(r.startswith(str(target)) for r in v.cache["rejected"]), v.cache["rejected"]


@needs_chmod
def test_an_unreadable_file_is_a_miss_with_its_reason(filled):
    catalog, cache, expected = filled
    _, _, target, _ = _target(catalog, cache)
    target.chmod(0)
    try:
        v = _validate(catalog, cache)
    finally:
        target.chmod(0o644)
    assert _records(v) == expected
    assert (v.cache["hits"], v.cache["misses"]) == (N_TASKS - 1, 1)
    assert any(r.startswith(str(target)) for r in v.cache["rejected"]), v.cache["rejected"]


@pytest.mark.slow
@pytest.mark.parametrize("damage", [directory_in_place, dangling_symlink], ids=lambda d: d.__name__)
def test_cache_clear_removes_what_a_warning_points_at(filled, capsys, damage):
    """After 'a directory stands where this cache file goes; not cached', ``prismcat cache clear``
    is the remedy: it must leave nothing cache-shaped behind (an empty folder or a symlink named
    like a cache file is the cache's own litter, not user data)."""
    catalog, cache, _ = filled
    task, other_task, target, other = _target(catalog, cache)
    damage(target, other, task, other_task)
    assert main(["cache", "clear", "--cache-dir", str(cache)]) == 0
    capsys.readouterr()
    left = sorted(str(p.relative_to(cache)) for p in cache.rglob("*"))
    assert left == [], left
    v = _validate(catalog, cache)
    assert v.cache["rejected"] == [] and v.cache["misses"] == N_TASKS
