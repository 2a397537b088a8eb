"""The one registry: every model family, simulator backend, checker, formula kind, measure and view
that prismcat knows, collected from the plugins (built-in and installed) once per process.

The plugin manager counts its changes; :func:`registry` collects the hooks again only when a plugin
was registered or unregistered since (a test, a notebook registering its own family), so a
catalogue load, a validation or a lookup of a backend never makes the hooks run twice.
:func:`refresh` starts over (a new manager, entry points and ``$PRISMCAT_LOAD_PLUGINS`` read
again), as xarray's ``refresh_engines`` does for its backends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from prismcat.errors import PluginError
from prismcat.plugins import collect, conflict, plugin_manager, sources

HOOKS = {
    "formula_kinds": "register_formula_kinds",
    "measures": "register_measures",
    "families": "register_families",
    "simulators": "register_simulators",
    "checkers": "register_checkers",
    "views": "register_views",
}


@dataclass(frozen=True)
class Registry:
    """What every plugin registers, by kind and name (read-only), and the manager's generation it
    was collected at (``key``: a stable identity for caches of anything built from it)."""

    generation: int
    formula_kinds: Mapping[str, Any]
    measures: Mapping[str, Any]
    families: Mapping[str, Any]
    simulators: Mapping[str, Any]
    checkers: Mapping[str, Any]
    views: Mapping[str, Any]
    sources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # kind -> name -> plugin

    @property
    def key(self) -> tuple[int, int]:
        return (id(plugin_manager()), self.generation)

    def family(self, name: str) -> Any:
        """The family called ``name``, or a PluginError naming the installed ones."""
        if name not in self.families:
            known = ", ".join(self.families) or "none"
            raise PluginError(
                f"no model family '{name}' (installed: {known}); a family comes with its plugin "
                "('prismcat plugins' shows any that failed to load)"
            )
        return self.families[name]

    def simulator(self, name: str) -> Any:
        """The backend called ``name``, or a PluginError naming the installed ones (or the plugins
        that both claim it)."""
        if name not in self.simulators:
            owners = conflict("register_simulators", name)
            if owners:
                raise PluginError(
                    f"simulator backend '{name}' is registered by more than one plugin "
                    f"({', '.join(owners)}): uninstall all but one ('prismcat plugins' lists them)"
                )
            known = ", ".join(self.simulators) or "none installed"
            raise PluginError(
                f"no simulator backend '{name}' (installed: {known}); 'prismcat plugins' shows any "
                "that failed to load"
            )
        return self.simulators[name]

    def view(self, name: str) -> Any:
        """The view called ``name`` (a display or figure the presentation floor provides)."""
        if name not in self.views:
            raise PluginError(f"no view '{name}' is registered (is the prismcat.display plugin blocked?)")
        return self.views[name].function

    def runtime(self, kind: str, name: str) -> bool:
        """Whether ``name`` of ``kind`` was registered by code in this process (not installed): a
        worker process could not load it."""
        return self.sources.get(kind, {}).get(name) == "runtime"


@dataclass(frozen=True)
class View:
    """A display or figure of one of the core's objects, provided by the presentation floor
    (``register_views``): the core calls ``registry().view(name)(obj, ...)`` and never imports the
    code that draws. ``name`` says what it shows, e.g. ``entry.html`` or ``prediction.plot``."""

    name: str
    function: Any


_CURRENT: list[Registry] = []


def registry() -> Registry:
    """The registry of the current plugins (collected again only after a plugin changed)."""
    pm = plugin_manager()
    if _CURRENT and _CURRENT[0].generation == pm.generation and _CURRENT[0].key[0] == id(pm):
        return _CURRENT[0]
    return _collect()


def refresh() -> Registry:
    """Start over: a new plugin manager (entry points and ``$PRISMCAT_LOAD_PLUGINS`` read again),
    everything collected again."""
    plugin_manager.cache_clear()
    return _collect()


def _collect() -> Registry:
    pm = plugin_manager()
    found = {kind: collect(hook, pm) for kind, hook in HOOKS.items()}
    current = Registry(
        pm.generation,
        **{kind: MappingProxyType(items) for kind, items in found.items()},
        sources={kind: sources(hook) for kind, hook in HOOKS.items()},
    )
    _CURRENT[:] = [current]
    return current


# -- backend specs: NAME or NAME:KEY=VALUE,... ------------------------------------------------
def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``'sgd:batch_size=16,lr=0.01'`` -> ``('sgd', {'batch_size': '16', 'lr': '0.01'})``."""
    name, _, rest = spec.partition(":")
    options: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise PluginError(f"backend option '{item}' in '{spec}' is not KEY=VALUE")
        options[key.strip()] = value.strip()
    return name.strip(), options


def with_options(spec: str, options: Mapping[str, Any] | None) -> str:
    """The backend spec with ``options`` added (``--option KEY=VALUE`` on the command line)."""
    if not options:
        return spec
    name, given = parse_spec(spec)
    merged = {**given, **{str(k): str(v) for k, v in options.items()}}
    return name + ":" + ",".join(f"{k}={v}" for k, v in merged.items())


def backend(spec: str) -> Any:
    """The usable backend named by ``spec`` (``NAME`` or ``NAME:KEY=VALUE,...``), configured with
    its options; a PluginError says why not (unknown, not usable here, a bad option)."""
    name, options = parse_spec(spec)
    sim = registry().simulator(name)
    try:
        ok, why = sim.available()
    except Exception as exc:  # a broken plugin is reported, not fatal
        ok, why = False, f"{type(exc).__name__}: {exc}"
    if not ok:
        raise PluginError(f"simulator backend '{name}' is not usable here: {why}")
    return sim.configure(**options)


# the registry's parts by name, for the modules and plugins that ask for one kind
def formula_kinds() -> dict[str, Any]:
    return dict(registry().formula_kinds)


def measures() -> dict[str, Any]:
    return dict(registry().measures)


def families() -> dict[str, Any]:
    return dict(registry().families)


def simulators() -> dict[str, Any]:
    return dict(registry().simulators)


def checkers() -> dict[str, Any]:
    return dict(registry().checkers)
