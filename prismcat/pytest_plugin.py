"""pytest integration: ``pytest catalog/`` collects every YAML regime as a test item that runs its
checkers at the quick profile; a failure prints the error-vs-N table.

Options: ``--prismcat-backend NAME`` (default numpy), ``--prismcat-profile quick|thorough``,
``--prismcat-no-cache``. Only YAML files that look like entries (top-level ``id``, ``scaling``,
``losses``) are collected, so other YAML files in a project are left alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prismcat.catalog.loader import load_catalog
from prismcat.settings import DEFAULT_CACHE_DIR, PROFILES, OptionError, RunOptions
from prismcat.validation.cache import DiskCache
from prismcat.validation.runner import validate


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prismcat")
    defaults = RunOptions(progress=False)
    group.addoption(
        "--prismcat-backend",
        default=defaults.backend,
        help="simulator backend for catalogue items (NAME[:KEY=VALUE,...])",
    )
    group.addoption("--prismcat-profile", default=defaults.profile, choices=list(PROFILES))
    group.addoption("--prismcat-no-cache", action="store_true", help="recompute simulated curves")
    group.addoption(
        "--prismcat-jobs",
        type=int,
        default=1,
        help="worker processes per catalogue item (default 1: simulate in the test process; "
        "pytest-xdist's -n spreads the items themselves)",
    )


def run_options(config: pytest.Config) -> RunOptions:
    """The run settings of this pytest session's ``--prismcat-*`` options (checked up front)."""
    return RunOptions(
        backend=config.getoption("prismcat_backend"),
        profile=config.getoption("prismcat_profile"),
        jobs=config.getoption("prismcat_jobs"),
        progress=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        run_options(config)
    except OptionError as exc:  # a bad option stops the session before any item runs
        text = str(exc)  # the settings name the CLI's flags; this session's flags are prefixed
        raise pytest.UsageError("--prismcat-" + text[2:] if text.startswith("--") else text) from None


def _looks_like_entry(path: Path) -> bool:
    if path.suffix not in (".yaml", ".yml") or not path.is_file():
        return False
    try:
        with open(path, "rb") as f:  # the head only: a huge file costs nothing here
            head = f.read(20000).decode("utf-8", errors="replace")
    except OSError:
        return False
    keys = {line.split(":", 1)[0] for line in head.splitlines() if line[:1].isalpha() and ":" in line}
    return {"id", "scaling", "losses"} <= keys


def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if _looks_like_entry(file_path):
        return EntryFile.from_parent(parent, path=file_path)
    return None


class EntryFile(pytest.File):
    def collect(self):
        yield EntryItem.from_parent(self, name=self.path.stem)


class CatalogueFailure(Exception):
    """A catalogue entry that failed validation (its report is the failure text)."""


class EntryItem(pytest.Item):
    def runtest(self) -> None:
        root = _catalogue_root(self.path)
        cat = load_catalog(root)
        mine = [e for e in cat if Path(e.file or "").resolve() == self.path.resolve()]
        if not mine:
            problems = [
                str(p) for p in cat.problems if Path(p.location.file or "").resolve() == self.path.resolve()
            ]
            raise CatalogueFailure("\n".join(problems) or "the file holds no valid entry")
        cfg = self.config
        cache = DiskCache(
            None if cfg.getoption("prismcat_no_cache") else Path(cfg.rootpath) / DEFAULT_CACHE_DIR
        )
        v = validate(cat, [mine[0].id], options=run_options(cfg), cache=cache)
        run = v.runs[0]
        self.user_properties.append(("status", run.status))
        if run.status != "pass":
            raise CatalogueFailure(_failure_text(run))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CatalogueFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"prismcat entry {self.name}"


def _catalogue_root(path: Path) -> Path:
    """The catalogue that holds ``path``: the nearest ancestor named 'catalog', else its folder."""
    for parent in path.resolve().parents:
        if parent.name == "catalog":
            return parent
    return path.resolve().parent


def _failure_text(run) -> str:
    lines = [f"{run.entry.id} ({run.entry.cell.id}): {run.status}"]
    if run.error:
        lines.append(f"  {run.error}")
    for c in run.checks:
        lines.append(f"  [{c.status}] {c.checker}: {c.message}")
    table = next(
        (c.table for c in run.checks if c.table),
        [],
    )
    if table:
        cols = list(dict.fromkeys(k for r in table for k in r))
        lines.append("  error vs N:")
        lines.append("    " + "  ".join(f"{c:>11}" for c in cols))
        for r in table:
            cells = [f"{r[c]:11.4g}" if isinstance(r.get(c), float) else f"{r.get(c, ''):>11}" for c in cols]
            lines.append("    " + "  ".join(cells))
    return "\n".join(lines)
