"""Reading YAML safely while remembering where every value came from.

The file is composed into a node graph by PyYAML's safe composer (no object construction at
all), then turned into plain Python data by a walker of our own that accepts only the standard
scalar/sequence/mapping tags, rejects duplicate keys and merge keys, and bounds the size, depth
and alias expansion of what it builds. Every value's (line, column) is recorded by field path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from prismcat.errors import CatalogError, Location, PathItem, PrismcatError, Problem
from prismcat.files import printable, read_bounded

MAX_FILE_BYTES = 256 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 40
ALLOWED_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"


@dataclass
class SourceDoc:
    """Plain data parsed from one YAML file plus the position of every value and key."""

    file: str
    data: Any
    # path -> (line, column, shift): shift is where the characters of a one-line scalar start
    # relative to its first column (0 plain, 1 quoted), or None when offsets do not map (escapes,
    # folded or multi-line scalars)
    values: dict[tuple[PathItem, ...], tuple[int, int, int | None]] = field(default_factory=dict)
    keys: dict[tuple[PathItem, ...], tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: tuple[PathItem, ...], offset: int | None = None, at_key: bool = False) -> Location:
        """Location of ``path`` (or of the nearest enclosing value that exists).

        ``offset`` is a character offset inside a plain one-line string scalar (an expression):
        the column then points at the offending token. ``at_key`` points at the key instead.
        """
        path = tuple(path)
        if at_key and path in self.keys:
            line, col = self.keys[path]
            return Location(self.file, line, col, path)
        probe = path
        while probe and probe not in self.values:
            probe = probe[:-1]
        line, col, shift = self.values.get(probe, (1, 1, None))
        if offset is not None and probe == path and shift is not None:
            col += shift + offset
        return Location(self.file, line, col, path)


class _Walker:
    def __init__(self, doc: SourceDoc):
        self.doc = doc
        self.count = 0
        self.constructor = yaml.constructor.SafeConstructor()

    def fail(self, node: Node, path: tuple, message: str) -> CatalogError:
        mark = node.start_mark
        return CatalogError.single(Location(self.doc.file, mark.line + 1, mark.column + 1, path), message)

    def build(self, node: Node, path: tuple, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node,
                path,
                f"document too large after alias expansion (more than {MAX_NODES} values)",
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, path, f"document nested too deeply (more than {MAX_DEPTH} levels)")
        mark = node.start_mark
        self.doc.values[path] = (mark.line + 1, mark.column + 1, _shift(node))
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != SEQ_TAG:
                raise self.fail(node, path, f"YAML tag {node.tag} is not allowed")
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != MAP_TAG:
                raise self.fail(node, path, f"YAML tag {node.tag} is not allowed")
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self.fail(key_node, path, "merge keys (<<) are not supported; repeat the fields")
                if not isinstance(key_node, ScalarNode):
                    raise self.fail(key_node, path, "mapping keys must be plain scalars")
                key = self.scalar(key_node, path)
                if not isinstance(key, str):
                    key = str(key) if isinstance(key, int | float | bool) or key is None else key
                if key in out:
                    first = self.doc.keys.get((*path, key), (0, 0))[0]
                    raise self.fail(
                        key_node,
                        (*path, key),
                        f"duplicate key '{key}' (first defined on line {first})",
                    )
                self.doc.keys[(*path, key)] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                out[key] = self.build(value_node, (*path, key), depth + 1)
            return out
        raise self.fail(node, path, "unsupported YAML node")  # pragma: no cover

    def scalar(self, node: ScalarNode, path: tuple) -> Any:
        if node.tag not in ALLOWED_SCALAR_TAGS:
            raise self.fail(node, path, f"YAML tag {node.tag} is not allowed (only plain data)")
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise self.fail(node, path, f"cannot read value: {exc}") from None
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e300:
            raise self.fail(node, path, "number too large")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, path, f"non-finite number {value} is not allowed")
        return value


def _shift(node: Node) -> int | None:
    """Column shift of a one-line scalar's characters (0 plain, 1 quoted without escapes)."""
    if not isinstance(node, ScalarNode) or node.start_mark.line != node.end_mark.line:
        return None
    width = node.end_mark.column - node.start_mark.column
    if not node.style and width == len(node.value):  # plain: None (PyYAML) or "" (libyaml)
        return 0
    if node.style in ('"', "'") and width == len(node.value) + 2:
        return 1
    return None


def parse_yaml(text: str | bytes, file: str = "<string>") -> SourceDoc:
    """Parse a YAML document into a :class:`SourceDoc` or raise a located :class:`CatalogError`."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise CatalogError.single(Location(file, 1, 1), f"file is larger than {MAX_FILE_BYTES} bytes")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = text[: exc.start].count(b"\n") + 1
            col = exc.start - (text.rfind(b"\n", 0, exc.start) + 1) + 1
            raise CatalogError.single(Location(file, line, col), f"not valid UTF-8 ({exc.reason})") from None
    if len(text) > MAX_FILE_BYTES:
        raise CatalogError.single(Location(file, 1, 1), f"file is larger than {MAX_FILE_BYTES} bytes")
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        nodes = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise CatalogError.single(Location(file, line, col), f"invalid YAML: {msg}") from None
    except (yaml.YAMLError, RecursionError, MemoryError) as exc:
        raise CatalogError.single(Location(file, 1, 1), f"invalid YAML: {type(exc).__name__}") from None
    if not nodes or nodes[0] is None:
        raise CatalogError.single(
            Location(file, 1, 1), "empty file: expected a mapping with the entry's fields"
        )
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise CatalogError.single(
            Location(file, mark.line + 1, 1), "one entry per file: found several YAML documents"
        )
    doc = SourceDoc(file, None)
    try:
        doc.data = _Walker(doc).build(nodes[0], (), 0)
    except RecursionError:
        raise CatalogError([Problem(Location(file, 1, 1), "document nested too deeply")]) from None
    if not isinstance(doc.data, dict):
        raise CatalogError.single(
            Location(file, 1, 1), "expected a mapping with the entry's fields at the top level"
        )
    return doc


def _compose(text: str) -> list:
    """The node graphs of ``text``: libyaml's composer when PyYAML has it (several times faster),
    and on any error PyYAML's own, whose messages the located errors quote."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return list(yaml.compose_all(text, Loader=fast))
        except Exception:  # the pure composer says what is wrong
            pass
    return list(yaml.compose_all(text, Loader=yaml.SafeLoader))


def read_yaml(path: Path, display: str | None = None) -> SourceDoc:
    """Read and parse ``path``; ``display`` is the file name used in messages. Its size is checked
    before anything is read."""
    name = display or printable(path)
    try:
        raw = read_bounded(path, MAX_FILE_BYTES, "catalogue file")
    except PrismcatError as exc:
        reason = str(exc).removeprefix(printable(path) + ": ")
        raise CatalogError.single(Location(name, 1, 1), reason) from None
    return parse_yaml(raw, name)
