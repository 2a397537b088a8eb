"""The hooks through which plugins extend prismcat.

Every hook is a tiny ``register_*`` function: prismcat calls it with a ``register`` callback and
the plugin calls ``register(thing)`` once per thing it provides. Built-in kinds use the very same
hooks, so a third-party plugin (an installed package with an entry point in the ``prismcat``
group) is a first-class citizen::

    # pyproject.toml of a plugin
    [project.entry-points.prismcat]
    my_plugin = "my_plugin"

    # my_plugin.py
    from prismcat import hookimpl

    @hookimpl
    def register_formula_kinds(register):
        register(MY_KIND)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT = "prismcat"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_formula_kinds(register: Callable[[Any], None]) -> None:
    """Register formula kinds (:class:`prismcat.formulas.base.FormulaKind`).

    A kind owns a pydantic spec model (discriminated by its ``kind`` field, so it appears in
    ``prismcat schema``) and a ``prepare(spec, context)`` that compiles the spec, raising
    :class:`prismcat.formulas.base.FieldError` for located problems, into an object whose
    ``evaluate(params, times)`` returns the limit curve.
    """


@hookspec
def register_measures(register: Callable[[Any], None]) -> None:
    """Register spectral measures (:class:`prismcat.formulas.base.MeasureKind`) that integrals
    and ODE families may integrate against, e.g. ``marchenko_pastur`` or ``point_mass``."""


@hookspec
def register_simulators(register: Callable[[Any], None]) -> None:
    """Register simulator backends: instances of :class:`prismcat.simulation.arrays.ArraySimulator`
    (implement ``asarray`` and ``to_numpy``; prismcat runs the loops) or of
    :class:`prismcat.simulation.base.Simulator` (implement ``integrate``). Each declares the
    formulations and integrators it runs and prismcat negotiates every problem with it. Check one
    with :mod:`prismcat.testing`; walk-through: ``docs/writing-a-simulator.md``.

    :param register: call ``register(simulator)`` once per backend; its ``name`` is what
        ``--backend`` selects.
    """


@hookspec
def register_checkers(register: Callable[[Any], None]) -> None:
    """Register checkers (:class:`prismcat.validation.checks.Checker`): verdicts on an entry,
    from its simulated ladder (``needs_simulation``) or from its formulas alone. Walk-through:
    ``docs/writing-a-checker.md``.

    :param register: call ``register(checker)`` once per checker; every checker that ``applies``
        to an entry runs on it.
    """


@hookspec
def register_views(register: Callable[[Any], None]) -> None:
    """Register views (:class:`prismcat.registry.View`): how the core's objects show themselves
    (``entry.html``, ``prediction.plot``, ``validation.report``, ...). The built-in ones come from
    :mod:`prismcat.display`; the core asks the registry for a view by name and never imports the
    code that draws.

    :param register: call ``register(view)`` once per view.
    """


@hookspec
def register_families(register: Callable[[Any], None]) -> None:
    """Register model families (:class:`prismcat.families.base.ModelFamily`): a family's size
    variables, canonical ratios, the geometry of its cells, how it builds and runs finite-size
    problems, and its catalogue folders. The weight-tied autoencoder is registered this way too.
    Walk-through: ``docs/writing-a-family.md``.

    :param register: call ``register(family)`` once per family; its ``name`` is what an entry's
        ``model:`` field says.
    """
