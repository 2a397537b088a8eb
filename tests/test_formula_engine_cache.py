"""In-process caches key on everything that determines the numbers (issue #11).

Two entries with the same ODE spec whose entry-level helper differs (``r: 4`` against ``r: 40``)
must not share a cached solution, and ``load_catalog`` must see a YAML file edited in place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import prismcat

ENTRY = """\
id: narrow-latent
title: Cache probe
summary: One ODE whose rate is an entry-level helper.
cell: narrow-latent
scaling: {{d: 1, k: 0, n: 1, sigma2: -1}}
parameters:
  a: {{definition: sigma2 * d, default: 0.5, range: [0.001, 2.0]}}
where:
  r: {rate}
clock: {{name: t, definition: t}}
losses:
  train:
    quantity: L_train / k
    formula:
      kind: ode
      state: {{g: a}}
      rhs: {{g: -r * g}}
      expression: g
  population: {{absent: not needed here}}
convergence: {{rate: 1, in: 1 / d}}
validation: {{ladder: [8, 16, 32], seeds: 2, horizon: 2, tolerance: {{train: 0.05}}}}
"""

TIMES = np.linspace(0.0, 1.0, 5)


def _catalog(root: Path, rate: str) -> prismcat.Catalog:
    root.mkdir(parents=True, exist_ok=True)
    (root / "entry.yaml").write_text(ENTRY.format(rate=rate))
    cat = prismcat.load_catalog(root)
    assert not cat.problems, "\n".join(map(str, cat.problems))
    return cat


def test_entry_helpers_are_part_of_the_ode_solution_key(tmp_path):
    slow = _catalog(tmp_path / "slow", "4").get("narrow-latent").predict(TIMES)
    fast = _catalog(tmp_path / "fast", "40").get("narrow-latent").predict(TIMES)
    np.testing.assert_allclose(slow.train, 0.5 * np.exp(-4 * TIMES), rtol=0, atol=1e-10)
    np.testing.assert_allclose(fast.train, 0.5 * np.exp(-40 * TIMES), rtol=0, atol=1e-10)


def test_load_catalog_sees_an_edited_file(tmp_path):
    root = tmp_path / "catalog"
    before = _catalog(root, "4.0").get("narrow-latent")
    assert before.predict(TIMES).train[-1] == pytest.approx(0.5 * np.exp(-4.0), abs=1e-10)
    after = _catalog(root, "40.").get("narrow-latent")  # same path, same size, new content
    assert after.spec.where["r"] == "40.0"
    assert after.predict(TIMES).train[-1] == pytest.approx(0.5 * np.exp(-40.0), abs=1e-10)


def test_entry_helpers_are_part_of_the_ode_family_solution_key():
    """The same for the ``ode_family`` kind (its solutions are cached too)."""
    from prismcat.formulas.base import FormulaContext
    from prismcat.registry import formula_kinds, measures

    kind = formula_kinds()["ode_family"]
    spec = kind.spec.model_validate(
        {
            "kind": "ode_family",
            "domain": {"contour": {"around": ["0", "1"]}},
            "initial": "1 / s",
            "rhs": "-r * G",
            "couplings": {"phi0": "G"},
            "expression": "phi0",
        }
    )

    def curve(rate: str) -> np.ndarray:
        ctx = FormulaContext(["a"], "t", {"r": rate}, measures())
        return kind.prepare(spec, ctx).evaluate({"a": 0.5}, TIMES)

    np.testing.assert_allclose(curve("4"), np.exp(-4 * TIMES), rtol=0, atol=1e-10)
    np.testing.assert_allclose(curve("40"), np.exp(-40 * TIMES), rtol=0, atol=1e-10)


def test_load_catalog_reuses_an_unchanged_catalogue_but_hands_out_its_own_lists(tmp_path):
    root = tmp_path / "catalog"
    first = _catalog(root, "4.0")
    again = prismcat.load_catalog(root)
    assert again.get("narrow-latent") is first.get("narrow-latent")  # nothing was read again
    again.problems.append("mine")
    again.entries.clear()
    assert not prismcat.load_catalog(root).problems and "narrow-latent" in prismcat.load_catalog(root)
