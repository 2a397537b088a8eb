"""Closed form: an expression of the clock variable and the parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from prismcat.formulas.base import (
    Expr,
    FormulaContext,
    FormulaKind,
    FormulaSpec,
    PreparedFormula,
    check_helpers,
    compile_at,
)
from prismcat.formulas.expr import Compiled
from prismcat.formulas.latex.entry import Eq


class ClosedFormSpec(FormulaSpec):
    """``expression``: the limit curve as an expression of the clock and the parameters."""

    kind: Literal["closed_form"]
    expression: Expr


class ClosedForm(PreparedFormula):
    kind = "closed_form"

    def __init__(self, expression: Compiled, clock: str):
        self.expression = expression
        self.clock = clock

    def evaluate(self, params: Mapping[str, float], times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        values = self.expression({**params, self.clock: times})
        return np.broadcast_to(values, times.shape).astype(float, copy=True)


def prepare(spec: ClosedFormSpec, ctx: FormulaContext) -> ClosedForm:
    scope = ctx.scope(spec)
    check_helpers(scope, spec)
    return ClosedForm(compile_at(scope, spec.expression, ("expression",)), ctx.clock)


def latex(p: Any, spec: ClosedFormSpec) -> tuple[str, list[Eq]]:
    return p.tex(spec.expression), []


KIND = FormulaKind(
    "closed_form", ClosedFormSpec, prepare, "An explicit expression of time and parameters.", latex=latex
)
