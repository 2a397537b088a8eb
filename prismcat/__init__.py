"""prismcat: a declarative, experimentally checked catalogue of the limiting learning regimes of
large weight-tied linear autoencoders (the prism of arXiv:2606.05335)."""

from prismcat.catalog import Catalog, Entry, Prediction, entry_from_data, load_catalog, load_entry
from prismcat.errors import CatalogError, EvaluationError, ExpressionError, PrismcatError
from prismcat.hookspecs import hookimpl

__version__ = "0.2.0"  # the one place the version is written (pyproject reads it)

_API = ("validate", "where", "where_family", "simulate", "power")


def __getattr__(name: str):
    """``prismcat.validate``, ``.where``, ``.simulate``, ``.power`` (see :mod:`prismcat.api`),
    imported on first use so that ``import prismcat`` stays light."""
    if name in _API:
        from prismcat import api

        return getattr(api, name)
    raise AttributeError(f"module 'prismcat' has no attribute '{name}'")


__all__ = [
    "Catalog",
    "CatalogError",
    "Entry",
    "EvaluationError",
    "ExpressionError",
    "Prediction",
    "PrismcatError",
    "__version__",
    "entry_from_data",
    "hookimpl",
    "load_catalog",
    "load_entry",
    "power",
    "simulate",
    "validate",
    "where",
    "where_family",
]
