"""A disk cache of simulated curves that can only miss, never hand back a wrong curve.

Keys are content hashes (:func:`content_key`) of everything that determines the numbers: the
resolved problems and the code and machine fingerprint (:mod:`prismcat.simulation.fingerprint`).
Each value is one ``.npz`` file holding its arrays and a ``__meta__`` record (the key, the
problems' digests, the expected shapes). Reading verifies all of it: a file that cannot be read,
whose record names another key, or whose arrays have other names, shapes or non-finite values,
is a miss with its reason recorded, never a crash and never a hit. Files are written to a
temporary name in the same folder and moved into place (``os.replace``), so a run killed at any
moment leaves the complete file or none. A folder that cannot be written is reported once and
the run goes on uncached.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from prismcat.files import write_atomic

META = "__meta__"
FORMAT = 2  # bump when the layout of a cache file changes


def content_key(*parts: Any) -> str:
    """sha256 of the canonical JSON of ``parts`` (and the cache file format)."""
    text = json.dumps([FORMAT, *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Expected:
    """What a value must look like: its array names and shapes, and the problems it is for."""

    shapes: Mapping[str, tuple[int, ...]]
    problems: Sequence[str] = ()


class DiskCache:
    """Arrays by key under ``root`` (``root=None``: a cache that never stores anything)."""

    STALE_SECONDS = 3600.0

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root is not None else None
        self.hits = 0
        self.misses = 0
        self.rejected: list[str] = []  # files present but unusable, with the reason
        self.write_error: str | None = None
        self._sweep()

    def stats(self) -> dict[str, Any]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "rejected": list(self.rejected),
            "write_error": self.write_error,
        }

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

    def path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str, expected: Expected | None = None) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, verified against ``expected``; None on any miss.
        A hit refreshes the file's modification time, so ``clear(older_than)`` spares files in use."""
        if self.root is None:
            return None
        path = self.path(key)
        try:
            if not path.parent.is_dir() and path.parent.exists():
                raise NotADirectoryError("a file stands where this cache subfolder goes")
            if not path.exists() and not path.is_symlink():
                self.misses += 1
                return None
            out = _read(path, key, expected)
        except Exception as exc:  # any unreadable or wrong file is a miss, whatever the reason
            self.misses += 1
            self.rejected.append(f"{path}: {type(exc).__name__}: {exc}")
            return None
        with contextlib.suppress(OSError):
            os.utime(path)
        self.hits += 1
        return out

    def put(self, key: str, arrays: Mapping[str, np.ndarray], expected: Expected | None = None) -> None:
        """Store ``arrays`` under ``key``. Something standing in the way of this one file is
        reported for this key; a folder that cannot be written is reported once, and the run goes
        on uncached. Never raises."""
        if self.root is None or self.write_error is not None:
            return
        meta = {"key": key, "format": FORMAT, "problems": list(expected.problems) if expected else []}
        buf = io.BytesIO()
        np.savez(buf, **arrays, **{META: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)})
        path = self.path(key)
        try:
            write_atomic(path, buf.getvalue())
        except (IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            self.rejected.append(f"{path}: {type(exc).__name__}: something stands in the way; not cached")
        except OSError as exc:
            self.write_error = (
                f"cannot write to the cache folder {self.root} ({type(exc).__name__}: {exc}); "
                "results of this run are not cached"
            )

    # -- housekeeping (prismcat cache info / clear) ---------------------------------------------
    def files(self) -> list[Path]:
        if self.root is None or not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("*/*.npz") if p.is_file())

    def info(self) -> dict[str, Any]:
        """Folder, number of files, total bytes, oldest and newest modification times."""
        files = self.files()
        stats = [p.stat() for p in files]
        mtimes = [s.st_mtime for s in stats]
        return {
            "root": str(self.root),
            "files": len(files),
            "bytes": sum(s.st_size for s in stats),
            "oldest": _iso(min(mtimes)) if mtimes else None,
            "newest": _iso(max(mtimes)) if mtimes else None,
        }

    def clear(self, older_than: float | None = None) -> dict[str, int]:
        """Delete cached files not used for ``older_than`` seconds (all, if None), temporary files,
        and whatever stands at a cache file's or subfolder's name (a directory, a dangling link, a
        stray file); return how many entries and bytes went. Only cache-shaped names are touched."""
        if self.root is None or not self.root.is_dir():
            return {"files": 0, "bytes": 0}
        now, removed, freed = time.time(), 0, 0
        for p in self._cache_shaped():
            with contextlib.suppress(OSError):
                st = p.lstat()
                if older_than is not None and p.is_file() and now - st.st_mtime < older_than:
                    continue
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
                removed += 1
                freed += st.st_size
        for sub in self.root.iterdir():
            with contextlib.suppress(OSError):
                if sub.is_dir() and not any(sub.iterdir()):
                    sub.rmdir()
        return {"files": removed, "bytes": freed}

    def _cache_shaped(self) -> list[Path]:
        assert self.root is not None
        out = []
        for sub in self.root.iterdir():
            if not _SUBFOLDER.fullmatch(sub.name):
                continue
            if not sub.is_dir() or sub.is_symlink():
                out.append(sub)
                continue
            out += [p for p in sub.iterdir() if _FILE.fullmatch(p.name) or p.name.startswith(".tmp-")]
        return out


_SUBFOLDER = re.compile(r"[0-9a-f]{2}")
_FILE = re.compile(r"[0-9a-f]{64}\.npz")


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _read(path: Path, key: str, expected: Expected | None) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    raw = arrays.pop(META, None)
    if raw is None:
        raise ValueError("no metadata record (written by another version)")
    meta = json.loads(bytes(raw.astype(np.uint8)).decode())
    if meta.get("key") != key or meta.get("format") != FORMAT:
        raise ValueError(f"the file is for key {str(meta.get('key'))[:12]}..., not this one")
    if expected is None:
        return arrays
    if list(meta.get("problems", [])) != list(expected.problems):
        raise ValueError("the file holds other problems")
    if set(arrays) != set(expected.shapes):
        raise ValueError(f"arrays {sorted(arrays)}, expected {sorted(expected.shapes)}")
    for name, shape in expected.shapes.items():
        a = arrays[name]
        if a.shape != tuple(shape) or a.dtype.kind != "f":
            raise ValueError(f"array '{name}' has shape {a.shape} and dtype {a.dtype}, expected {shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"array '{name}' holds non-finite values")
    return arrays
