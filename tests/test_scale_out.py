"""The Dask executor: identical results to the in-process run, surviving a killed worker, and
sharing the cache (a re-submitted sweep skips finished tasks). LocalCluster on loopback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from prismcat.catalog import load_catalog
from prismcat.validation.cache import DiskCache
from prismcat.validation.executors import DaskExecutor
from prismcat.validation.records import to_records
from prismcat.validation.runner import validate

SMALL = Path(__file__).parent / "data" / "small_catalog"


@pytest.fixture
def small(tmp_path) -> Path:
    """The small catalogue (2 entries x 4 rungs x 12 seeds: enough tasks, with seeds_per_task=1,
    for one to be caught running)."""
    root = tmp_path / "catalog"
    shutil.copytree(SMALL, root)
    return root


@pytest.fixture(scope="module")
def dask_executor():
    ex = DaskExecutor(workers=2)
    yield ex
    ex.close()


def records(v) -> str:
    data = to_records(v)
    data.pop("timing")
    return json.dumps(data, sort_keys=True)


@pytest.mark.slow
def test_dask_gives_results_identical_to_in_process(small, dask_executor):
    cat = load_catalog(small)
    local = validate(cat, progress=False)
    remote = validate(cat, progress=False, executor=dask_executor)
    assert remote.ok
    assert records(remote) == records(local)


@pytest.mark.slow
def test_seed_batches_become_separate_tasks(small, dask_executor):
    cat = load_catalog(small)
    whole = validate(cat, progress=False, executor=dask_executor)
    split = validate(cat, progress=False, executor=dask_executor, seeds_per_task=1)
    assert split.ok
    for a, b in zip(whole.runs, split.runs, strict=True):
        assert [m.point.N for m in a.measurements] == [m.point.N for m in b.measurements]
        assert all(m.losses["train"].curves.shape[0] == 12 for m in b.measurements)


@pytest.mark.slow
def test_a_killed_worker_is_survived_and_nothing_is_lost(small, tmp_path, dask_executor):
    cat = load_catalog(small)
    # the same tasks in this process (one seed per task: the batch fixes the adaptive steps)
    expected = records(validate(cat, progress=False, cache=DiskCache(None), seeds_per_task=1))
    pids = dask_executor.client.run(os.getpid)
    victim = sorted(pids.values())[0]

    def kill_soon():
        time.sleep(1.0)
        os.kill(victim, signal.SIGKILL)

    killer = threading.Thread(target=kill_soon)
    killer.start()
    v = validate(
        cat, progress=False, executor=dask_executor, cache=DiskCache(tmp_path / "cache"), seeds_per_task=1
    )
    killer.join()
    assert v.seconds > 1.5, "the sweep ended before the worker was killed"
    dask_executor.client.wait_for_workers(2, timeout=60)
    assert victim not in dask_executor.client.run(os.getpid).values()  # it really died (and was replaced)
    assert v.ok
    assert records(v) == expected
    # re-submitting the same sweep finds every task in the cache
    again = validate(
        cat, progress=False, executor=dask_executor, cache=DiskCache(tmp_path / "cache"), seeds_per_task=1
    )
    assert again.cache["misses"] == 0 and again.cache["hits"] == 96


@pytest.mark.slow
def test_cli_dask_executor(small, tmp_path, capsys):
    from prismcat.cli import main

    code = main(
        [
            "validate",
            "--catalog",
            str(small),
            "--executor",
            "dask",
            "--workers",
            "2",
            "--report",
            str(tmp_path / "r"),
            "--no-progress",
            "--cache-dir",
            str(tmp_path / "c"),
        ]
    )
    assert code == 0, capsys.readouterr()
    assert json.loads((tmp_path / "r" / "results.json").read_text())["status"] == "pass"
