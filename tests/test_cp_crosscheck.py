"""The external cross-check of the large-data face: its population flow is the SYM nu = 2 CP model
of arXiv:2602.04548 (docs/theory/cp-family.md#cp-family-narayana), whose paper gives a closed form
through the Narayana generating function. Written here independently of the catalogue and of the
formula engine, and compared with the catalogue's curve on a grid of (gamma, a)."""

from __future__ import annotations

import numpy as np
import pytest

import prismcat

TIMES = np.linspace(0.05, 2.0, 40)  # t = 0 is a removable 0/0 of the closed form


def narayana(z: np.ndarray, y: float) -> tuple[np.ndarray, np.ndarray]:
    """h(z, y) = sum_j z^(j-1) sum_r N(j, r) y^r in closed form, and dh/dz (z < 0 here)."""
    q = 1.0 - 2.0 * z * (y + 1.0) + z**2 * (y - 1.0) ** 2
    s = np.sqrt(q)
    num = 1.0 - z * (y + 1.0) - s
    dnum = -(y + 1.0) - (-(y + 1.0) + z * (y - 1.0) ** 2) / s
    h = num / (2.0 * z**2)
    dh = dnum / (2.0 * z**2) - num / z**3
    return h, dh


def cp_curve(t: np.ndarray, gamma: float, a: float) -> np.ndarray:
    """E L / p of the SYM nu = 2 CP flow at T = 1, with p = d, H = k, p sigma^2 = a."""
    z = -a * np.expm1(4.0 * t)
    h, dh = narayana(z, gamma)
    return 0.5 + a * (0.5 * a * np.exp(8.0 * t) * dh - np.exp(4.0 * t) * h)


def test_narayana_closed_form_is_its_series():
    z, y = -0.01, 0.7
    from math import comb

    series = sum(
        z ** (j - 1) * sum(comb(j, r) * comb(j, r - 1) / j * y**r for r in range(1, j + 1))
        for j in range(1, 40)
    )
    assert narayana(np.array([z]), y)[0][0] == pytest.approx(series, rel=1e-12)


@pytest.mark.parametrize("gamma", [0.25, 0.5, 1.0, 2.0, 4.0])
@pytest.mark.parametrize("a", [0.05, 0.5, 1.0, 3.0])
def test_large_data_face_is_the_cp_nu2_curve(gamma, a):
    entry = prismcat.load_catalog().get("large-data")
    pred = entry.predict(TIMES, {"gamma": gamma, "a": a})
    expected = cp_curve(TIMES, gamma, a)
    assert np.max(np.abs(pred.population - expected)) < 1e-7
    assert np.max(np.abs(pred.train - expected)) < 1e-7  # train = population on this face


def test_the_cross_check_fails_a_wrong_curve():
    entry = prismcat.load_catalog().get("large-data")
    pred = entry.predict(TIMES, {"gamma": 0.5, "a": 1.0})
    assert np.max(np.abs(pred.population - cp_curve(TIMES, 0.5, 1.02))) > 1e-4  # a 2% wrong a
