"""Finding and loading a catalogue: the YAML files under a folder (the packaged catalogue: every
installed family's folders), each loaded by :mod:`~prismcat.catalog.compile`, and the whole load
cached in this process on everything it depends on (file contents, working directory, the
registry's generation)."""

from __future__ import annotations

import hashlib
import typing
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from prismcat.catalog.catalogue import Catalog, check_relations
from prismcat.catalog.compile import load_entry
from prismcat.catalog.entry import Entry
from prismcat.catalog.source import MAX_FILE_BYTES
from prismcat.errors import CatalogError, Location, PrismcatError, Problem
from prismcat.files import printable, read_bounded
from prismcat.paths import catalog_from_environment, default_catalog_dir
from prismcat.registry import registry


def catalog_files(paths: Iterable[str | Path]) -> list[Path]:
    """YAML files named by ``paths`` (directories are searched recursively), sorted."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml") and x.is_file()))
        else:
            files.append(p)
    return files


def load_catalog(
    root: str | Path | None = None,
    check_values: bool = False,
    files: Iterable[str | Path] | None = None,
) -> Catalog:
    """Load every ``*.yaml`` under ``root`` (default: the packaged catalogue).

    Loads are cached in this process on everything they depend on: the content of every file,
    the working directory (file names are shown relative to it) and the registry (its plugins'
    kinds, measures and families, by the registry's key); an edited file is always read again.
    Each call returns its own :class:`Catalog` (the entries in it are shared)."""
    root_path = Path(root) if root is not None else default_catalog_dir()
    if files is None and root is None and not catalog_from_environment():
        files = catalog_files([d for d in family_catalog_dirs() if d.is_dir()])
    if files is None:
        if not root_path.is_dir():
            return Catalog(
                root_path, problems=[Problem(Location(str(root_path)), "catalogue directory not found")]
            )
        files = catalog_files([root_path])
    paths = tuple(Path(p) for p in files)
    key = _LoadKey(
        root_path,
        check_values,
        tuple((p, _digest(p)) for p in paths),
        str(Path.cwd()),
        registry().key,
    )
    cat = _load_cached(key)
    return Catalog(cat.root, dict(cat.entries), list(cat.problems))


def family_catalog_dirs() -> list[Path]:
    """The packaged catalogue folders of every installed model family (the autoencoder's first)."""
    dirs: list[Path] = []
    for family in registry().families.values():
        try:
            found = [Path(d) for d in family.catalog_dirs()]
        except Exception:  # a broken family plugin loses its catalogue, not the others'
            continue
        dirs += [d for d in found if d not in dirs]
    return dirs


class _LoadKey(typing.NamedTuple):
    """Everything a load depends on."""

    root: Path
    check_values: bool
    files: tuple[tuple[Path, str], ...]  # (path, content digest)
    cwd: str
    registry: tuple  # the registry's key: the plugins' kinds, measures and families


def _digest(path: Path) -> str:
    """Content hash of ``path``; a file that cannot be read, or is over the size limit (never
    read), is keyed by the reason and its size and time stamp instead."""
    try:
        return hashlib.blake2b(read_bounded(path, MAX_FILE_BYTES), digest_size=16).hexdigest()
    except PrismcatError as exc:
        try:
            info = path.stat()
            return f"unread: {exc}: {info.st_size} {info.st_mtime_ns}"
        except OSError:
            return f"unread: {exc}"


@lru_cache(maxsize=16)
def _load_cached(key: _LoadKey) -> Catalog:
    return _load(key.root, key.check_values, tuple(path for path, _ in key.files))


def _load(root: Path, check_values: bool, files: tuple[Path, ...]) -> Catalog:
    cat = Catalog(root)
    seen: dict[str, Entry] = {}
    for path in files:
        display = _display(path)
        try:
            entry = load_entry(path, display, check_values)
        except CatalogError as exc:
            cat.problems.extend(exc.problems)
            continue
        if entry.id in seen:
            first = seen[entry.id].source
            loc = entry.source.locate(("id",)) if entry.source else Location(display)
            where = first.locate(("id",)) if first else None
            cat.problems.append(Problem(loc, f"duplicate id '{entry.id}' (already defined at {where})"))
            continue
        seen[entry.id] = entry
    order = list(registry().families)
    cat.entries = dict(sorted(seen.items(), key=lambda kv: (kv[1].rank(order), kv[0])))
    check_relations(cat)
    return cat


def _display(path: Path) -> str:
    """The file name shown in messages: relative to the working directory where it lies below it,
    always printable (a name that is not UTF-8 shows escapes)."""
    try:
        return printable(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return printable(path)
