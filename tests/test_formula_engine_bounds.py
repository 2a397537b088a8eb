"""Bounds are bounds: a split point outside [lower, upper] is an error, never a wider integral."""

from __future__ import annotations

import numpy as np
import pytest

import prismcat
from prismcat.errors import EvaluationError
from prismcat.formulas.base import FieldError, FormulaContext
from prismcat.registry import formula_kinds, measures

ENTRY = """\
id: mean-field
title: Split probe
summary: A spectral integral with limits and split points.
cell: mean-field
scaling: {d: 1, k: 2, n: 1, sigma2: -2}
parameters:
  u: {definition: sigma2 * k, default: 0.2, range: [0.001, 100]}
  alpha: {definition: n / d, default: 2.0, range: [0.01, 1000]}
clock: {name: t, definition: t}
losses:
  train:
    quantity: L_train / d
    formula:
      kind: spectral_integral
      measure: {marchenko_pastur: {ratio: 1 / alpha}}
      integrand: 0.5 * lam * exp(-lam * t)
      lower: 0.5
      upper: 2
      split: [1, 3]
  population: {absent: not needed here}
convergence: {rate: 1, in: d / k + 1 / d}
validation: {ladder: [2, 4, 8], seeds: 2, horizon: 2, tolerance: {train: 0.03}}
"""

SPEC = {
    "kind": "spectral_integral",
    "measure": {"marchenko_pastur": {"ratio": "c"}},
    "integrand": "lam * exp(-lam * t)",
    "lower": "0.3",
    "upper": "2.5",
}


def prepare(spec: dict, **values: dict):
    kind = formula_kinds()[spec["kind"]]
    ctx = FormulaContext(["c"], "t", {}, measures(), **values)
    return kind.prepare(kind.spec.model_validate(spec), ctx)


def test_a_split_outside_the_limits_is_a_located_load_error(tmp_path):
    (tmp_path / "entry.yaml").write_text(ENTRY)
    cat = prismcat.load_catalog(tmp_path)
    assert not cat.entries
    (problem,) = cat.problems
    line = ENTRY.splitlines().index("      split: [1, 3]") + 1
    assert problem.location.path == ("losses", "train", "formula", "split", 1)
    assert (
        problem.location.line == line
        and problem.location.column == ENTRY.splitlines()[line - 1].index("3") + 1
    )
    assert str(problem).endswith(
        f"entry.yaml:{line}:{problem.location.column}: losses.train.formula.split[1]: "
        "split point 3 lies above the upper limit 2: split points must lie within [lower, upper], "
        "they never widen it"
    )


def test_a_split_that_depends_on_parameters_is_checked_at_the_given_values():
    spec = {**SPEC, "split": ["1", "mp_quantile(c, 0.99)"]}
    with pytest.raises(FieldError) as info:
        prepare(spec, values={"c": 0.5})  # the 0.99-quantile of MP(0.5) is 2.7, above 2.5
    assert info.value.path == ("split", 1)
    assert "lies above the upper limit 2.5" in info.value.message
    prepare(spec)  # without values nothing can be said at load time ...
    with pytest.raises(
        EvaluationError, match=r"split point 1 \('mp_quantile\(c, 0.99\)'\) = 2.7\d* lies above"
    ):
        prepare(spec).evaluate({"c": 0.5}, np.array([0.0, 1.0]))  # ... and evaluation refuses
    below = {**SPEC, "split": ["0.1"]}
    with pytest.raises(FieldError, match=r"split point 0\.1 lies below the lower limit 0\.3"):
        prepare(below)


def test_in_bound_splits_give_the_same_values_as_before(catalog):
    """Numbers from the engine before the check: they did not move by one bit (this test passes
    on the old engine too)."""
    spec = {**SPEC, "split": ["1", "mp_quantile(c, 0.5)"]}
    values = prepare(spec).evaluate({"c": 0.5}, np.array([0.0, 1.0]))
    assert values.tolist() == [0.8745865084596812, 0.2494582218713835]
    free = catalog.get("free").predict(np.array([0.5, 1.0, 2.0]))  # split at q, no limits
    assert free.train.tolist() == [0.044068999602057714, 0.0037102560328412695, 0.0001305109054631117]
    assert free.population.tolist() == [0.10376962047925552, 0.010008873298488145, 0.0004016461006455618]
    at_the_limits = prepare({**SPEC, "split": ["0.3", "2.5"]}).evaluate({"c": 0.5}, np.array([1.0]))
    np.testing.assert_allclose(at_the_limits, prepare(SPEC).evaluate({"c": 0.5}, np.array([1.0])), rtol=1e-14)
