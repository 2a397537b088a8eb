"""Spectral measures: quadrature against exact moments, cdf/quantile, Stieltjes transform."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from prismcat.formulas.measures import MarchenkoPastur, PointMass, mp_moment

RATIOS = [1e-4, 0.05, 0.25, 0.5, 0.9, 0.98, 1.0, 1.02, 1.5, 2.0, 4.0, 20.0]


def narayana(c: float, j: int) -> float:
    """Exact MP moments from the Narayana numbers, computed with integers."""
    if j == 0:
        return 1.0
    return sum(c**r / (r + 1) * math.comb(j, r) * math.comb(j - 1, r) for r in range(j))


@pytest.mark.parametrize("c", RATIOS)
def test_quadrature_reproduces_closed_form_moments(c):
    q = MarchenkoPastur(c).quadrature()
    for j in range(9):
        got = q.integrate(q.nodes**j)
        assert got == pytest.approx(narayana(c, j), rel=1e-10, abs=1e-12), j
        assert mp_moment(c, j) == pytest.approx(narayana(c, j), rel=1e-12)
    # mean 1 and variance c (MODEL.md), including the atom for c > 1
    assert q.integrate(q.nodes) == pytest.approx(1.0, abs=1e-12)
    assert q.integrate(q.nodes**2) - 1 == pytest.approx(c, rel=1e-10)


@pytest.mark.parametrize("c", [0.25, 0.98, 1.0, 2.0])
@pytest.mark.parametrize("t", [0.05, 1.0, 5.0])
def test_quadrature_handles_fronts_and_edges(c, t):
    """Integrands with square-root edges, the c = 1 hard edge and late-time fronts."""
    m = MarchenkoPastur(c)

    def f(x):
        return x * math.exp(-8 * x * t) / (1 + 0.5 * math.expm1(4 * x * t) * math.exp(-4 * x * t))

    ref, _ = quad(
        lambda x: f(x) * m.density(x),
        m.lower_edge,
        m.upper_edge,
        epsabs=1e-15,
        epsrel=1e-13,
        limit=400,
    )
    q = m.quadrature()
    got = q.integrate(np.array([f(x) for x in q.nodes]))
    assert got == pytest.approx(ref + m.atom * f(0.0), abs=1e-12)


@pytest.mark.parametrize("c", [0.25, 1.0, 2.0, 20.0])
def test_cdf_quantile_round_trip(c):
    m = MarchenkoPastur(c)
    for p in [0.001, 0.1, 0.5, 0.9, 0.999]:
        x = m.quantile(p)
        if p <= m.atom:
            assert x == 0.0
            assert m.cdf(0.0) == pytest.approx(m.atom)
        else:
            assert m.cdf(x) == pytest.approx(p, abs=1e-12)
    assert m.cdf(-1) == 0.0
    assert m.cdf(m.upper_edge) == 1.0
    assert m.quantile(1.0) == m.upper_edge


@pytest.mark.parametrize("c", [0.01, 0.3, 1.0, 3.0])
def test_cdf_agrees_with_integrated_density(c):
    m = MarchenkoPastur(c)
    for frac in [0.1, 0.5, 0.9]:
        x = m.lower_edge + frac * (m.upper_edge - m.lower_edge)
        ref, _ = quad(m.density, m.lower_edge, x, epsabs=1e-14, limit=200)
        assert m.cdf(x) == pytest.approx(m.atom + ref, abs=1e-10)


@pytest.mark.parametrize("c", [0.5, 1.0, 2.5])
def test_stieltjes_transform_matches_quadrature(c):
    m = MarchenkoPastur(c)
    q = m.quadrature()
    z = np.array([m.upper_edge + 1.0, -0.5, 2.0 + 3.0j, 0.3 - 0.7j])
    want = np.array([np.sum(q.weights / (zz - q.nodes)) for zz in z])
    np.testing.assert_allclose(m.stieltjes(z), want, atol=1e-12)


def test_limits_and_split_partition_the_measure():
    m = MarchenkoPastur(1 / 0.5)  # ratio 2: atom of mass 1/2 at 0
    q = m.quantile(0.7)
    below = m.quadrature(upper=q)
    above = m.quadrature(lower=q)
    assert below.weights.sum() == pytest.approx(0.7, abs=1e-12)
    assert above.weights.sum() == pytest.approx(0.3, abs=1e-12)
    assert m.quadrature(lower=q, include_atoms=False).weights.sum() == pytest.approx(0.3, abs=1e-12)
    assert m.quadrature(upper=q, include_atoms=False).weights.sum() == pytest.approx(0.2, abs=1e-12)


def test_point_mass():
    p = PointMass(1.5)
    assert p.quadrature().integrate(np.array([2.0])) == 2.0
    assert p.quadrature(upper=1.0).nodes.size == 0


def test_bad_ratio_is_an_evaluation_error():
    from prismcat.errors import EvaluationError

    for bad in [0.0, -1.0, float("nan"), float("inf")]:
        with pytest.raises(EvaluationError):
            MarchenkoPastur(bad)
