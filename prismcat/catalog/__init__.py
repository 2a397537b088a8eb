"""The catalogue: entry schema, safe YAML source, loader and the loaded :class:`Entry`."""

from prismcat.catalog.entry import Entry, Prediction
from prismcat.catalog.loader import (
    Catalog,
    entry_from_data,
    entry_json_schema,
    load_catalog,
    load_entry,
)

__all__ = [
    "Catalog",
    "Entry",
    "Prediction",
    "entry_from_data",
    "entry_json_schema",
    "load_catalog",
    "load_entry",
]
