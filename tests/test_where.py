"""prismcat where: placing concrete runs on the prism and predicting their curves."""

from __future__ import annotations

import json

import numpy as np
import pytest

from prismcat.placement import Point, best_fit, candidates, compare
from prismcat.simulation import Problem, simulate

from .conftest import CATALOG

T = np.linspace(0.0, 3.0, 31)

# A run deep inside each face's region: (d, k, n, sigma2) and the entry that must rank first.
DEEP = {
    "large-data": (64, 32, 64_000, 1 / 64),
    "mean-field": (64, 6400, 128, 0.5 / 6400),
    "narrow-latent": (1024, 4, 2048, 0.5 / 1024),
    "small-data": (512, 256, 8, 1 / 512),
    "free": (128, 256, 384, 40.0),  # alpha = 3: lam_- = 0.18 keeps the smallest eigenvalues tame
}


def run(point: Point):
    res = simulate(Problem(d=point.d, k=point.k, n=point.n, sigma2=point.sigma2, times=tuple(T)))[0]
    observed = {"L_train0": res.train0 * point.d, "L_pop0": res.population0 * point.d, "trS": res.trS}
    return res, observed


@pytest.mark.slow
@pytest.mark.parametrize(("face", "sizes"), DEEP.items())
def test_deep_in_a_face_that_face_ranks_first_and_predicts_the_run(catalog, face, sizes):
    point = Point(*sizes)
    res, observed = run(point)
    cands = candidates(catalog, point, T, observed=observed)
    assert cands[0].entry.id == face
    compare(cands, res.train, res.population)
    dist = cands[0].distance
    assert dist["train"] < 0.03 and dist["population"] < 0.03, dist


def test_between_two_faces_both_are_listed(catalog):
    # alpha = 20 and gamma = 20 at u = 1/2: far toward large data and mean-field alike
    point = Point(64, 1280, 1280, 0.5 / 1280)
    ids = [c.entry.id for c in candidates(catalog, point, T)]
    assert ids[0] == "large-data+mean-field"
    assert {"large-data", "mean-field"} <= set(ids)


def test_the_edge_describes_a_run_on_it_best(catalog):
    """On the large-data + mean-field edge, the edge's formula is what fits (not a far face)."""
    point = Point(32, 3200, 32_000, 0.5 / 3200)
    res, observed = run(point)
    cands = candidates(catalog, point, T, observed=observed)
    compare(cands, res.train, res.population)
    assert cands[0].entry.id == "large-data+mean-field"
    assert cands[0].distance["train"] < 0.01
    assert best_fit(cands).entry.id in {"large-data+mean-field", "large-data", "mean-field"}


def test_extremeness_is_the_fan_decomposition():
    p = Point(512, 8, 100_000, 1e-3)
    s = p.extremeness()
    assert s["large-data"] == pytest.approx(np.log(100_000 / 512))
    # (log gamma, log a) = c_NL (-1, 0) + c_MF (1, -1)
    lg, la = np.log(8 / 512), np.log(0.512)
    assert s["mean-field"] == pytest.approx(-la)
    assert s["narrow-latent"] == pytest.approx(-la - lg)
    assert s["free"] == 0 and s["small-data"] == 0


@pytest.mark.slow
def test_predictions_are_in_the_runs_normalisation(catalog):
    """An entry normalised as (L - L0)/n is turned back into L/d with the run's own L0."""
    point = Point(512, 256, 8, 1 / 512)
    res, observed = run(point)
    sd = next(c for c in candidates(catalog, point, T, observed=observed) if c.entry.id == "small-data")
    assert sd.population[0] == pytest.approx(res.population0, rel=1e-12)
    assert sd.train[0] == pytest.approx(0.5 * ((1 - 0.5) ** 2 + 0.5), rel=1e-9)  # ell(0) = L_train/d


def test_cli_where_json_and_figure(tmp_path, capsys):
    from prismcat.cli import main

    fig = tmp_path / "where.png"
    code = main(
        [
            "where",
            "--d",
            "64",
            "--k",
            "32",
            "--n",
            "8000",
            "--sigma2",
            "0.015625",
            "--t-max",
            "2",
            "--points",
            "11",
            "--simulate",
            "--figure",
            str(fig),
            "--json",
            "--catalog",
            str(CATALOG),
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"ratios", "toward", "t", "candidates", "simulation", "best_fit"}
    assert data["candidates"][0]["id"] == "large-data"
    assert len(data["candidates"][0]["train"]) == 11
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code = main(
        ["where", "--d", "64", "--k", "32", "--n", "8000", "--sigma2", "0.015625", "--catalog", str(CATALOG)]
    )
    assert code == 0 and "toward (nats): large-data" in capsys.readouterr().out
