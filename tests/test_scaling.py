"""Monomials in the sizes, their growth under scaling, and concrete sizes from N."""

from __future__ import annotations

from fractions import Fraction

import pytest

from prismcat.errors import ExpressionError
from prismcat.families.autoencoder import AUTOENCODER
from prismcat.scaling import canonical_mismatch, solve_sizes
from prismcat.scaling import monomial as monomial_in

SIZES = AUTOENCODER.sizes


def monomial(text):
    return monomial_in(text, SIZES)


F = Fraction


@pytest.mark.parametrize(
    ("text", "coef", "powers"),
    [
        ("k / d", 1.0, {"k": 1, "d": -1}),
        ("sigma2 * d", 1.0, {"sigma2": 1, "d": 1}),
        ("2 * n / d", 2.0, {"n": 1, "d": -1}),
        ("sqrt(d * k)", 1.0, {"d": F(1, 2), "k": F(1, 2)}),
        ("(k / d)**2", 1.0, {"k": 2, "d": -2}),
        ("d**0.5 / k**0.5", 1.0, {"d": F(1, 2), "k": F(-1, 2)}),
    ],
)
def test_monomials(text, coef, powers):
    m = monomial(text)
    assert m.coefficient == pytest.approx(coef)
    assert m.exponents() == {k: F(v) for k, v in powers.items()}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("k + d", "must be a monomial"),
        ("k / t", "'t' is not a size"),
        ("d**k", "exponents must be numbers"),
        ("exp(d)", "must be a monomial"),
    ],
)
def test_non_monomials_are_rejected(text, message):
    with pytest.raises(ExpressionError, match=message):
        monomial(text)


def test_growth_and_canonical_names():
    scaling = {"d": F(1), "k": F(2), "n": F(1), "sigma2": F(-2)}
    assert monomial("sigma2 * k").growth(scaling) == 0
    assert monomial("k / d").growth(scaling) == 1
    assert canonical_mismatch("a", monomial("sigma2 * k"), AUTOENCODER.ratios, "autoencoder") is not None
    assert canonical_mismatch("u", monomial("sigma2 * k"), AUTOENCODER.ratios, "autoencoder") is None
    assert canonical_mismatch("my_ratio", monomial("k * k / d"), AUTOENCODER.ratios, "autoencoder") is None


def test_solve_sizes_holds_fixed_ratios():
    scaling = {"d": F(1), "k": F(2), "n": F(1), "sigma2": F(-2)}
    fixed = {"u": (monomial("sigma2 * k"), 0.5), "alpha": (monomial("n / d"), 2.0)}
    for N in [8, 16, 32]:
        s = solve_sizes(N, scaling, fixed, {"d": 16, "k": 2}, SIZES)
        assert s["d"] == pytest.approx(16 * N)
        assert s["k"] == pytest.approx(2 * N**2)
        assert s["n"] / s["d"] == pytest.approx(2.0)
        assert s["sigma2"] * s["k"] == pytest.approx(0.5)


def test_contradictory_fixed_values_are_detected():
    scaling = {"d": F(1), "k": F(1), "n": F(1), "sigma2": F(-1)}
    fixed = {
        "gamma": (monomial("k / d"), 2.0),
        "a": (monomial("sigma2 * d"), 1.0),
        "u": (monomial("sigma2 * k"), 5.0),
    }
    with pytest.raises(ValueError, match="contradict"):
        solve_sizes(10, scaling, fixed, None, SIZES)
