"""Error types. Every error a user can cause carries a location they can act on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PathItem = str | int


def format_path(path: Sequence[PathItem]) -> str:
    """``('losses', 'train', 0, 'x')`` -> ``losses.train[0].x``."""
    out = ""
    for item in path:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            out += ("." if out else "") + str(item)
    return out


@dataclass(frozen=True)
class Location:
    """Where a problem sits: file, 1-based line and column, and the field path inside the entry."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: tuple[PathItem, ...] = ()

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            pos = self.file
            if self.line is not None:
                pos += f":{self.line}"
                if self.column is not None:
                    pos += f":{self.column}"
            parts.append(pos)
        if self.path:
            parts.append(format_path(self.path))
        return ": ".join(parts)


class PrismcatError(Exception):
    """Base class of every error prismcat raises on purpose."""


class ExpressionError(PrismcatError):
    """A formula expression that is malformed, unsafe or refers to unknown names.

    ``offset`` is the 0-based character offset of the offending token in ``text``.
    """

    def __init__(self, message: str, text: str = "", offset: int | None = None):
        super().__init__(message)
        self.message = message
        self.text = text
        self.offset = offset


@dataclass(frozen=True)
class Problem:
    """One located problem in a catalogue file."""

    location: Location
    message: str

    def __str__(self) -> str:
        loc = str(self.location)
        return f"{loc}: {self.message}" if loc else self.message


@dataclass
class CatalogError(PrismcatError):
    """One or more located problems found while loading catalogue entries."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    @classmethod
    def single(cls, location: Location, message: str) -> CatalogError:
        return cls([Problem(location, message)])

    @classmethod
    def merge(cls, errors: Iterable[CatalogError]) -> CatalogError:
        return cls([p for e in errors for p in e.problems])


class EvaluationError(PrismcatError):
    """A formula that could not be evaluated to finite numbers (names entry, parameters, time)."""


class PluginError(PrismcatError):
    """A plugin that is missing, broken, or returned something it should not have."""


class Interrupted(PrismcatError):
    """A long run stopped by Ctrl-C; what it had finished is kept (e.g. in the cache)."""
