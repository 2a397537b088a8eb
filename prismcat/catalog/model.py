"""The entry model: the schema's pydantic model with the registered formula kinds' specs in its
tagged union, built once per set of kinds, and its JSON Schema (``prismcat schema``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pydantic

from prismcat.catalog.schema import build_entry_model
from prismcat.registry import registry


def entry_model() -> type[pydantic.BaseModel]:
    """The entry model for the formula kinds registered right now."""
    kinds = registry().formula_kinds
    return _entry_model(tuple((name, kind.spec) for name, kind in kinds.items()))


@lru_cache(maxsize=8)
def _entry_model(kinds: tuple) -> type[pydantic.BaseModel]:
    found = registry().formula_kinds
    return build_entry_model({name: found[name] for name, _ in kinds})


def entry_json_schema() -> dict[str, Any]:
    schema = entry_model().model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "prismcat catalogue entry"
    return schema
