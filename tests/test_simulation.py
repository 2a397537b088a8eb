"""The finite-size simulators: agreement across backends, integrator orders, exact cases,
monotone train loss, faults, user data, formulations and the command line."""

from __future__ import annotations

import dataclasses
import importlib.util
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prismcat.errors import PluginError
from prismcat.simulation import (
    Integrator,
    Problem,
    ProblemError,
    SimulationError,
    backends,
    draw,
    load_problem_npz,
    prepare,
    simulate,
)

TIMES = tuple(np.linspace(0.0, 2.0, 9))
HAVE = {b["name"] for b in backends() if b["available"] and b["family"] == "autoencoder"}
OPTIONAL = [
    pytest.param(
        "torch", marks=pytest.mark.skipif("torch" not in HAVE, reason="torch backend not installed")
    ),
    pytest.param("jax", marks=pytest.mark.skipif("jax" not in HAVE, reason="jax backend not installed")),
]


def problem(**kw) -> Problem:
    base = dict(d=24, k=8, n=48, sigma2=1 / 24, times=TIMES, seed=3)
    base.update(kw)
    return Problem(**base)


def curves(results) -> np.ndarray:
    return np.stack([np.concatenate([r.train, r.population]) for r in results])


def test_numpy_backend_is_always_there():
    assert "numpy" in HAVE


@pytest.mark.slow
@pytest.mark.parametrize("backend", OPTIONAL)
@pytest.mark.parametrize(
    ("sizes", "formulation"),
    [
        ({}, "eigen-w"),
        ({}, "data-w"),
        ({}, "covariance-w"),
        ({"d": 12, "k": 30, "n": 20, "sigma2": 1 / 12}, "eigen-p"),
        ({"d": 12, "k": 30, "n": 20, "sigma2": 1 / 12}, "eigen-w"),
        ({"d": 30, "k": 12, "n": 6}, "eigen-ak"),
        ({"d": 12, "k": 30, "n": 6, "sigma2": 1 / 12}, "eigen-ak"),
    ],
)
@pytest.mark.parametrize("method", ["rk4", "adaptive"])
def test_backends_agree_to_1e9(backend, sizes, formulation, method):
    integ = Integrator(method=method, dt=0.01, rtol=1e-12, atol=1e-14)
    probs = [problem(**sizes, integrator=integ, formulation=formulation).with_seed(s) for s in (1, 2)]
    ref = simulate(probs, "numpy")
    got = simulate(probs, backend)
    assert got[0].info["formulation"] == formulation
    np.testing.assert_allclose(curves(got), curves(ref), rtol=0, atol=1e-9)


@pytest.mark.parametrize("backend", ["numpy", *OPTIONAL])
def test_euler_is_gradient_descent_on_the_literal_model(backend):
    """Euler with step dt = gradient descent on W with learning rate dt, computed directly."""
    p = problem(integrator=Integrator(method="euler", dt=0.05), times=(0.05, 0.1, 0.15, 0.2))
    X, W = draw(p)
    n, d = p.n, p.d
    want = []
    for _ in range(4):
        S = X @ X.T / n
        P = W @ W.T
        M = (np.eye(d) - P) @ S + S @ (np.eye(d) - P)
        W = W + 0.05 * M @ W
        R = np.eye(d) - W @ W.T
        want.append(np.trace(R @ R @ S) / (2 * d))
    got = simulate(p, backend)[0]
    np.testing.assert_allclose(got.train, want, rtol=1e-12)


def reference(p: Problem) -> np.ndarray:
    tight = dataclasses.replace(p, integrator=Integrator(method="adaptive", rtol=1e-13, atol=1e-15))
    return curves(simulate(tight))[0]


@pytest.mark.parametrize(
    ("method", "order", "dts"),
    [("euler", 1, (0.004, 0.002, 0.001)), ("rk4", 4, (0.01, 0.005, 0.0025))],
)
def test_integrators_converge_at_their_order(method, order, dts):
    p = problem(sigma2=0.5 / 24)
    ref = reference(p)
    errs = [
        np.abs(
            curves(simulate(dataclasses.replace(p, integrator=Integrator(method=method, dt=dt))))[0] - ref
        ).max()
        for dt in dts
    ]
    slopes = np.diff(np.log(errs)) / np.diff(np.log(dts))
    assert np.all(np.abs(slopes - order) < 0.15), (errs, slopes)


