"""Loading catalogue entries: YAML -> pydantic model -> semantic checks -> :class:`Entry`.

Every problem is reported as ``file:line:column: field.path: message``; problems in one file never
stop the others from loading (a :class:`Catalog` keeps both its entries and its problems). The
work is done by :mod:`~prismcat.catalog.model` (the entry model), :mod:`~prismcat.catalog.problems`
(located errors), :mod:`~prismcat.catalog.compile` (one file to an entry),
:mod:`~prismcat.catalog.catalogue` (the catalogue and its relations) and
:mod:`~prismcat.catalog.discovery` (finding the files, caching loads); this module is their
public face.
"""

from prismcat.catalog.catalogue import Catalog
from prismcat.catalog.compile import entry_from_data, entry_from_doc, load_entry
from prismcat.catalog.discovery import catalog_files, family_catalog_dirs, load_catalog
from prismcat.catalog.model import entry_json_schema, entry_model

__all__ = [
    "Catalog",
    "catalog_files",
    "entry_from_data",
    "entry_from_doc",
    "entry_json_schema",
    "entry_model",
    "family_catalog_dirs",
    "load_catalog",
    "load_entry",
]
