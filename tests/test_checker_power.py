"""The standard checkers have power: a formula a few percent wrong, a stretched clock, a wrong
rate, too few seeds or rungs, a declaration the run cannot honour, each fails; a right entry passes.
Also the rate test itself (synthetic data), scale-free tolerances, and ``prismcat power``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from prismcat.catalog import load_catalog
from prismcat.validation import policy
from prismcat.validation.cache import DiskCache
from prismcat.validation.check import run_checkers
from prismcat.validation.power import power
from prismcat.validation.rates import rate_test, seed_errors
from prismcat.validation.runner import validate

from .conftest import edit_yaml as edit

EPS = [1 / 8, 1 / 16, 1 / 32, 1 / 64]


def errors(rng, rate=1.0, seeds=12, noise=0.02, floor=0.0):
    """Per-seed errors 3 eps**rate (+ a floor), multiplicative noise."""
    e = np.asarray(EPS)[:, None]
    return (3 * e**rate + floor) * (1 + noise * rng.standard_normal((len(EPS), seeds)))


@pytest.mark.slow
def test_the_rate_test_keeps_its_false_alarm_rate_and_rejects_a_wrong_rate():
    rng = np.random.default_rng(0)
    alarms = [rate_test(errors(rng), EPS, [1.0], alpha=0.05).rejected for _ in range(200)]
    assert np.mean(alarms) <= 0.1
    wrong = [rate_test(errors(rng, rate=0.5), EPS, [1.0]) for _ in range(20)]
    assert all(t.rejected for t in wrong)
    assert all(t.resolution() < 0.5 for t in wrong)  # and it says it could tell


def test_noise_coarsens_the_rate_resolution_instead_of_widening_a_pass_band():
    rng = np.random.default_rng(1)
    quiet = rate_test(errors(rng, rate=0.5, noise=0.02), EPS, [1.0])
    loud = rate_test(errors(rng, rate=0.5, noise=0.8), EPS, [1.0])
    assert quiet.rejected
    assert loud.resolution(policy.required_z()) > policy.TARGET_RATE_RESOLUTION  # reported too coarse
    from prismcat.checkers.convergence import rate_verdict

    ok, why = rate_verdict(loud, policy.TARGET_RATE_RESOLUTION, declared=False)
    assert not ok and ("TOO COARSE" in why or "REJECTED" in why)


def test_a_decrease_is_a_fitted_decrease_not_last_below_first():
    rng = np.random.default_rng(2)
    flat = errors(rng, rate=0.0, noise=0.05)  # no convergence at all
    flat[-1] = flat[0] * 0.9  # yet the last is below the first
    t = rate_test(flat, EPS, [1.0])
    assert not t.decreasing or t.rejected
    assert rate_test(errors(rng), EPS, [1.0]).decreasing


def test_seed_errors_follow_the_entry_statistic():
    rng = np.random.default_rng(3)
    devs = [0.1 * e + 0.01 * rng.standard_normal((12, 5)) for e in EPS]
    sup = seed_errors(devs, "mean_error")
    proj = seed_errors(devs, "mean_curve")
    assert sup.shape == proj.shape == (4, 12)
    assert np.all(sup >= np.abs(proj) - 1e-12)


def statuses(v):
    return {r.entry.id: {c.checker: c.status for c in r.checks} for r in v.runs}


@pytest.mark.slow
def test_the_small_catalogue_passes_and_states_its_resolution(small, tmp_path):
    v = validate(load_catalog(small), cache=DiskCache(tmp_path / "c"), progress=False)
    assert v.ok, [(r.entry.id, r.message) for r in v.runs]
    run = next(r for r in v.runs if r.entry.id == "large-data+mean-field")
    ex = next(c for c in run.checks if c.checker == "extrapolation")
    for loss in ("train", "population"):
        assert "of the infinite-size extrapolation (resolution" in ex.headline[loss]
        assert 0 < ex.details[loss]["resolution"] < 0.05
        band = ex.band[loss]
        assert len(band["low"]) == len(band["high"]) == len(run.measurements[0].point.clock)


@pytest.mark.parametrize(
    "change, checker, words",
    [
        (
            lambda d: d["losses"]["train"]["formula"].update(
                expression="1.05 * 0.5 * (1 - u)**2 / (1 + u * expm1(4 * t))**2"
            ),
            "extrapolation",
            "REJECTED",
        ),
        (
            lambda d: d["losses"]["population"]["formula"].update(
                expression="0.5 * (1 - u)**2 / (1 + u * expm1(4 * 1.05 * t))**2"
            ),
            "extrapolation",
            "REJECTED",
        ),
        (lambda d: d["convergence"].update(rate=2), "convergence", "REJECTED"),
        (lambda d: d["validation"].update(seeds=4), "extrapolation", "CANNOT TELL"),
        (lambda d: d["validation"].update(ladder=[16, 32, 64]), "convergence", "at least 4 rungs"),
        (
            lambda d: d["validation"].update(
                resolution={"quick": 0.001, "reason": "a claim this run cannot honour"}
            ),
            "extrapolation",
            "TOO COARSE",
        ),
        (
            lambda d: d["validation"].update(
                resolution={"rate": 0.01, "reason": "a claim this run cannot honour"}
            ),
            "convergence",
            "TOO COARSE",
        ),
    ],
    ids=[
        "amplitude-5pc",
        "clock-5pc",
        "wrong-rate",
        "few-seeds",
        "three-rungs",
        "overclaimed",
        "overclaimed-rate",
    ],
)
def test_each_defect_fails_its_check(small, tmp_path, change, checker, words):
    def edit_entry(d):
        change(d)
        d["consistency"] = []  # only the experiment checks judge

    edit(small / "ld-mf.yaml", edit_entry)
    v = validate(
        load_catalog(small), ["large-data+mean-field"], cache=DiskCache(tmp_path / "c"), progress=False
    )
    run = v.runs[0]
    result = next(c for c in run.checks if c.checker == checker)
    assert run.status == "fail" and result.status == "fail", run.message
    assert words in result.message, result.message


def test_tolerances_are_fractions_of_the_scale(small, tmp_path):
    """Multiplying a quantity and its formula by 100 changes no relative error and no verdict."""
    base = validate(
        load_catalog(small), ["large-data+mean-field"], cache=DiskCache(tmp_path / "c"), progress=False
    )

    def scaled(d):
        for loss in ("train", "population"):
            d["losses"][loss]["quantity"] = f"100 * {d['losses'][loss]['quantity']}"
            f = d["losses"][loss]["formula"]
            f["expression"] = f"100 * ({f['expression']})"
        d["consistency"] = []

    edit(small / "ld-mf.yaml", scaled)
    big = validate(
        load_catalog(small), ["large-data+mean-field"], cache=DiskCache(tmp_path / "c"), progress=False
    )
    for name in ("tolerance", "extrapolation"):
        a = next(c for c in base.runs[0].checks if c.checker == name)
        b = next(c for c in big.runs[0].checks if c.checker == name)
        assert a.status == b.status == "pass"
        for loss in ("train", "population"):
            key = "relative" if name == "tolerance" else "resolution"
            assert a.details[loss][key] == pytest.approx(b.details[loss][key], rel=1e-6)


def test_an_entry_no_checker_applies_to_is_an_error(small, tmp_path):
    v = validate(
        load_catalog(small), ["large-data+mean-field"], cache=DiskCache(tmp_path / "c"), progress=False
    )
    run = v.runs[0]
    out = run_checkers({}, run.entry, load_catalog(small), run)
    assert [c.status for c in out] == ["error"] and "no checker applies" in out[0].message


@pytest.mark.slow
def test_power_catches_every_perturbation_and_excuses_only_declared_resolutions(small, tmp_path):
    cat = load_catalog(small)
    report = power(cat, delta=0.05, cache=DiskCache(tmp_path / "c"), progress=False)
    assert report.ok, report.table()
    edge = [o for o in report.outcomes if o.entry == "large-data+mean-field"]
    assert len(edge) == 6 and all(o.caught and "consistency" not in o.caught_by for o in edge)
    face = [o for o in report.outcomes if o.entry == "mean-field"]
    assert all(o.caught or o.excused.startswith("declared resolution 25%") for o in face)
    # past its declared resolution the face is caught too, from the same (cached) simulations
    again = power(cat, ["mean-field"], delta=0.3, cache=DiskCache(tmp_path / "c"), progress=False)
    assert again.ok and all(o.caught for o in again.outcomes), again.table()


@pytest.mark.slow
def test_power_cli_reports_json_and_exit_code(small, tmp_path, capsys):
    from prismcat.cli import main

    args = [
        "power",
        "--catalog",
        str(small),
        "--delta",
        "0.05",
        "--no-progress",
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["total"] == 12 and data["missed"] == []
    # an entry that claims more than the run can tell is a problem, and the exit code says so
    edit(
        small / "ld-mf.yaml",
        lambda d: d["validation"].update(
            resolution={"quick": 0.001, "reason": "a claim this run cannot honour"}
        ),
    )
    assert main(args) == 1
    assert "not assessed" in capsys.readouterr().out
    assert main(["power", "--catalog", str(small), "--delta", "2"]) == 2


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["convergence"].update(slack=0.4), "convergence.slack: unknown key 'slack'"),
        (lambda d: d["convergence"].update(next=0.5), "next (0.5) must exceed rate (1)"),
        (lambda d: d["validation"].update(resolution={"quick": 0.1}), "validation.resolution.reason"),
        (lambda d: d["validation"].update(resolution={"quick": 2, "reason": "too coarse to say"}), "quick"),
        (lambda d: d["convergence"].update(mean={"in": "k / q"}), "convergence.mean.in: unknown name 'q'"),
    ],
    ids=["slack-is-gone", "next-below-rate", "declaration-without-reason", "resolution-above-1", "mean-in"],
)
def test_bad_declarations_are_located_errors(small, change, message):
    from prismcat.cli import main

    edit(small / "ld-mf.yaml", change)
    cat = load_catalog(small)
    text = "\n".join(str(p) for p in cat.problems)
    assert "ld-mf.yaml:" in text and message in text, text
    assert main(["lint", str(small)]) == 1


def test_the_mean_expansion_drives_the_extrapolation_only(small, tmp_path):
    """convergence.mean changes the extrapolation's small quantity, not the rate test's."""
    edit(small / "ld-mf.yaml", lambda d: d["convergence"].update(mean={"in": "d / k"}))
    v = validate(
        load_catalog(small), ["large-data+mean-field"], cache=DiskCache(tmp_path / "c"), progress=False
    )
    run = v.runs[0]
    assert all(
        m.point.eps["mean"] == pytest.approx(m.point.sizes["d"] / m.point.sizes["k"])
        for m in run.measurements
    )
    ex = next(c for c in run.checks if c.checker == "extrapolation")
    conv = next(c for c in run.checks if c.checker == "convergence")
    assert ex.details["train"]["eps"] == [m.point.eps["mean"] for m in run.measurements]
    assert conv.details["train"]["eps"] == [m.point.eps["train"] for m in run.measurements]


def test_an_error_that_grows_with_size_is_rejected_in_words_not_in_absurd_standard_errors():
    """Minibatch SGD at a fixed learning rate: the error grows over the ladder, the fit sits at
    rate 0 for every jackknife sample, and its standard error (~1e-21) made a '1e20 se' message."""
    from prismcat.checkers.convergence import rate_verdict

    rng = np.random.default_rng(3)
    growing = (0.02 + 0.04 * (1 - np.asarray(EPS) * 8)[:, None]) * (1 + 0.05 * rng.standard_normal((4, 12)))
    t = rate_test(growing, EPS, [1.0])
    assert t.at_floor and t.rejected
    ok, why = rate_verdict(t, policy.TARGET_RATE_RESOLUTION, declared=False)
    assert not ok and why == " REJECTED: the error does not shrink with size"
    assert t.summary().startswith("no positive rate fits: the error grows from 0.0")
    assert not rate_test(errors(rng), EPS, [1.0]).at_floor  # a converging run is not at the floor
    # SGD's batches of 8 on mean-field: the error dips, then grows with the noise of the batches;
    # the fit sits at rate 0 with a zero jackknife error, which read "rate 0.00 +- 0.00 ... inf se"
    mean, spread = np.array([0.035, 0.014, 0.017, 0.024]), np.array([0.024, 0.0055, 0.0047, 0.0025])
    dips = mean[:, None] + spread[:, None] * rng.standard_normal((4, 8))
    t = rate_test(dips, EPS, [1.0])
    ok, why = rate_verdict(t, policy.TARGET_RATE_RESOLUTION, declared=False)
    assert t.at_floor and not ok and why == " REJECTED: the error does not shrink with size"
    assert t.summary().startswith("no positive rate fits: the error goes 0.0") and "inf" not in t.summary()
