"""Files prismcat reads and folders it writes, with the promises it makes about both.

Reading: a file is checked (a regular file, at most so many bytes) before a byte of it is read, and
then read with that bound, so a huge or endless file costs nothing. Writing: every file is written
atomically (a temporary file beside it, then a rename). An output folder (the report, the site) is
checked before any work starts: it must be a folder this process can write, on a disk with room;
and prismcat overwrites only files it wrote itself, which it lists in a marker file in the folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from prismcat.errors import PrismcatError

MARKER = ".prismcat-output"  # lists the files prismcat wrote into an output folder


class FileTooLarge(PrismcatError):
    """A file over its size limit (nothing of it was read)."""


def printable(path: str | Path) -> str:
    """A path as text that can always be printed and written as UTF-8 (bytes that are not UTF-8
    in a file name become escapes like ``\\xff``)."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", errors="backslashreplace")


def read_bounded(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of ``path``, if it is a regular file of at most ``limit`` bytes. Checked before
    reading (no FIFO is opened, no device read, nothing of a huge file loaded)."""
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise PrismcatError(f"{printable(path)}: not a regular file")
        if info.st_size > limit:
            raise FileTooLarge(
                f"{printable(path)}: {what} of {info.st_size} bytes is larger than the limit of {limit} "
                "bytes (not read)"
            )
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise PrismcatError(f"{printable(path)}: cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > limit:  # it grew while we looked
        raise FileTooLarge(f"{printable(path)}: {what} is larger than the limit of {limit} bytes")
    return data


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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


class OutputFolder:
    """A folder prismcat writes its output into (``kind``: "report" or "site").

    :meth:`check` runs before any work: the folder is (or can be made) a writable folder with
    ``needed`` bytes free, and none of ``names`` (the files about to be written, relative paths)
    would replace a file that prismcat did not write, unless ``overwrite``. Files prismcat wrote
    are listed in the folder's marker; files of a report written before the marker existed are
    recognised by their content (``legacy``)."""

    def __init__(self, path: str | Path, kind: str, overwrite: bool = False):
        self.path = Path(path)
        self.kind = kind
        self.overwrite = overwrite

    def owned(self) -> set[str]:
        """The files the marker says prismcat wrote here."""
        try:
            data = json.loads(read_bounded(self.path / MARKER, 16 * 1024 * 1024, "marker"))
            files = data.get("files", []) if data.get("tool") == "prismcat" else []
            return {f for f in files if isinstance(f, str) and _inside(f)}
        except (PrismcatError, ValueError, AttributeError):
            return set()

    def check(self, names: Iterable[str], needed: int = 0, legacy: dict[str, bytes] | None = None) -> None:
        """Refuse, with one clear message, before any work is done."""
        where = printable(self.path)
        if self.path.exists() and not self.path.is_dir():
            raise PrismcatError(f"{where} is a file, not a folder: give a folder for the {self.kind}")
        existing = self.path
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise PrismcatError(f"{where}: {printable(existing)} is a file, so the folder cannot be made")
        if self.path.is_dir() and not self.overwrite:
            mine = self.owned()
            foreign = [
                n
                for n in names
                if (self.path / n).exists() and n not in mine and not _legacy(self.path / n, legacy, n)
            ]
            if foreign:
                raise PrismcatError(
                    f"{where} already holds {foreign[0]}"
                    + (f" and {len(foreign) - 1} more file(s)" if len(foreign) > 1 else "")
                    + f" that prismcat did not write; choose an empty folder for the {self.kind}, or "
                    "allow replacing them (--overwrite)"
                )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".tmp-probe-", dir=self.path)
            with os.fdopen(fd, "wb") as f:
                f.write(b"prismcat")
                f.flush()
                os.fsync(f.fileno())
            os.unlink(probe)
        except OSError as exc:
            raise PrismcatError(f"cannot write the {self.kind} to {where}: {exc.strerror or exc}") from None
        free = shutil.disk_usage(self.path).free
        if free < needed:
            raise PrismcatError(
                f"not enough disk space for the {self.kind} in {where}: about {needed / 1e6:.0f} MB "
                f"needed, {free / 1e6:.0f} MB free"
            )

    def check_reusable(self, needed: int = 0) -> None:
        """For an output that replaces the whole folder (the site): refuse a folder that holds
        anything prismcat did not write there (unless ``overwrite``), then check as :meth:`check`."""
        if self.path.is_dir() and not self.overwrite:
            mine = self.owned() | {MARKER}
            names = (p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if not p.is_dir())
            foreign = next((n for n in names if n not in mine), None)  # stops at the first one
            if foreign is not None:
                raise PrismcatError(
                    f"{printable(self.path)} holds {printable(foreign)}, which prismcat did not write; "
                    f"choose an empty or new folder for the {self.kind}, or build into it anyway, "
                    "keeping the files it holds (--overwrite)"
                )
        self.check([], needed)

    def record(self, names: Iterable[str]) -> None:
        """Add ``names`` to the folder's marker (after writing them)."""
        files = sorted(self.owned() | {n for n in names if _inside(n)})
        write_atomic(
            self.path / MARKER,
            json.dumps({"tool": "prismcat", "kind": self.kind, "files": files}, indent=1) + "\n",
        )

    def write(self, name: str, data: str | bytes) -> Path:
        """Write one file of the output (atomically) and record it in the marker."""
        target = self.path / name
        write_atomic(target, data)
        self.record([name])
        return target

    def replace_with(self, built: Path) -> None:
        """Move the files of folder ``built`` into this folder: the files prismcat wrote here before
        are removed first (and only those), files of the same name are replaced."""
        names = [p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()]
        old = self.owned() - set(names)
        for name in sorted(old):
            with contextlib.suppress(OSError):
                (self.path / name).unlink()
        for name in names:
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(built / name, target)
        _remove_empty_dirs(self.path, {str(Path(n).parent) for n in old})
        self.record(names)


def _inside(name: str) -> bool:
    """A relative path that stays inside its folder (a marker cannot point elsewhere)."""
    p = Path(name)
    return bool(name) and not p.is_absolute() and ".." not in p.parts


def _legacy(path: Path, legacy: dict[str, bytes] | None, name: str) -> bool:
    """A file written by an earlier prismcat, recognised by a signature in its first bytes."""
    signature = (legacy or {}).get(name)
    if signature is None or not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            return signature in f.read(4096)
    except OSError:
        return False


def _remove_empty_dirs(root: Path, dirs: set[str]) -> None:
    for d in sorted(dirs, key=lambda x: -len(Path(x).parts)):
        p = root / d
        while p != root and _inside(str(p.relative_to(root))):
            try:
                p.rmdir()
            except OSError:
                break
            p = p.parent
