"""Model families: the autoencoder built in, others from plugins (``register_families``)."""

from __future__ import annotations

from prismcat.errors import PluginError
from prismcat.families.base import Geometry, ModelFamily
from prismcat.plugins import collect

DEFAULT = "autoencoder"


def families() -> dict[str, ModelFamily]:
    """Installed model families by name."""
    return collect("register_families")


def get_family(name: str) -> ModelFamily:
    """The family called ``name``, or a PluginError naming the installed ones."""
    found = families()
    if name not in found:
        known = ", ".join(found) or "none"
        raise PluginError(
            f"no model family '{name}' (installed: {known}); a family comes with its plugin "
            "('prismcat plugins' shows any that failed to load)"
        )
    return found[name]


__all__ = ["DEFAULT", "Geometry", "ModelFamily", "families", "get_family"]
