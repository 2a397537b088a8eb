"""Where things live: the packaged catalogue, the theory pages, the source tree."""

from __future__ import annotations

import os
from pathlib import Path

from prismcat.settings import ENV_CATALOG

_PACKAGE = Path(__file__).resolve().parent


def catalog_from_environment() -> Path | None:
    """``$PRISMCAT_CATALOG``: a catalogue folder that replaces the packaged one (None if unset)."""
    env = os.environ.get(ENV_CATALOG, "").strip()
    return Path(env) if env else None


def default_catalog_dir() -> Path:
    """``$PRISMCAT_CATALOG``, else the catalogue shipped in the wheel, else the source tree's."""
    env = catalog_from_environment()
    if env is not None:
        return env
    packaged = _PACKAGE / "_catalog"
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / "catalog"


def packaged_catalog_dirs() -> tuple[Path, Path]:
    """Where prismcat's own catalogue lives: in the wheel, and in the source tree."""
    return _PACKAGE / "_catalog", _PACKAGE.parent / "catalog"


def _repo_root() -> Path | None:
    root = _PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() and (root / "docs").is_dir() else None


REPO_ROOT = _repo_root()  # the source tree, when prismcat runs from one


def theory_dir() -> Path:
    """The theory pages (``docs/theory``): shipped in the wheel as ``_theory``, else the source tree's."""
    packaged = _PACKAGE / "_theory"
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / "docs" / "theory"
