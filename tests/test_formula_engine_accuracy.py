"""The ``ode`` and ``ode_family`` kinds against a tight reference (issue #12).

The reference is the original formulation written out in numpy, independent of the expression
compiler: the full contour (no conjugate halving), no folding, SciPy's ``solve_ivp`` DOP853 at
rtol 1e-13, atol 1e-15. It shares only the spatial discretisation that defines each formula (the
contour rule of the ``ode_family`` kind, the Marchenko-Pastur quadrature of ``measures.py``). On a
long contour the family is stiff (|lambda| ~ 2 max |s|) and DOP853 left to itself steps at the
edge of its stability region, where it is off by 1e-9 even at rtol 1e-13 (checked against a
long-double solution, which this reference then matches to 1e-13): its step is capped at
4 / (2 max |s|). Cases: each entry's defaults on the CLI window and its validation window, and
every parameter point and clock at which a consistency relation
(``prismcat.checkers.consistency.evaluate``) evaluates it, for the losses the relation compares.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from threadpoolctl import threadpool_limits

from prismcat.formulas.measures import marchenko_pastur
from prismcat.validation.design import default_window, settings_for

TOLERANCE = 1e-9
TIGHT = {"method": "DOP853", "rtol": 1e-13, "atol": 1e-15}


def _solve(fun, y0: np.ndarray, times: np.ndarray, max_step: float = np.inf) -> np.ndarray:
    """Tight DOP853 states at ``times`` (clock starts at 0)."""
    grid = np.unique(times)
    if grid[-1] <= 0:
        return np.repeat(y0[:, None], times.size, axis=1)
    with threadpool_limits(1):
        sol = solve_ivp(fun, (0.0, grid[-1]), y0, t_eval=grid, max_step=max_step, **TIGHT)
    assert sol.status == 0, sol.message
    return sol.y[:, np.searchsorted(grid, times)]


def narrow_latent(params: dict, times: np.ndarray) -> dict:
    """A' = 2 - g, g' = 4 g (1 - g) psi, psi = <lam> under MP(1/alpha) tilted by exp(2 A lam)."""
    a, alpha = params["a"], params["alpha"]
    quad = marchenko_pastur(1 / alpha).quadrature()
    lam, w = quad.nodes, quad.weights
    top = (1 + math.sqrt(1 / alpha)) ** 2

    def psi(A):
        tilt = np.exp(2 * np.multiply.outer(A, lam - top))
        return (tilt * lam) @ w / (tilt @ w)

    def fun(t, y):
        A, g = y
        return np.array([2 - g, 4 * g * (1 - g) * psi(A)])

    A, g = _solve(fun, np.array([0.0, a]), times)
    return {"train": g * psi(A) * (g / 2 - 1), "population": g * (g / 2 - 1)}


def contour(lo: float, hi: float, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``ode_family`` kind's trapezoid rule on the ellipse around [lo, hi] (all nodes)."""
    centre, radius = (lo + hi) / 2, (hi - lo) / 2
    eta = min(0.6, math.acosh(1 + margin / radius))
    n = max(64, 4 * math.ceil(40 / eta / 4))
    z = eta + 2j * np.pi * (np.arange(n) + 0.5) / n
    return centre + radius * np.cosh(z), radius * np.sinh(z) / n


def small_data(params: dict, times: np.ndarray) -> dict:
    """dG/dtau = (4 - 2 phi0 - 2 s) G + 2 phi0 - 2 s G^2 on the contour, J' = phi1 - phi2."""
    gamma, a = params["gamma"], params["a"]
    s, w = contour(0.0, a * (1 + math.sqrt(gamma)) ** 2, 0.5)
    x = s / a  # gamma * Stieltjes transform of MP(gamma) at s / a
    lo, hi = (1 - math.sqrt(gamma)) ** 2, (1 + math.sqrt(gamma)) ** 2
    g0 = gamma * (x - 1 + gamma - np.sqrt(x - hi) * np.sqrt(x - lo)) / (2 * gamma * x)
    n = s.size

    def phis(G):
        return [np.real((w * s**j) @ G) for j in range(3)]

    def fun(t, y):
        G = y[:n]
        phi0, phi1, phi2 = phis(G)
        dG = (4 - 2 * phi0 - 2 * s) * G + 2 * phi0 - 2 * s * G**2
        return np.concatenate([dG, [phi1 - phi2]])

    y = _solve(fun, np.concatenate([g0, [0.0]]), times, max_step=4 / (2 * np.max(np.abs(s))))
    phi0, phi1, _ = phis(y[:n])
    J = np.real(y[n])
    ag = a * gamma
    train = 0.5 * ((1 - phi0) ** 2 + phi1)
    population = -(phi0 - ag) + (phi0**2 - ag**2) / 2 + (phi1 - a * ag) + 2 * J
    return {"train": train, "population": population}


REFERENCES = {"narrow-latent": narrow_latent, "small-data": small_data}


def test_every_ode_entry_has_a_reference(catalog):
    kinds = {"ode", "ode_family"}
    assert {
        e.id for e in catalog if {e.formula_kinds["train"], e.formula_kinds["population"]} & kinds
    } == set(REFERENCES)


def _cases(catalog):
    """(entry id, label, parameters, times, losses) where the engine must match the reference."""
    for entry_id in REFERENCES:
        entry = catalog.get(entry_id)
        v = entry.spec.validation
        losses = ("train", "population")
        yield entry_id, "defaults, t in [0, 3]", entry.parameters(), np.linspace(0, 3, 31), losses
        window = np.linspace(*default_window(entry), v.points)
        yield entry_id, "defaults, validation window", entry.parameters(v.parameters), window, losses
    for lower in catalog:
        for rel in lower.relations:
            if rel.spec.entry not in REFERENCES:
                continue
            settings = settings_for(lower, "quick")
            clock = np.linspace(settings.start, settings.horizon, settings.points)
            params = lower.parameters(settings.parameters)
            transforms = {k: f for k, f in rel.transforms.items() if f is not None}
            reads_f0 = any("F0" in f.variables for f in transforms.values())
            for value in rel.spec.approach.values:
                env = {
                    **{k: np.float64(x) for k, x in params.items()},
                    rel.spec.approach.name: np.float64(value),
                }
                point = {k: float(c(env)) for k, c in rel.parameters.items()}
                at = clock if rel.clock is None else rel.clock({**env, lower.clock_name: clock})
                at = np.broadcast_to(at, clock.shape)
                if reads_f0:  # F0: the neighbour at the clock value of lower's t = 0
                    zero = 0.0 if rel.clock is None else rel.clock({**env, lower.clock_name: np.zeros(1)})[0]
                    at = np.concatenate([[zero], at])
                label = f"{lower.id} {rel.spec.approach.name}={value:g}"
                yield rel.spec.entry, label, point, np.asarray(at, dtype=float), tuple(transforms)


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        import prismcat
        from tests.conftest import CATALOG

        cases = list(_cases(prismcat.load_catalog(CATALOG)))
        metafunc.parametrize("case", cases, ids=[f"{c[0]}: {c[1]}" for c in cases])


@pytest.mark.slow
def test_engine_matches_the_tight_reference(catalog, case):
    entry_id, _, params, times, losses = case
    pred = catalog.get(entry_id).predict(times, params, check_range=False)
    ref = REFERENCES[entry_id](params, times)
    for loss in losses:
        error = np.max(np.abs(getattr(pred, loss) - ref[loss]))
        assert error <= TOLERANCE, f"{loss}: max |engine - reference| = {error:.3g}"
