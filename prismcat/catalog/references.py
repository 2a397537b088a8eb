"""Every ``references:`` item resolves: an arXiv id (``arXiv:2606.05335``) or a heading of the
theory pages shipped with prismcat (``docs/theory/large-data.md#large-data-corrections``)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from prismcat.errors import Location, Problem
from prismcat.paths import default_catalog_dir, packaged_catalog_dirs, theory_dir

ARXIV = re.compile(r"^arXiv:(?P<id>\d{4}\.\d{4,5}(?:v\d+)?)$")
_THEORY = r"docs/theory/(?P<page>[A-Za-z0-9_-]+\.md)(?:#(?P<anchor>[A-Za-z0-9_-]+))?"
THEORY = re.compile(f"^{_THEORY}$")
THEORY_MENTION = re.compile(_THEORY)  # a theory heading named inside prose
_HEADING = re.compile(r"^#{1,6}\s+(?P<text>.*?)\s*(?:\{#(?P<id>[A-Za-z0-9_-]+)[^}]*\})?\s*$")


def slugify(text: str) -> str:
    """The anchor Python-Markdown's toc gives a heading without an explicit ``{#id}``."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


@lru_cache(maxsize=32)
def anchors(page: Path) -> frozenset[str]:
    """The heading anchors of a Markdown page (code blocks skipped)."""
    found, fenced = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = None if fenced else _HEADING.match(line)
        if m:
            found.add(m.group("id") or slugify(m.group("text")))
    return frozenset(found)


def resolve(ref: str, root: Path | None = None) -> str | None:
    """Why ``ref`` does not resolve (None if it does)."""
    if ARXIV.match(ref):
        return None
    m = THEORY.match(ref)
    if not m:
        return (
            f"reference '{ref}' is neither an arXiv id (arXiv:NNNN.NNNNN) nor a theory heading "
            "(docs/theory/PAGE.md#anchor)"
        )
    page = (root or theory_dir()) / m.group("page")
    if not page.is_file():
        return f"reference '{ref}': there is no theory page {m.group('page')}"
    anchor = m.group("anchor")
    if anchor and anchor not in anchors(page):
        return f"reference '{ref}': {m.group('page')} has no heading #{anchor}"
    return None


def check_references(catalog: Any) -> list[Problem]:
    """A located problem for every reference of every entry that does not resolve."""
    problems = []
    for entry in catalog:
        for i, ref in enumerate(entry.spec.references):
            why = resolve(ref)
            if why is not None:
                path = ("references", i)
                loc = entry.source.locate(path) if entry.source else Location(entry.file, path=path)
                problems.append(Problem(loc, why))
    return problems


def is_packaged(catalog_dir: str | Path | None, files: list[Path] | None = None) -> bool:
    """Whether lint looks at prismcat's own catalogue (held to resolving references) rather than
    a user's (warned)."""
    own = {d.resolve() for d in packaged_catalog_dirs()}
    if files:
        return all(any(own_dir in f.resolve().parents for own_dir in own) for f in files)
    root = Path(catalog_dir) if catalog_dir is not None else default_catalog_dir()
    return root.resolve() in own