def test_adaptive_default_is_accurate_to_1e8():
    for p in [
        problem(),
        problem(sigma2=4 / 24),
        problem(d=16, k=40, n=8, sigma2=0.5 / 16),
        problem(d=30, k=3, n=90, sigma2=2 / 30),
    ]:
        p = dataclasses.replace(p, times=tuple(np.linspace(0, 5, 11)))
        err = np.abs(curves(simulate(p))[0] - reference(p)).max()
        assert err < 1e-8, (p, err)


def test_log_clock_for_large_init_agrees_with_fewer_steps():
    """a = 1e4: the log clock s = log(1 + c t) needs fewer evaluations for the same curve."""
    p = problem(k=48, n=96, sigma2=1e4 / 24, times=(0.05, 0.25, 0.5, 1.0))
    lin = simulate(dataclasses.replace(p, integrator=Integrator(clock="linear", rtol=1e-11, atol=1e-13)))[0]
    log = simulate(dataclasses.replace(p, integrator=Integrator(clock="log", rtol=1e-11, atol=1e-13)))[0]
    assert log.info["log_clock"] and not lin.info["log_clock"]
    assert log.info["evals"] < 0.75 * lin.info["evals"]
    np.testing.assert_allclose(log.train, lin.train, rtol=1e-8)
    np.testing.assert_allclose(log.population, lin.population, rtol=1e-8)
    assert simulate(p)[0].info["log_clock"]  # 'auto' picks it here


@pytest.mark.parametrize("sizes", [dict(d=16, k=32, n=64, sigma2=40.0), dict(d=32, k=16, n=128, sigma2=40.0)])
def test_the_cost_model_counts_log_clock_steps_within_a_factor_two(sizes):
    """The design sizes ladders and seeds by the cost model: on the log clock (a large init) its
    estimate of the adaptive method's evaluations must be near what the run takes (it was 25-35
    times too many, which starved the free face's design)."""
    from prismcat.simulation.plan import resolve

    p = Problem(**sizes, times=(0.5, 1.0, 1.5), seed=0)
    run = simulate(p)[0]
    assert run.info["log_clock"]
    estimate = resolve(p).evals
    assert 0.5 < estimate / run.info["evals"] < 2.0


@pytest.mark.parametrize("backend", ["numpy", *OPTIONAL])
@pytest.mark.parametrize("method", ["rk4", "adaptive"])
def test_scalar_case_matches_closed_form(backend, method):
    """d = k = n = 1: p = w^2 follows the logistic p' = 4 s p (1 - p) with s = x^2."""
    p = Problem(
        d=1,
        k=1,
        n=1,
        sigma2=0.09,
        times=TIMES,
        seed=5,
        integrator=Integrator(method=method, dt=0.001),
    )
    X, W0 = draw(p)
    s, p0 = X[0, 0] ** 2, W0[0, 0] ** 2
    t = np.asarray(TIMES)
    pt = p0 * np.exp(4 * s * t) / (1 - p0 + p0 * np.exp(4 * s * t))
    r = simulate(p, backend)[0]
    np.testing.assert_allclose(r.train, 0.5 * s * (1 - pt) ** 2, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(r.population, 0.5 * (1 - pt) ** 2, rtol=1e-9, atol=1e-13)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    d=st.integers(1, 12),
    k=st.integers(1, 12),
    n=st.integers(1, 12),
    a=st.floats(0.01, 5.0),
    seed=st.integers(0, 10_000),
)
def test_train_loss_never_increases_under_gradient_flow(d, k, n, a, seed):
    p = Problem(d=d, k=k, n=n, sigma2=a / d, times=tuple(np.linspace(0, 3, 31)), seed=seed)
    r = simulate(p)[0]
    steps = np.diff(np.concatenate([[r.train0], r.train]))
    assert np.all(steps <= 1e-10 * max(1.0, r.train0)), steps.max()


@pytest.mark.parametrize("backend", ["numpy", *OPTIONAL])
def test_divergence_is_reported_with_time_and_step(backend):
    p = problem(sigma2=3.0, integrator=Integrator(method="euler", dt=0.5), times=(1.0, 2.0, 3.0))
    with pytest.raises(SimulationError) as info:
        simulate(p, backend)
    msg = str(info.value)
    assert "diverged at t =" in msg and "dt = 0.5" in msg and "--integrator adaptive" in msg
    assert info.value.time is not None and 0 < info.value.time <= 3.0


