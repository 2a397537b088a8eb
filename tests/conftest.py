"""Shared fixtures: the packaged catalogue and a scratch catalogue builder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# YAML files here are test inputs, not catalogue items for the prismcat pytest plugin.
collect_ignore_glob = ["corpus/*.yaml", "data/*/*.yaml"]

# Under pytest-xdist each worker is one of the cores already: a validation inside a test runs its
# simulations in the worker's own process unless the test asks for a pool (jobs=2, --jobs 2).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("PRISMCAT_JOBS", "1")
    # ... and so are the thread pools of the libraries a test calls in-process. torch's OpenMP
    # pool and XLA's take every core by default and spin while they wait: with the other worker
    # busy, a torch test of 0.2 s took 24-29 s in the full tier. Set before either is imported.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "catalog"


@pytest.fixture(scope="session")
def catalog():
    import prismcat

    cat = prismcat.load_catalog(CATALOG)
    assert not cat.problems, "\n".join(map(str, cat.problems))
    return cat


@pytest.fixture
def entry_text():
    """The text of a packaged entry file, for tests that mutate it."""

    def read(entry_id: str) -> str:
        matches = list(CATALOG.rglob(f"{entry_id}.yaml"))
        assert matches, entry_id
        return matches[0].read_text()

    return read


SMALL = Path(__file__).parent / "data" / "small_catalog"


@pytest.fixture
def small(tmp_path) -> Path:
    """A scratch copy of the two-entry test catalogue (mean-field face and its large-data edge)."""
    root = tmp_path / "catalog"
    shutil.copytree(SMALL, root)
    return root


def edit_yaml(path: Path, change) -> None:
    """Apply ``change`` to the parsed YAML at ``path`` and write it back."""
    import yaml

    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def records_text(v) -> str:
    """A validation's results.json content without its one wall-clock field, as canonical text."""
    import json

    from prismcat.validation.records import to_records

    data = to_records(v)
    data.pop("timing")
    return json.dumps(data, sort_keys=True)


def validate_in_process(catalog: Path, cache_dir: Path, **kw):
    """Validate the catalogue folder in this process (no pool start-up) with a disk cache."""
    from prismcat.catalog import load_catalog
    from prismcat.validation.cache import DiskCache
    from prismcat.validation.executors import InProcessExecutor
    from prismcat.validation.runner import validate

    return validate(
        load_catalog(catalog), progress=False, cache=DiskCache(cache_dir), executor=InProcessExecutor(), **kw
    )
