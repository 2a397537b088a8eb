"""Where a problem in a catalogue file is: pydantic's errors turned into located problems
(``file:line:column: field.path: message``), and the collector the semantic checks report to."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any

import pydantic

from prismcat.catalog.source import SourceDoc
from prismcat.errors import ExpressionError, PathItem, Problem
from prismcat.formulas.expr import Compiled, HelperError, Scope
from prismcat.registry import registry


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _tags(tp: Any) -> dict[str, Any]:
    """Members of a tagged union by tag."""
    out = {}
    for member in typing.get_args(_unwrap(tp)):
        for meta in getattr(member, "__metadata__", ()):
            if isinstance(meta, pydantic.Tag):
                out[meta.tag] = typing.get_args(member)[0]
    return out


def _allowed_keys(model: type[pydantic.BaseModel], loc: tuple) -> list[str] | None:
    """Field names (aliases) of the model that sits at pydantic location ``loc``."""
    tp: Any = model
    for el in loc:
        tp = _unwrap(tp)
        tags = _tags(tp)
        if el in tags:
            tp = tags[el]
            continue
        if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
            fld = next((f for n, f in tp.model_fields.items() if el in (n, f.alias)), None)
            if fld is None:
                return None
            tp = fld.annotation
            continue
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is dict:
            tp = args[1]
        elif origin in (list, tuple):
            tp = args[0]
        elif args:  # Optional / plain union: first model member
            tp = next((a for a in args if a is not type(None)), args[0])
        else:
            return None
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next((a for a in typing.get_args(tp) if a is not type(None)), tp)
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return None


def _data_path(data: Any, loc: tuple) -> tuple[PathItem, ...]:
    """Drop union tags from a pydantic location so it names a place in the YAML data."""
    path: list[PathItem] = []
    cur = data
    for i, el in enumerate(loc):
        if el in ("loss", "absent") and i + 1 < len(loc) and loc[i + 1] == el:
            continue  # the population's union tag before the field of the same name
        in_dict = isinstance(cur, dict) and el in cur
        in_list = isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur)
        if in_dict or in_list:
            path.append(el)
            cur = cur[el]
        elif (
            isinstance(cur, dict) and i + 1 < len(loc) and (el == cur.get("kind") or el in ("loss", "absent"))
        ):
            continue  # a union tag
        else:
            path.append(el)
            cur = None
    return tuple(path)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def pydantic_problems(
    exc: pydantic.ValidationError, doc: SourceDoc, model: type[pydantic.BaseModel]
) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = _data_path(doc.data, loc)
        etype, msg = err["type"], err["msg"]
        at_key = False
        if etype == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            msg = f"unknown key '{path[-1]}'" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
            if any(ch in str(path[-1]) for ch in "()*/+"):
                msg += "; an expression with a comma inside a {...} flow mapping must be quoted"
            at_key = True
        elif etype == "missing":
            msg = f"missing required field '{path[-1]}'"
        elif etype == "union_tag_not_found" or (
            etype == "unknown_formula_kind"
            and isinstance(err.get("input"), dict)
            and "kind" not in err["input"]
        ):
            msg = "missing 'kind' (one of: " + ", ".join(registry().formula_kinds) + ")"
        elif etype == "unknown_formula_kind" and not isinstance(err.get("input"), dict):
            kinds = ", ".join(registry().formula_kinds)
            msg = f"expected a mapping with a 'kind' (one of: {kinds}), got {_short(err.get('input'))}"
        elif etype == "unknown_formula_kind":
            msg = f"unknown formula kind {_short(err['input'].get('kind'))}; {msg}"
            path = (*path, "kind")
        elif etype == "string_pattern_mismatch" and loc and loc[-1] == "[key]":
            path = path[:-1]
            msg = f"'{path[-1]}' is not a name: start with a letter, then letters, digits or _"
            at_key = True
        elif etype == "too_long" and "max_length" in err.get("ctx", {}):
            ctx = err["ctx"]
            got = f", got {ctx['actual_length']}" if ctx.get("actual_length") is not None else ""
            msg = f"at most {ctx['max_length']} items allowed here{got}"
        else:
            msg = msg.removeprefix("Value error, ")
            if etype.endswith(("_type", "_parsing")) and "input" in err:
                msg += f" (got {_short(err['input'])})"
        problems.append(Problem(doc.locate(path, at_key=at_key), msg))
    return problems


class Collector:
    """Collects located problems for one document."""

    def __init__(self, doc: SourceDoc):
        self.doc = doc
        self.problems: list[Problem] = []

    def add(
        self,
        path: Iterable[PathItem],
        message: str,
        offset: int | None = None,
        at_key: bool = False,
    ) -> None:
        problem = Problem(self.doc.locate(tuple(path), offset, at_key), message)
        if problem not in self.problems:  # a broken helper is met again by each helper using it
            self.problems.append(problem)

    def compile(
        self, scope: Scope, text: str, path: tuple, helper_root: tuple = ("where",)
    ) -> Compiled | None:
        try:
            return scope.compile(text)
        except HelperError as exc:
            self.add((*helper_root, exc.helper), exc.message, exc.offset)
        except ExpressionError as exc:
            self.add(path, exc.message, exc.offset)
        return None
