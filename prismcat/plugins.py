"""The plugin manager: built-ins and entry-point plugins are loaded the same way."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pluggy

from prismcat import hookspecs
from prismcat.errors import PluginError

BUILTIN_PLUGINS = ("prismcat.formulas.builtin",)


@lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager (built-ins, then the ``prismcat`` entry-point group)."""
    import importlib

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    return pm


def collect(hook_name: str, pm: pluggy.PluginManager | None = None) -> dict[str, Any]:
    """Call ``register_*`` hook ``hook_name`` and return what was registered, by ``.name``."""
    pm = pm or plugin_manager()
    found: dict[str, Any] = {}

    def register(thing: Any) -> None:
        name = getattr(thing, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(f"{hook_name}: registered object {thing!r} has no name")
        if name in found:
            raise PluginError(f"{hook_name}: '{name}' is registered twice")
        found[name] = thing

    getattr(pm.hook, hook_name)(register=register)
    return found


def formula_kinds(pm: pluggy.PluginManager | None = None) -> dict[str, Any]:
    return collect("register_formula_kinds", pm)


def measures(pm: pluggy.PluginManager | None = None) -> dict[str, Any]:
    return collect("register_measures", pm)
