"""The infinite-size extrapolation: calibrated false alarms, power against a few-percent error,
a resolution that means what it says, and honest uncertainty when the correction model misfits."""

from __future__ import annotations

import numpy as np
import pytest

from prismcat.validation import policy
from prismcat.validation.extrapolation import critical_value, extrapolate

T = np.linspace(0.0, 3.0, 31)
LIMIT = 0.5 * np.exp(-T) + 0.1  # a decaying loss curve
EPS = np.array([1 / 16, 1 / 32, 1 / 64, 1 / 128])


def ladder(rng, seeds=12, error=0.0, noise=2e-3, second=0.0):
    """Per-seed deviations from a formula off by the factor (1 + error): correction eps * C(t)
    (+ second * eps^2), noise shrinking like sqrt(eps) and smooth in time (as real curves are)."""
    C = 0.8 * T * np.exp(-T / 2)
    out = []
    for e in EPS:
        smooth = rng.standard_normal((seeds, 2)) @ np.stack([np.exp(-T), T * np.exp(-T)])
        wiggle = 0.2 * rng.standard_normal((seeds, T.size))
        curves = LIMIT + C * e + second * e**2 * np.ones_like(T) + noise * np.sqrt(e * 16) * (smooth + wiggle)
        out.append(curves - (1 + error) * LIMIT)
    return out


@pytest.mark.slow
def test_a_right_formula_raises_false_alarms_at_most_at_the_stated_rate():
    rng = np.random.default_rng(0)
    alpha, reps = 0.05, 120
    alarms = sum(extrapolate(ladder(rng), EPS, [1.0], LIMIT, alpha=alpha).rejected for _ in range(reps))
    assert alarms / reps <= 2 * alpha  # calibrated (conservative: the misfit factor only widens)


@pytest.mark.slow
def test_a_formula_a_few_percent_wrong_is_rejected_and_the_resolution_predicts_it():
    rng = np.random.default_rng(1)
    ex = extrapolate(ladder(rng), EPS, [1.0], LIMIT)
    r = ex.resolution
    assert 0 < r < 0.03, r
    caught_big = np.mean(
        [extrapolate(ladder(rng, error=1.5 * r), EPS, [1.0], LIMIT).rejected for _ in range(40)]
    )
    caught_small = np.mean(
        [extrapolate(ladder(rng, error=r / 4), EPS, [1.0], LIMIT).rejected for _ in range(40)]
    )
    assert caught_big >= policy.POWER and caught_small <= 0.2, (caught_big, caught_small)
    wrong = extrapolate(ladder(rng, error=0.05), EPS, [1.0], LIMIT)
    assert wrong.rejected and wrong.relative_deviation[0] == pytest.approx(0.05 * 0.6 / 0.6, rel=0.5)


def test_more_seeds_sharpen_the_resolution():
    rng = np.random.default_rng(2)
    few = np.median([extrapolate(ladder(rng, seeds=8), EPS, [1.0], LIMIT).resolution for _ in range(10)])
    many = np.median([extrapolate(ladder(rng, seeds=32), EPS, [1.0], LIMIT).resolution for _ in range(10)])
    assert many < 0.6 * few


def test_an_unmodelled_correction_widens_the_uncertainty_instead_of_raising_alarms():
    rng = np.random.default_rng(3)
    lead, both = [], []
    for _ in range(7):
        data = ladder(rng, second=40.0)  # a large eps^2 term the leading-order model does not have
        lead.append(extrapolate(data, EPS, [1.0], LIMIT))
        both.append(extrapolate(data, EPS, [1.0, 2.0], LIMIT))
    assert min(x.scale_factor for x in lead) > 10
    assert np.median([x.scale_factor for x in both]) < 1.5  # the right model fits: no inflation
    assert not any(x.rejected for x in lead + both)


def test_points_where_every_seed_agrees_claim_no_infinite_precision():
    rng = np.random.default_rng(4)
    data = ladder(rng)
    for d in data:
        d[:, 0] = 0.0  # e.g. a quantity normalised to vanish at t = 0
    ex = extrapolate(data, EPS, [1.0], LIMIT)
    assert ex.se[0] >= policy.SE_FLOOR * ex.scale and np.isfinite(ex.statistic)


def test_the_critical_value_is_reproducible_and_grows_as_alpha_shrinks():
    rng = np.random.default_rng(5)
    centred = rng.standard_normal((12, 3)) @ np.stack([np.exp(-T), T, np.sin(T)])
    centred -= centred.mean(axis=0)
    q = [critical_value(centred, a) for a in (0.05, 1e-3, 1e-5)]
    assert q[0] < q[1] < q[2]
    assert critical_value(centred, 1e-3) == q[1]
    assert q[1] == pytest.approx(critical_value(centred, 1e-3, rng_seed=7), rel=0.05)


def test_bad_inputs_are_refused():
    rng = np.random.default_rng(6)
    data = ladder(rng)
    with pytest.raises(ValueError, match="rungs cannot fit"):
        extrapolate(data[:2], EPS[:2], [1.0, 2.0], LIMIT)
    with pytest.raises(ValueError, match="two seeds"):
        extrapolate([d[:1] for d in data], EPS, [1.0], LIMIT)
    with pytest.raises(ValueError, match="scale is zero"):
        extrapolate(data, EPS, [1.0], np.zeros_like(T))


@pytest.mark.slow
def test_validation_reports_each_losss_extrapolation(small, tmp_path):
    """results.json and both reports lead with each loss's extrapolation and resolution; too few
    seeds state no resolution and fail."""
    import json

    from prismcat.catalog import load_catalog
    from prismcat.report import write_report

    from .conftest import edit_yaml, validate_in_process

    edit_yaml(small / "ld-mf.yaml", lambda d: d["validation"].update(seeds=4))
    v = validate_in_process(small, tmp_path / "cache")
    paths = write_report(v, load_catalog(small), tmp_path / "r")
    data = {e["id"]: e for e in json.loads(paths["json"].read_text())["entries"]}
    face, edge = data["mean-field"], data["large-data+mean-field"]
    assert set(face["headline"]) == {"train", "population"}
    ex = next(c for c in face["checks"] if c["checker"] == "extrapolation")
    assert ex["status"] == "pass" and 0 < ex["details"]["train"]["resolution"] < 1
    assert "resolution" in face["headline"]["train"] and "%" in face["headline"]["train"]
    assert set(ex["band"]["train"]) == {"label", "center", "low", "high", "scale"}
    bad = next(c for c in edge["checks"] if c["checker"] == "extrapolation")
    assert bad["status"] == "fail" and "CANNOT TELL: 4 seeds, at least 8 needed" in bad["message"]
    assert face["headline"]["train"] in paths["markdown"].read_text()
    assert "formula vs the infinite-size extrapolation" in paths["html"].read_text()
