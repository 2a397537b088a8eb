"""Spectral integral: an integrand integrated against a named measure (MP, point mass, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from prismcat.formulas.base import (
    CompiledIntegral,
    FormulaContext,
    FormulaKind,
    FormulaSpec,
    IntegralSpec,
    PreparedFormula,
    check_helpers,
    compile_integral,
)
from prismcat.formulas.latex.entry import Eq


class SpectralIntegralSpec(FormulaSpec, IntegralSpec):
    """Int integrand d measure(over) over [lower, upper], split at ``split`` points."""

    kind: Literal["spectral_integral"]


class SpectralIntegral(PreparedFormula):
    kind = "spectral_integral"

    def __init__(self, integral: CompiledIntegral, clock: str):
        self.integral = integral
        self.clock = clock

    def evaluate(self, params: Mapping[str, float], times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        quad = self.integral.quadrature(params)
        values = self.integral.evaluate({**params, self.clock: times}, quad)
        return np.broadcast_to(values, times.shape).astype(float, copy=True)


def prepare(spec: SpectralIntegralSpec, ctx: FormulaContext) -> SpectralIntegral:
    scope = ctx.scope(spec)
    integral = compile_integral(spec, scope, (), ctx.measures, dynamic=[ctx.clock], values=ctx.values)
    check_helpers(scope.extend([spec.over]), spec)  # helpers may use the integration variable
    return SpectralIntegral(integral, ctx.clock)


def latex(p: Any, spec: SpectralIntegralSpec) -> tuple[str, list[Eq]]:
    return p.integral(spec), []


KIND = FormulaKind(
    "spectral_integral",
    SpectralIntegralSpec,
    prepare,
    "An integral against a spectral measure, e.g. Marchenko-Pastur.",
    latex=latex,
)
