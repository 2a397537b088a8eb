"""Each formula kind against an independent computation, and a kind added by a plugin."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from prismcat.errors import EvaluationError
from prismcat.formulas.base import FieldError, FormulaContext
from prismcat.formulas.measures import MarchenkoPastur
from prismcat.plugins import plugin_manager
from prismcat.registry import formula_kinds, measures


def prepare(spec: dict, parameters=("a", "c"), clock="t", helpers=None):
    kind = formula_kinds()[spec["kind"]]
    ctx = FormulaContext(list(parameters), clock, dict(helpers or {}), measures())
    return kind.prepare(kind.spec.model_validate(spec), ctx)


T = np.linspace(0.0, 2.0, 9)


def logistic(a, t):
    return a * np.exp(4 * t) / (1 - a + a * np.exp(4 * t))


def test_closed_form():
    f = prepare(
        {
            "kind": "closed_form",
            "expression": "g * (g / 2 - 1)",
            "where": {"g": "a * exp(4 * t) / D", "D": "1 - a + a * exp(4 * t)"},
        }
    )
    g = logistic(0.3, T)
    np.testing.assert_allclose(f.evaluate({"a": 0.3, "c": 1.0}, T), g * (g / 2 - 1), rtol=1e-14)


@pytest.mark.parametrize("c", [0.3, 1.0, 2.5])
def test_spectral_integral_moments(c):
    """Int lam^j dMP(c) against the Narayana numbers m_1..m_3 (MODEL.md): exact to 1e-10."""
    narayana = {1: 1.0, 2: 1 + c, 3: 1 + 3 * c + c**2}
    for j, exact in narayana.items():
        f = prepare(
            {
                "kind": "spectral_integral",
                "measure": {"marchenko_pastur": {"ratio": "c"}},
                "integrand": f"lam**{j} + 0 * t",
            }
        )
        np.testing.assert_allclose(f.evaluate({"a": 1.0, "c": c}, T), exact, rtol=1e-10)


def test_spectral_integral_split_at_a_quantile_is_exact():
    """Int where(lam > q, 1, 0) with q the 0.3-quantile: a jump, integrated exactly when split."""
    spec = {
        "kind": "spectral_integral",
        "measure": {"marchenko_pastur": {"ratio": "c"}},
        "integrand": "where(lam > q, 1, 0) + 0 * t",
        "where": {"q": "mp_quantile(c, 0.3)"},
    }
    split = prepare({**spec, "split": ["q"]}).evaluate({"a": 1.0, "c": 0.5}, T)
    smeared = prepare(spec).evaluate({"a": 1.0, "c": 0.5}, T)
    np.testing.assert_allclose(split, 0.7, atol=1e-13)
    assert np.max(np.abs(smeared - 0.7)) > 1e-6  # without the split the jump is smeared


def test_spectral_integral_limits_and_atom():
    base = {
        "kind": "spectral_integral",
        "measure": {"marchenko_pastur": {"ratio": "c"}},
        "integrand": "1 + 0 * t",
    }
    params = {"a": 1.0, "c": 4.0}  # atom of mass 3/4 at 0
    assert prepare(base).evaluate(params, T)[0] == pytest.approx(1.0, abs=1e-13)
    assert prepare({**base, "atom": "exclude"}).evaluate(params, T)[0] == pytest.approx(0.25, abs=1e-13)
    assert prepare({**base, "lower": "mp_upper(c) / 2"}).evaluate(params, T)[0] == pytest.approx(
        1 - MarchenkoPastur(4.0).cdf(MarchenkoPastur(4.0).upper_edge / 2), abs=1e-12
    )


def test_spectral_integral_against_quad_in_time():
    f = prepare(
        {
            "kind": "spectral_integral",
            "measure": {"marchenko_pastur": {"ratio": "c"}},
            "integrand": "lam / (1 - a + a * exp(4 * lam * t))**2",
        }
    )
    m = MarchenkoPastur(0.5)
    for t, got in zip(T, f.evaluate({"a": 0.2, "c": 0.5}, T), strict=True):
        ref = quad(
            lambda x, t=t: x / (0.8 + 0.2 * np.exp(4 * x * t)) ** 2 * m.density(x),
            m.lower_edge,
            m.upper_edge,
            epsabs=1e-14,
        )[0]
        assert got == pytest.approx(ref, abs=1e-11)


def test_limits_must_not_move_in_time():
    with pytest.raises(FieldError) as info:
        prepare(
            {
                "kind": "spectral_integral",
                "measure": {"marchenko_pastur": {"ratio": "c"}},
                "integrand": "lam",
                "upper": "t",
            }
        )
    assert info.value.path == ("upper",)
    assert "must not depend on t" in info.value.message


def test_ode_logistic_has_its_known_solution():
    f = prepare({"kind": "ode", "state": {"g": "a"}, "rhs": {"g": "4 * g * (1 - g)"}, "expression": "g"})
    np.testing.assert_allclose(f.evaluate({"a": 0.05, "c": 1.0}, T), logistic(0.05, T), rtol=1e-9)


def test_ode_with_spectral_integrals_in_the_rhs():
    """m' = m * Int lam e^{-lam m} dMP(c) / Int e^{-lam m} dMP(c), checked against a quad-based solve."""
    from scipy.integrate import solve_ivp

    spec = {
        "kind": "ode",
        "state": {"m": "0.5"},
        "rhs": {"m": "Z1 / Z0"},
        "integrals": {
            "Z0": {"measure": {"marchenko_pastur": {"ratio": "c"}}, "integrand": "exp(-lam * m)"},
            "Z1": {
                "measure": {"marchenko_pastur": {"ratio": "c"}},
                "integrand": "lam * exp(-lam * m)",
            },
        },
        "expression": "m",
    }
    c = 0.7
    mp = MarchenkoPastur(c)

    def rhs(t, y):
        z0 = quad(lambda x: np.exp(-x * y[0]) * mp.density(x), mp.lower_edge, mp.upper_edge, epsabs=1e-13)[0]
        z1 = quad(
            lambda x: x * np.exp(-x * y[0]) * mp.density(x),
            mp.lower_edge,
            mp.upper_edge,
            epsabs=1e-13,
        )[0]
        return [z1 / z0]

    ref = solve_ivp(rhs, (0, 2), [0.5], t_eval=T, rtol=1e-11, atol=1e-12).y[0]
    np.testing.assert_allclose(prepare(spec).evaluate({"a": 1.0, "c": c}, T), ref, rtol=1e-8)


