"""The simulator conformance suite: what every backend must do, checked on small problems.

Each ``check_*`` function runs a backend instance (registered or not) and raises
:class:`ConformanceFailure` with what went wrong. A backend is checked on what it declares: every
formulation it offers with every integrator it runs, against the numpy reference backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from prismcat.simulation.api import offer_of, run_batch
from prismcat.simulation.base import Integrated, SimulationError, Simulator
from prismcat.simulation.plan import allowed, prepare
from prismcat.simulation.problem import Integrator, Problem
from prismcat.simulators.numpy_backend import NumpySimulator

AGREEMENT = 1e-9  # max |difference| of per-dimension losses with the numpy backend, float64
FLOAT32_AGREEMENT = 1e-4  # relative, float32 against float64
TIMES = (0.0, 0.2, 0.5, 1.0, 1.5)
SIZES = {  # a problem every formulation computes: eigen-p needs k >= d, eigen-ak n < d
    "data-w": (6, 3, 12),
    "covariance-w": (6, 3, 12),
    "eigen-w": (6, 3, 12),
    "eigen-p": (4, 5, 12),
    "eigen-ak": (8, 3, 5),
}
INTEGRATORS = {
    "euler": Integrator("euler", dt=0.01),
    "rk4": Integrator("rk4", dt=0.05),
    "adaptive": Integrator("adaptive", rtol=1e-12, atol=1e-14),
}


class ConformanceFailure(AssertionError):
    """A backend does not do what the contract asks."""


class NotApplicable(Exception):
    """The check does not apply to what this backend declares."""


def _problem(form: str, method: str, seed: int = 0, **settings) -> Problem:
    d, k, n = SIZES[form]
    return Problem(
        d=d,
        k=k,
        n=n,
        sigma2=0.3,
        times=TIMES,
        seed=seed,
        integrator=INTEGRATORS[method],
        formulation=form,
        **settings,
    )


def cases(sim: Simulator, every_method: bool = True) -> list[tuple[str, str]]:
    """(formulation, method) pairs the backend declares and the flow allows; with
    ``every_method=False`` one method per formulation (fixed-step first)."""
    offer = offer_of(sim)
    pairs = [
        (form, method)
        for method in offer.methods
        for form in offer.formulations
        if form in allowed(_problem(form, method), method)
    ]
    if every_method:
        return pairs
    first: dict[str, tuple[str, str]] = {}
    for form, method in sorted(pairs, key=lambda fm: fm[1] == "adaptive"):
        first.setdefault(form, (form, method))
    return list(first.values())


def _reference() -> Simulator:
    return NumpySimulator()


def _run(sim: Simulator, problems: list[Problem]):
    try:
        return run_batch(sim, problems)
    except SimulationError:
        raise
    except Exception as exc:
        raise ConformanceFailure(f"backend '{sim.name}' failed on {problems[0]}: {exc}") from exc


def check_shapes_and_dtypes(sim: Simulator) -> None:
    """``integrate`` returns an :class:`Integrated` of float (B, T) numpy curves and the final state
    of every seed, for each declared formulation and method."""
    for form, method in cases(sim, every_method=False):
        batch = [_problem(form, method, seed=s) for s in range(3)]
        prepared = prepare(batch, offer_of(sim))
        out = sim.integrate(prepared)
        where = f"backend '{sim.name}', {form}, {method}"
        if not isinstance(out, Integrated):
            raise ConformanceFailure(f"{where}: integrate returned {type(out).__name__}, not Integrated")
        for what in ("train", "population"):
            arr = getattr(out, what)
            if not isinstance(arr, np.ndarray) or arr.shape != (3, len(TIMES)) or arr.dtype.kind != "f":
                raise ConformanceFailure(
                    f"{where}: {what} must be a float numpy array of shape {(3, len(TIMES))}, got "
                    f"{type(arr).__name__} {getattr(arr, 'shape', '')} {getattr(arr, 'dtype', '')}"
                )
        final = np.asarray(out.final)
        if final.shape != prepared.state0.shape:
            raise ConformanceFailure(
                f"{where}: final state has shape {final.shape}, expected {prepared.state0.shape}"
            )


def check_agrees_with_numpy(sim: Simulator, tolerance: float = AGREEMENT) -> None:
    """float64 losses agree with the numpy backend to ``tolerance`` for each declared formulation
    and method (the same problem, formulation and step)."""
    ref = _reference()
    for form, method in cases(sim):
        batch = [_problem(form, method, seed=s) for s in range(2)]
        mine, theirs = _run(sim, batch), _run(ref, batch)
        for a, b in zip(mine, theirs, strict=True):
            for what in ("train", "population"):
                gap = float(np.max(np.abs(getattr(a, what) - getattr(b, what))))
                if not gap <= tolerance:
                    raise ConformanceFailure(
                        f"backend '{sim.name}', {form}, {method}: {what} differs from numpy by {gap:.3g} "
                        f"(allowed {tolerance:g})"
                    )


def check_batched_seeds(sim: Simulator) -> None:
    """A batch of seeds gives each seed's own run (no mixing across the batch axis)."""
    for form, method in cases(sim, every_method=False):
        batch = [_problem(form, method, seed=s) for s in (3, 4, 5)]
        together = _run(sim, batch)
        for p, res in [(batch[0], together[0]), (batch[2], together[2])]:
            alone = _run(sim, [p])[0]
            gap = max(
                float(np.max(np.abs(alone.train - res.train))),
                float(np.max(np.abs(alone.population - res.population))),
            )
            if not gap <= 1e-10:
                raise ConformanceFailure(
                    f"backend '{sim.name}', {form}, {method}: seed {p.seed} in a batch of 3 differs from "
                    f"its run alone by {gap:.3g}"
                )
        if np.allclose(together[0].train, together[1].train, rtol=0, atol=1e-12):
            raise ConformanceFailure(f"backend '{sim.name}', {form}, {method}: two seeds gave the same curve")


