"""The plugin manager: built-ins and entry-point plugins are loaded the same way, each in isolation.

A plugin that fails to import, to register with pluggy, or whose ``register_*`` hook raises or
registers something unusable is recorded (:func:`plugin_report`, ``prismcat plugins``) and left
out; every other plugin, and every command, keeps working.

A plugin declares the prismcat versions it supports as the ``prismcat`` requirement of its
distribution (``dependencies = ["prismcat>=0.2,<0.3"]``); one whose range excludes the running
prismcat is reported and never imported. ``PRISMCAT_LOAD_PLUGINS`` set to a comma-separated list
of entry-point names loads only those ('' loads none; the built-ins always load).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from typing import Any

import pluggy
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from prismcat import __version__, hookspecs
from prismcat.settings import ENV_LOAD_PLUGINS

BUILTIN_PLUGINS = (
    "prismcat.formulas.builtin",
    "prismcat.families.autoencoder",
    "prismcat.simulators",
    "prismcat.checkers",
    "prismcat.views",
)
REGISTER_HOOKS = (
    "register_formula_kinds",
    "register_measures",
    "register_families",
    "register_simulators",
    "register_checkers",
    "register_views",
)


@dataclass
class PluginInfo:
    """One plugin: where it came from, what it registers, or why it is left out."""

    name: str
    source: str  # "builtin", "entry point" or "runtime" (registered by code in this process)
    module: str = ""
    distribution: str | None = None
    version: str | None = None
    supports: str | None = None  # the prismcat range its distribution declares
    errors: list[str] = field(default_factory=list)
    registers: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "supports": self.supports,
            "ok": self.ok,
            "errors": list(self.errors),
            "registers": {k: list(v) for k, v in self.registers.items()},
        }


_INFO: dict[str, PluginInfo] = {}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


DISTRIBUTION = "prismcat-regimes"  # prismcat's name on the package index (import name: prismcat)
OTHER_PROJECT = "prismcat"  # the index's unrelated project of that name


def supported_range(dist: metadata.Distribution | None) -> str | None:
    """The prismcat specifier a distribution requires ('' for any version, None if it does not
    require prismcat-regimes at all)."""
    for line in (dist.requires or []) if dist is not None else []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) == DISTRIBUTION and (
            req.marker is None or req.marker.evaluate({"extra": ""})
        ):
            return str(req.specifier)
    return None


def requires_other_project(dist: metadata.Distribution | None) -> bool:
    """Whether a distribution requires ``prismcat``: the package index's unrelated project."""
    for line in (dist.requires or []) if dist is not None else []:
        try:
            if canonicalize_name(Requirement(line).name) == OTHER_PROJECT:
                return True
        except InvalidRequirement:
            continue
    return False


def version_problem(supports: str | None) -> str | None:
    """Why a plugin supporting ``supports`` cannot run with this prismcat (None if it can)."""
    if supports is None:
        return (
            f"does not declare which prismcat versions it supports (add '{DISTRIBUTION}>=X,<Y' to its "
            "dependencies)"
        )
    if __version__ not in SpecifierSet(supports, prereleases=True):
        return f"supports prismcat {supports}, but this is prismcat {__version__}: upgrade one of them"
    return None


def _selected(name: str) -> bool:
    chosen = os.environ.get(ENV_LOAD_PLUGINS)
    return chosen is None or name in {n.strip() for n in chosen.split(",") if n.strip()}


class PluginManager(pluggy.PluginManager):
    """pluggy's manager that counts changes (``generation``): the registry collects what the
    plugins register once per generation, so registering or unregistering a plugin at run time is
    seen at once and nothing else makes the hooks run again."""

    generation = 0

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        self.generation += 1
        return super().register(plugin, name)

    def unregister(self, plugin: Any = None, name: str | None = None) -> Any:
        self.generation += 1
        return super().unregister(plugin, name)

    def set_blocked(self, name: str) -> None:
        self.generation += 1
        super().set_blocked(name)


@lru_cache(maxsize=1)
def plugin_manager() -> PluginManager:
    """The process-wide plugin manager (built-ins, then the ``prismcat`` entry-point group)."""
    pm = PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
        _INFO[name] = PluginInfo(name, "builtin", module=name)
    for ep in metadata.entry_points(group=hookspecs.PROJECT):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name) or not _selected(ep.name):
            continue
        dist = getattr(ep, "dist", None)
        info = _INFO[ep.name] = PluginInfo(
            ep.name,
            "entry point",
            module=ep.value,
            distribution=dist.metadata["Name"] if dist else None,
            version=dist.version if dist else None,
            supports=supported_range(dist),
        )
        problem = version_problem(info.supports)
        if problem is not None and requires_other_project(dist):
            problem = (
                f"it requires '{OTHER_PROJECT}', the package index's unrelated project of that name; "
                f"prismcat is distributed as '{DISTRIBUTION}': declare '{DISTRIBUTION}>=X,<Y'"
            )
        if problem is not None:  # reported, never imported
            info.errors.append(f"not loaded: {problem}")
            continue
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:  # a broken plugin is reported, never fatal
            info.errors.append(f"failed to load: {_describe(exc)}")
    return pm


