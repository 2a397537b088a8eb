"""No closed form: the entry states that only convergence (a Cauchy check) can be verified."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field

from prismcat.errors import EvaluationError
from prismcat.formulas.base import FormulaContext, FormulaKind, FormulaSpec, PreparedFormula
from prismcat.formulas.latex.entry import Eq


class NoClosedFormSpec(FormulaSpec):
    """``reason`` says why no formula is given; checkers verify convergence only."""

    kind: Literal["none"]
    reason: str = Field(min_length=1)


class NoClosedForm(PreparedFormula):
    kind = "none"

    def __init__(self, reason: str):
        self.reason = reason

    def evaluate(self, params: Mapping[str, float], times: np.ndarray) -> np.ndarray:
        raise EvaluationError(f"no closed-form limit: {self.reason}")


def prepare(spec: NoClosedFormSpec, ctx: FormulaContext) -> NoClosedForm:
    return NoClosedForm(spec.reason)


def latex(p: Any, spec: NoClosedFormSpec) -> tuple[str, list[Eq]]:
    return r"\text{no closed form}", []


KIND = FormulaKind(
    "none",
    NoClosedFormSpec,
    prepare,
    "No closed form; only convergence is checked.",
    has_limit=False,
    latex=latex,
)
