"""Where things live: the packaged catalogue."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def default_catalog_dir() -> Path:
    """``$PRISMCAT_CATALOG``, else the catalogue shipped in the wheel, else the source tree's."""
    env = os.environ.get("PRISMCAT_CATALOG")
    if env:
        return Path(env)
    packaged = _PACKAGE / "_catalog"
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / "catalog"