def test_same_seed_same_data_and_initial_losses_everywhere():
    p = problem()
    X1, W1 = draw(p)
    X2, W2 = draw(p)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(W1, W2)
    assert not np.array_equal(draw(p.with_seed(4))[0], X1)
    for backend in HAVE:
        r = simulate(p, backend)[0]
        assert r.train[0] == pytest.approx(r.train0, rel=1e-12)
        assert r.population[0] == pytest.approx(r.population0, rel=1e-12)
    R = np.eye(p.d) - W1 @ W1.T
    assert r.train0 == pytest.approx(np.trace(R @ R @ X1 @ X1.T / p.n) / (2 * p.d), rel=1e-12)


def test_batched_seeds_equal_single_runs():
    probs = [problem(integrator=Integrator(method="rk4", dt=0.01)).with_seed(s) for s in range(3)]
    together = curves(simulate(probs))
    alone = np.stack([curves(simulate(q))[0] for q in probs])
    np.testing.assert_array_equal(together, alone)
    assert simulate(probs)[0].info["batch"] == 3


def test_user_problem_from_npz(tmp_path):
    rng = np.random.default_rng(0)
    X, W0 = rng.standard_normal((10, 30)), 0.2 * rng.standard_normal((10, 4))
    np.savez(tmp_path / "p.npz", X=X, W0=W0)
    p = load_problem_npz(tmp_path / "p.npz", TIMES)
    assert (p.d, p.k, p.n) == (10, 4, 30)
    r = simulate(p)[0]
    R = np.eye(10) - W0 @ W0.T
    assert r.population0 == pytest.approx(np.sum(R * R) / 20, rel=1e-12)
    np.savez(tmp_path / "bad.npz", X=X)
    with pytest.raises(ProblemError, match="missing array"):
        load_problem_npz(tmp_path / "bad.npz", TIMES)


def test_formulation_choice_and_its_limits():
    assert prepare([problem(d=64, k=8, n=128)]).formulation == "eigen-w"
    assert prepare([problem(d=16, k=64, n=32)]).formulation == "eigen-p"
    euler = Integrator(method="euler", dt=0.01)
    assert prepare([problem(d=16, k=64, n=32, integrator=euler)]).formulation == "eigen-w"
    tiny = problem(d=200, k=2, n=400, times=(0.01,), integrator=Integrator(method="rk4", dt=0.01))
    assert prepare([tiny]).formulation == "data-w"  # four evaluations never repay an eigendecomposition
    assert prepare([problem(d=256, k=128, n=16)]).formulation == "eigen-ak"  # rank-16 S
    with pytest.raises(ProblemError, match="P-flow"):
        prepare([problem(formulation="eigen-p")])


