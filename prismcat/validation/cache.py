"""A disk cache of simulated curves, keyed by content hash and written atomically.

Each value is one ``.npz`` file written to a temporary name in the same directory and moved into
place with ``os.replace``: a run killed at any moment leaves either the complete file or none.
A file that cannot be read back (e.g. written by another version) counts as a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import prismcat


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def content_key(*parts: Any) -> str:
    """sha256 of the canonical JSON of ``parts`` and the package version."""
    text = json.dumps([prismcat.__version__, *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class DiskCache:
    """Arrays by key under ``root`` (``root=None``: a cache that never stores anything)."""

    STALE_SECONDS = 3600.0

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root is not None else None
        self.hits = 0
        self.misses = 0
        self._sweep()

    def _sweep(self) -> None:
        """Remove temporary files a killed run left behind (older than an hour: a concurrent run
        may still be writing a younger one). They are never read: only final names are."""
        if self.root is None or not self.root.is_dir():
            return
        now = time.time()
        for tmp in self.root.glob("*/.tmp-*"):
            with contextlib.suppress(OSError):
                if now - tmp.stat().st_mtime > self.STALE_SECONDS:
                    tmp.unlink()

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        if self.root is None:
            return None
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as f:
                out = {name: f[name] for name in f.files}
        except (OSError, ValueError, EOFError):
            self.misses += 1
            return None
        self.hits += 1
        return out

    def put(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        if self.root is None:
            return
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        write_atomic(self._path(key), buf.getvalue())


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write a file atomically: a temporary file in the same folder, fsync, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
