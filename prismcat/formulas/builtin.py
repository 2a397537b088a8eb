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


def _mp_latex(p: Any, args: dict[str, str], over: str) -> str:
    p.use("mp")
    return r"d\mu_{\mathrm{MP}(" + p.tex(args["ratio"], inline=True) + ")}(" + p.sym(over) + ")"


def _point_mass_latex(p: Any, args: dict[str, str], over: str) -> str:
    p.use("point_mass")
    return r"d\delta_{" + p.tex(args["at"], inline=True) + "}(" + p.sym(over) + ")"


@hookimpl
def register_measures(register: Callable[[Any], None]) -> None:
    register(
        MeasureKind(
            "marchenko_pastur",
            ("ratio",),
            marchenko_pastur,
            "MP(ratio), mean 1, atom at 0 if ratio > 1",
            latex=_mp_latex,
        )
    )
    register(MeasureKind("point_mass", ("at",), PointMass, "a unit mass at a point", latex=_point_mass_latex))
