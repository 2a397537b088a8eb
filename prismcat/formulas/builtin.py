"""Registers the built-in formula kinds and measures through the public hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prismcat.formulas.base import MeasureKind
from prismcat.formulas.kinds import closed_form, no_closed_form, ode, ode_family, spectral_integral
from prismcat.formulas.measures import PointMass, marchenko_pastur
from prismcat.hookspecs import hookimpl


@hookimpl
def register_formula_kinds(register: Callable[[Any], None]) -> None:
    for module in (closed_form, spectral_integral, ode, ode_family, no_closed_form):
        register(module.KIND)


@hookimpl
def register_measures(register: Callable[[Any], None]) -> None:
    register(
        MeasureKind(
            "marchenko_pastur",
            ("ratio",),
            marchenko_pastur,
            "MP(ratio), mean 1, atom at 0 if ratio > 1",
        )
    )
    register(MeasureKind("point_mass", ("at",), PointMass, "a unit mass at a point"))