def test_ode_errors():
    with pytest.raises(FieldError, match="missing rhs for h"):
        prepare({"kind": "ode", "state": {"g": "a", "h": "1"}, "rhs": {"g": "1"}, "expression": "g"})
    f = prepare({"kind": "ode", "state": {"g": "a"}, "rhs": {"g": "g**2"}, "expression": "g"})
    with pytest.raises(EvaluationError, match="failed near t"):
        f.evaluate({"a": 1.0, "c": 1.0}, T)  # blows up at t = 1


SD = {
    "kind": "ode_family",
    "over": "s",
    "member": "G",
    "domain": {"contour": {"around": ["0", "xmax"], "margin": "0.5"}},
    "rhs": "(4 - 2 * phi0 - 2 * s) * G + 2 * phi0 - 2 * s * G**2",
    "couplings": {"phi0": "G", "phi1": "s * G"},
    "where": {"xmax": "a * (1 + sqrt(c))**2"},
}


def test_ode_family_hierarchy_that_truncates_exactly():
    """Initial measure u delta_0 (G = u/s): every phi_j with j >= 1 stays 0 and phi_0 is logistic
    (the small-data + mean-field edge, small-data.md section 3)."""
    u = 0.3
    f = prepare({**SD, "initial": "a / s", "expression": "phi0"})
    g = prepare({**SD, "initial": "a / s", "expression": "phi1"})
    np.testing.assert_allclose(f.evaluate({"a": u, "c": 0.5}, T), logistic(u, T), rtol=1e-9)
    np.testing.assert_allclose(g.evaluate({"a": u, "c": 0.5}, T), 0.0, atol=1e-10)


def test_ode_family_over_a_measure():
    """dG(x)/dt = -x G - c0 with c0 = Int G dMP: solved exactly member by member."""
    spec = {
        "kind": "ode_family",
        "over": "x",
        "member": "G",
        "domain": {"measure": {"marchenko_pastur": {"ratio": "c"}}},
        "initial": "1 + 0 * x",
        "rhs": "-x * G",
        "couplings": {"mean": "G"},
        "scalars": {"acc": {"initial": "0", "rhs": "mean"}},
        "expression": "acc",
    }
    f = prepare(spec)
    # acc(t) = Int (1 - e^{-x t}) / x dMP(c)
    m = MarchenkoPastur(0.4)
    want = [
        quad(
            lambda x, t=t: -np.expm1(-x * t) / x * m.density(x),
            m.lower_edge,
            m.upper_edge,
            epsabs=1e-14,
        )[0]
        for t in T
    ]
    np.testing.assert_allclose(f.evaluate({"a": 1.0, "c": 0.4}, T), want, atol=1e-9)


def test_no_closed_form_refuses_to_evaluate():
    f = prepare({"kind": "none", "reason": "inner layer"})
    with pytest.raises(EvaluationError, match="inner layer"):
        f.evaluate({"a": 1.0, "c": 1.0}, T)


def test_a_plugin_can_add_a_formula_kind(entry_text, tmp_path):
    """A third-party kind registered through the hook is usable in YAML and in the schema."""
    from typing import Literal

    from prismcat.catalog import entry_json_schema, load_entry
    from prismcat.errors import CatalogError
    from prismcat.formulas.base import FormulaKind, FormulaSpec, PreparedFormula
    from prismcat.hookspecs import hookimpl

    class PowerSpec(FormulaSpec):
        kind: Literal["power_law"]
        exponent: float

    class Power(PreparedFormula):
        kind = "power_law"

        def __init__(self, p):
            self.p = p

        def evaluate(self, params, times):
            return (1 + np.asarray(times)) ** -self.p

    class Plugin:
        @hookimpl
        def register_formula_kinds(self, register):
            register(FormulaKind("power_law", PowerSpec, lambda spec, ctx: Power(spec.exponent)))

    import yaml

    data = yaml.safe_load(entry_text("mean-field"))
    data["losses"]["train"]["formula"] = {"kind": "power_law", "exponent": 2}
    text = yaml.safe_dump(data)
    path = tmp_path / "mf.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError, match="unknown formula kind 'power_law'"):
        load_entry(path)
    pm = plugin_manager()
    plugin = Plugin()
    pm.register(plugin, name="test-power-law")
    try:
        entry = load_entry(path)
        assert entry.formulas["train"].kind == "power_law"
        assert entry.predict(np.array([1.0])).train[0] == pytest.approx(0.25)
        assert "power_law" in str(entry_json_schema())
    finally:
        pm.unregister(name="test-power-law")
