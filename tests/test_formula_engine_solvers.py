"""The engine's own DOP853 and the conjugate-symmetric half contour of real ODE families."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from prismcat.formulas.base import FormulaContext
from prismcat.formulas.integrate import SolverError, integrate
from prismcat.registry import formula_kinds, measures

FAMILY = {
    "kind": "ode_family",
    "domain": {"contour": {"around": ["0", "a * (1 + sqrt(c))**2"], "margin": "0.5"}},
    "initial": "c * mp_stieltjes(c, s / a)",
    "rhs": "(4 - 2 * phi0 - 2 * s) * G + 2 * phi0 - 2 * s * G**2",
    "couplings": {"phi0": "G", "phi1": "s * G"},
    "expression": "0.5 * ((1 - phi0)**2 + phi1)",
}


def prepare(spec: dict):
    kind = formula_kinds()[spec["kind"]]
    return kind.prepare(kind.spec.model_validate(spec), FormulaContext(["a", "c"], "t", {}, measures()))


def test_dop853_follows_scipy_on_a_non_stiff_problem():
    def fun(t, y):
        return np.array([y[1], -np.sin(y[0]) + 0.1 * np.cos(t)])

    grid = np.linspace(0.0, 10.0, 21)
    ref = solve_ivp(fun, (0, 10), [1.0, 0.0], method="DOP853", t_eval=grid, rtol=1e-11, atol=1e-13).y
    np.testing.assert_allclose(
        integrate(fun, 0.0, np.array([1.0, 0.0]), grid, "DOP853", 1e-11, 1e-13), ref, atol=1e-12
    )


def test_dop853_names_where_it_fails():
    with pytest.raises(SolverError) as info:
        integrate(lambda t, y: y**2, 0.0, np.array([1.0]), np.array([0.5, 2.0]), "DOP853", 1e-10, 1e-12)
    assert info.value.t == pytest.approx(1.0, abs=1e-3)  # y = 1 / (1 - t)


@pytest.mark.parametrize("a", [1.0, 40.0])
def test_a_real_family_on_half_the_contour_equals_the_full_contour(a):
    half, full = prepare(FAMILY), prepare(FAMILY)
    full.real_family = False
    assert half.real_family
    times = np.linspace(0.0, 2.0, 9)
    params = {"a": a, "c": 2.0}
    np.testing.assert_allclose(half.evaluate(params, times), full.evaluate(params, times), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "change",
    [
        {"rhs": "imag(G) + G"},
        {"rhs": "where(real(G) > 0, G, -G)"},
        {"rhs": "(-2) ** G"},
        {"couplings": {"phi0": "abs(G) * sign(G)", "phi1": "s * G"}},
    ],
)
def test_families_that_do_not_commute_with_conjugation_keep_the_full_contour(change):
    assert not prepare({**FAMILY, **change}).real_family