@pytest.mark.parametrize(
    ("sizes", "other"),
    [
        ({"d": 12, "k": 5, "n": 30}, "data-w"),
        ({"d": 8, "k": 20, "n": 30}, "eigen-p"),
        ({"d": 20, "k": 6, "n": 5}, "eigen-ak"),
    ],
)
def test_final_spectrum_is_consistent(sizes, other):
    p = problem(**sizes, sigma2=0.3 / sizes["d"], spectrum=True)
    spectra = {f: simulate(dataclasses.replace(p, formulation=f))[0] for f in ("eigen-w", other)}
    a, b = spectra["eigen-w"], spectra[other]
    assert a.spectrum.shape == (p.k,)
    np.testing.assert_allclose(a.spectrum, b.spectrum, atol=1e-9)
    g = a.spectrum  # L_pop = (d - 2 Tr G + Tr G^2) / 2
    assert (p.d - 2 * g.sum() + (g**2).sum()) / (2 * p.d) == pytest.approx(a.population[-1], abs=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", *OPTIONAL])
@pytest.mark.parametrize("method", ["rk4", "adaptive"])
def test_float32_is_close_to_float64(backend, method):
    """float32 runs (adaptive: with the float32 default tolerances) stay within float32 noise."""
    p = problem(integrator=Integrator(method=method, dt=0.01))
    f32 = simulate(dataclasses.replace(p, dtype="float32"), backend)[0]
    f64 = simulate(p, backend)[0]
    assert f32.info["dtype"] == "float32"
    np.testing.assert_allclose(f32.train, f64.train, atol=2e-5)
    np.testing.assert_allclose(f32.population, f64.population, atol=2e-5)


def test_bad_problems_are_clear_errors():
    with pytest.raises(ProblemError, match="d must be a positive integer"):
        problem(d=0)
    with pytest.raises(ProblemError, match="strictly increasing"):
        problem(times=(1.0, 0.5))
    with pytest.raises(ProblemError, match="unknown integrator"):
        Integrator(method="leapfrog")  # type: ignore[arg-type]
    with pytest.raises(PluginError, match="no simulator backend 'tpu'"):
        simulate(problem(), "tpu")


def test_garbage_from_a_backend_is_a_plugin_error():
    from prismcat.simulation import Integrated, Simulator
    from prismcat.simulation.api import run_batch

    class Broken(Simulator):
        name = "broken"

        def integrate(self, prepared):
            return Integrated(np.zeros((1, 2)), np.zeros((1, 2)), prepared.state0)

    class Nan(Simulator):
        name = "nan"

        def integrate(self, prepared):
            t = len(prepared.times)
            return Integrated(np.full((1, t), np.nan), np.zeros((1, t)), prepared.state0)

    with pytest.raises(PluginError, match="shape"):
        run_batch(Broken(), [problem()])
    with pytest.raises(PluginError, match="non-finite"):
        run_batch(Nan(), [problem()])


def test_cli_simulate_and_backends(capsys, tmp_path):
    from prismcat.cli import main

    code = main(
        [
            "simulate",
            "--d",
            "8",
            "--k",
            "3",
            "--n",
            "16",
            "--sigma2",
            "0.1",
            "--times",
            "0:1:3",
            "--json",
            "--spectrum",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) >= {"t", "train", "population"} and len(out["spectrum"]) == 3
    assert out["t"] == [0.0, 0.5, 1.0]
    np.savez(tmp_path / "p.npz", X=np.ones((3, 5)), W0=0.1 * np.ones((3, 2)))
    assert main(["simulate", "--problem", str(tmp_path / "p.npz"), "--times", "0,1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["problem"]["k"] == 2
    assert main(["simulate", "--problem", str(tmp_path / "p.npz"), "--d", "3"]) == 2
    assert "sizes come from the arrays" in capsys.readouterr().err
    assert (
        main(
            [
                "simulate",
                "--d",
                "8",
                "--k",
                "3",
                "--n",
                "16",
                "--sigma2",
                "4",
                "--integrator",
                "euler",
                "--dt",
                "1",
            ]
        )
        == 2
    )
    assert "diverged" in capsys.readouterr().err
    assert main(["backends", "--json"]) == 0
    names = {b["name"] for b in json.loads(capsys.readouterr().out)}
    assert "numpy" in names


def test_optional_backends_report_why_they_are_unusable():
    """Each listed backend says whether it is usable; a missing extra gives a reason, not a crash."""
    for b in backends():
        assert isinstance(b["available"], bool)
        if not b["available"]:
            assert "not installed" in b["reason"]
    for module, name in (("torch", "torch"), ("jax", "jax")):
        if importlib.util.find_spec(module) is None and name in {b["name"] for b in backends()}:
            assert name not in HAVE


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", *OPTIONAL])
@pytest.mark.parametrize("method", ["euler", "rk4", "adaptive"])
@pytest.mark.parametrize("formulation", ["data-w", "eigen-w"])
def test_float32_computes_in_float32(backend, method, formulation):
    """With the same integrator settings, a float32 run differs from the float64 one by float32
    rounding (not by the 1e-12 of two float64 runs), and its losses are float32 numbers."""
    integ = Integrator(method=method, dt=0.01, rtol=1e-6, atol=1e-8)
    p = problem(integrator=integ, formulation=formulation)
    f64 = simulate(p, backend)[0]
    f32 = simulate(dataclasses.replace(p, dtype="float32"), backend)[0]
    for loss in ("train", "population"):
        a, b = getattr(f64, loss), getattr(f32, loss)
        gap = np.max(np.abs(a - b))
        assert 1e-9 < gap < 2e-6, (loss, gap)
        assert np.array_equal(b, b.astype(np.float32).astype(np.float64)), "losses not computed in float32"