def _info(pm: pluggy.PluginManager, plugin_name: str) -> PluginInfo:
    if plugin_name not in _INFO:
        plugin = pm.get_plugin(plugin_name)
        _INFO[plugin_name] = PluginInfo(plugin_name, "runtime", module=getattr(plugin, "__name__", ""))
    return _INFO[plugin_name]


_CONFLICTS: dict[tuple[str, str], list[str]] = {}


def collect(hook_name: str, pm: pluggy.PluginManager | None = None) -> dict[str, Any]:
    """Call ``register_*`` hook ``hook_name`` of each plugin in turn and return what was
    registered, by ``.name``. A plugin whose hook raises or registers a nameless object is recorded
    in its :class:`PluginInfo`; a name claimed by two plugins is ambiguous and used by neither
    (see :func:`conflict`). The other plugins are unaffected."""
    pm = pm or plugin_manager()
    claims: dict[str, list[tuple[str, Any]]] = {}
    short = hook_name.removeprefix("register_")
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        info = _info(pm, impl.plugin_name)
        info.errors = [e for e in info.errors if not e.startswith(f"{hook_name}:")]
        mine: dict[str, Any] = {}

        def register(thing: Any, mine: dict[str, Any] = mine) -> None:
            name = getattr(thing, "name", None)
            if not isinstance(name, str) or not name:
                raise TypeError(f"registered object {thing!r} has no name")
            if name in mine:
                raise ValueError(f"'{name}' is registered twice")
            mine[name] = thing

        try:
            impl.function(**{arg: register for arg in impl.argnames})
        except Exception as exc:
            info.errors.append(f"{hook_name}: {_describe(exc)}")
            continue
        info.registers[short] = list(mine)
        for name, thing in mine.items():
            claims.setdefault(name, []).append((impl.plugin_name, thing))
    found = {}
    for name, owners in claims.items():
        if len(owners) == 1:
            found[name] = owners[0][1]
            _CONFLICTS.pop((hook_name, name), None)
            continue
        plugins = [p for p, _ in owners]
        _CONFLICTS[(hook_name, name)] = plugins
        for p in plugins:
            others = ", ".join(f"'{o}'" for o in plugins if o != p)
            _INFO[p].errors.append(
                f"{hook_name}: '{name}' is also registered by {others}, so neither is used "
                "(uninstall one of them)"
            )
    return found


def conflict(hook_name: str, name: str) -> list[str]:
    """The plugins that all register ``name`` through ``hook_name`` (empty if none or one)."""
    return list(_CONFLICTS.get((hook_name, name), []))


def origin(hook_name: str, name: str, pm: pluggy.PluginManager | None = None) -> PluginInfo | None:
    """The plugin that registers ``name`` through ``hook_name``."""
    pm = pm or plugin_manager()
    collect(hook_name, pm)
    return next(
        (i for i in _INFO.values() if name in i.registers.get(hook_name.removeprefix("register_"), [])),
        None,
    )


def plugin_report(pm: pluggy.PluginManager | None = None) -> list[PluginInfo]:
    """Every plugin known to the manager, or that failed to load, with what it registers."""
    pm = pm or plugin_manager()
    for hook in REGISTER_HOOKS:
        collect(hook, pm)
    live = {name for name, _ in pm.list_name_plugin()}
    for name in live:
        _info(pm, name)
    return [i for i in _INFO.values() if i.name in live or i.errors]


def failures(pm: pluggy.PluginManager | None = None) -> list[PluginInfo]:
    """The plugins that failed to load or whose hooks failed so far."""
    pm = pm or plugin_manager()
    live = {name for name, _ in pm.list_name_plugin()}
    return [i for i in _INFO.values() if i.errors and (i.name in live or i.source == "entry point")]


def sources(hook_name: str) -> dict[str, str]:
    """Who registered each name through ``hook_name``: "builtin", "entry point" or "runtime"."""
    short = hook_name.removeprefix("register_")
    return {name: info.source for info in _INFO.values() for name in info.registers.get(short, [])}