def check_divergence_reported(sim: Simulator) -> None:
    """A run whose fixed step is far too large raises SimulationError (not NaN curves, not another
    exception). Skipped for a backend without fixed-step methods."""
    fixed = [(f, m) for f, m in cases(sim) if m != "adaptive"]
    if not fixed:
        raise NotApplicable(f"backend '{sim.name}' runs no fixed-step method")
    form, method = fixed[0]
    p = replace(
        _problem(form, method), sigma2=2.0, integrator=replace(INTEGRATORS[method], dt=1.0), times=(0.0, 30.0)
    )
    try:
        run_batch(sim, [p])
    except SimulationError as exc:
        if "diverged" not in str(exc):
            raise ConformanceFailure(
                f"backend '{sim.name}': divergence message does not say so: {exc}"
            ) from exc
        return
    except Exception as exc:
        raise ConformanceFailure(
            f"backend '{sim.name}': a diverging run raised {type(exc).__name__} ({exc}), not SimulationError"
        ) from exc
    raise ConformanceFailure(
        f"backend '{sim.name}': a run with dt = 1 at sigma2 = 2 did not report divergence"
    )


def check_float32_honoured(sim: Simulator) -> None:
    """dtype float32 computes in float32: within 1e-4 of float64, yet not equal to it."""
    for form, method in cases(sim, every_method=False):
        if method == "adaptive":
            continue  # tolerances differ by dtype; the fixed-step methods show the arithmetic
        p64 = _problem(form, method)
        p32 = replace(p64, dtype="float32")
        a, b = _run(sim, [p64])[0], _run(sim, [p32])[0]
        for what in ("train", "population"):
            x, y = getattr(a, what), getattr(b, what)
            rel = float(np.max(np.abs(x - y)) / np.max(np.abs(x)))
            if not rel <= FLOAT32_AGREEMENT:
                raise ConformanceFailure(
                    f"backend '{sim.name}', {form}, {method}: float32 {what} off by {rel:.3g}"
                )
            if rel < 1e-12:
                raise ConformanceFailure(
                    f"backend '{sim.name}', {form}, {method}: float32 {what} equals float64 to {rel:.3g}: "
                    "the run was not computed in float32"
                )


CHECKS: dict[str, Callable[[Simulator], None]] = {
    "shapes_and_dtypes": check_shapes_and_dtypes,
    "agrees_with_numpy": check_agrees_with_numpy,
    "batched_seeds": check_batched_seeds,
    "divergence_reported": check_divergence_reported,
    "float32_honoured": check_float32_honoured,
}


def check_simulator(sim: Simulator) -> dict[str, str]:
    """Run every check; returns {check: failure message} (empty when the backend conforms)."""
    failures = {}
    for name, check in CHECKS.items():
        try:
            check(sim)
        except NotApplicable:
            continue
        except (ConformanceFailure, SimulationError) as exc:
            failures[name] = str(exc)
    return failures


class SimulatorConformance:
    """Subclass in your tests with ``simulator = MySimulator()`` (configured as needed); pytest
    collects one test per check."""

    simulator: Simulator

    def _check(self, check: Callable[[Simulator], None]) -> None:
        import pytest

        ok, why = self.simulator.available()
        if not ok:
            pytest.skip(f"backend '{self.simulator.name}' not usable here: {why}")
        try:
            check(self.simulator)
        except NotApplicable as exc:
            pytest.skip(str(exc))

    def test_shapes_and_dtypes(self) -> None:
        self._check(check_shapes_and_dtypes)

    def test_agrees_with_numpy(self) -> None:
        self._check(check_agrees_with_numpy)

    def test_batched_seeds(self) -> None:
        self._check(check_batched_seeds)

    def test_divergence_reported(self) -> None:
        self._check(check_divergence_reported)

    def test_float32_honoured(self) -> None:
        self._check(check_float32_honoured)
