"""prismcat: a declarative, experimentally checked catalogue of the limiting learning regimes of
large weight-tied linear autoencoders (the prism of arXiv:2606.05335).

``import prismcat`` is cheap: the public names below are imported on first use (the catalogue,
pydantic, the simulators and scipy only when something asks for them).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"  # the one place the version is written (pyproject reads it)

# public name -> the module that defines it
_PUBLIC = {
    "Catalog": "prismcat.catalog",
    "Entry": "prismcat.catalog",
    "Prediction": "prismcat.catalog",
    "entry_from_data": "prismcat.catalog",
    "load_catalog": "prismcat.catalog",
    "load_entry": "prismcat.catalog",
    "CatalogError": "prismcat.errors",
    "EvaluationError": "prismcat.errors",
    "ExpressionError": "prismcat.errors",
    "PrismcatError": "prismcat.errors",
    "hookimpl": "prismcat.hookspecs",
    "RunOptions": "prismcat.settings",
    "validate": "prismcat.api",
    "where": "prismcat.api",
    "where_family": "prismcat.api",
    "simulate": "prismcat.api",
    "power": "prismcat.api",
    "plan": "prismcat.api",
}


def __getattr__(name: str) -> Any:
    """The public names, imported from their modules on first use."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'prismcat' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = ["__version__", *_PUBLIC]
