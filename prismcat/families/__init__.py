"""Model families: the autoencoder built in, others from plugins (``register_families``)."""

from __future__ import annotations

from prismcat.families.base import Geometry, ModelFamily
from prismcat.registry import registry
from prismcat.settings import DEFAULT_FAMILY

DEFAULT = DEFAULT_FAMILY


def families() -> dict[str, ModelFamily]:
    """Installed model families by name."""
    return dict(registry().families)


def get_family(name: str) -> ModelFamily:
    """The family called ``name``, or a PluginError naming the installed ones."""
    return registry().family(name)


__all__ = ["DEFAULT", "Geometry", "ModelFamily", "families", "get_family"]
