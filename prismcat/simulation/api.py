"""Run finite-size problems on a registered simulator backend."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from prismcat.budget import Estimate, Limits
from prismcat.errors import PluginError
from prismcat.optional import pandas
from prismcat.registry import backend, registry, with_options
from prismcat.settings import DEFAULT_FAMILY, default_max_memory
from prismcat.simulation.base import Integrated, SimulationError, Simulator
from prismcat.simulation.plan import Offer, final_spectrum, memory, prepare, resolve
from prismcat.simulation.problem import Problem, ProblemError


@dataclass
class SimResult:
    """Loss curves of one run: per-dimension L_train/d and L_pop/d at model times ``t``."""

    problem: Problem
    t: np.ndarray
    train: np.ndarray
    population: np.ndarray
    train0: float
    population0: float
    trS: float
    spectrum: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {
            "t": self.t.tolist(),
            "train": self.train.tolist(),
            "population": self.population.tolist(),
        }
        out.update(
            train0=self.train0,
            population0=self.population0,
            trS=self.trS,
            problem=self.problem.to_json(),
            info=self.info,
        )
        if self.spectrum is not None:
            out["spectrum"] = self.spectrum.tolist()
        return out

    def to_frame(self):
        """Columns t, train, population (per-dimension losses; pandas)."""
        return pandas().DataFrame({"t": self.t, "train": self.train, "population": self.population})

    def plot(self, ax: Any = None):
        """L_train/d and L_pop/d against model time."""
        return registry().view("simresult.plot")(self, ax)

    def __repr__(self) -> str:
        p = self.problem
        return (
            f"<SimResult d={p.d} k={p.k} n={p.n} sigma2={p.sigma2:g} seed={p.seed}: "
            f"{self.t.size} times, L_train/d {self.train[0]:.4g} -> {self.train[-1]:.4g}>"
        )

    def _repr_html_(self) -> str:
        return registry().view("simresult.html")(self)


def simulators() -> dict[str, Simulator]:
    """Installed simulator backends by name."""
    return dict(registry().simulators)


def backends() -> list[dict[str, Any]]:
    """Name, description, availability (with the reason), what it runs and its options, of every
    installed backend."""
    out = []
    for name, sim in simulators().items():
        try:
            ok, why = sim.available()
        except Exception as exc:  # a broken plugin is reported, not fatal
            ok, why = False, f"{type(exc).__name__}: {exc}"
        options = ", ".join(sim.Options.model_fields) if sim.Options is not None else ""
        runs = f"{'/'.join(sim.methods)}; {', '.join(sim.formulations)}"
        out.append(
            {
                "name": name,
                "description": sim.description,
                "available": bool(ok),
                "reason": why,
                "family": getattr(sim, "family", DEFAULT_FAMILY),
                "runs": runs,
                "options": options,
            }
        )
    return out


def get_simulator(spec: str) -> Simulator:
    """The usable backend named by ``spec`` (``NAME`` or ``NAME:KEY=VALUE,...``), configured."""
    return backend(spec)


def simulate(
    problems: Problem | Sequence[Problem],
    backend: str = "numpy",
    options: Mapping[str, Any] | None = None,
    *,
    max_memory: float | None = None,
) -> list[SimResult]:
    """Run ``problems`` on ``backend`` (a name or ``NAME:KEY=VALUE,...``, plus ``options``);
    problems differing only by seed run as one batch. A batch whose estimated memory is over
    ``max_memory`` bytes (default ``$PRISMCAT_MAX_MEMORY``, else half the usable memory) is refused
    before its data are drawn."""
    items = [problems] if isinstance(problems, Problem) else list(problems)
    sim = get_simulator(with_options(backend, options))
    family = getattr(sim, "family", DEFAULT_FAMILY)
    if family != DEFAULT_FAMILY:
        raise PluginError(
            f"simulator backend '{sim.name}' runs the {family} family's problems, not the autoencoder's "
            f"(its family runs them: prismcat.families.get_family('{family}').run)"
        )
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(items):
        groups.setdefault(p.batch_key(), []).append(i)
    limits = Limits(default_max_memory() if max_memory is None else max_memory)
    offer = offer_of(sim)
    for idx in groups.values():
        batch = [items[i] for i in idx]
        r = resolve(batch[0], offer)
        p = batch[0]
        estimate = Estimate(memory(p, r.formulation, len(batch), r.integrator.method), 0.0)
        refused = limits.refusal(estimate, f"simulating d={p.d}, k={p.k}, n={p.n} ({len(batch)} seeds)")
        if refused:
            raise ProblemError(refused)
    results: list[SimResult | None] = [None] * len(items)
    for idx in groups.values():
        batch = [items[i] for i in idx]
        for i, res in zip(idx, run_batch(sim, batch), strict=True):
            results[i] = res
    return [r for r in results if r is not None]


def run_batch(sim: Simulator, batch: list[Problem]) -> list[SimResult]:
    prepared = prepare(batch, offer_of(sim))
    start = time.perf_counter()
    try:
        out = sim.integrate(prepared)
    except SimulationError:
        raise
    except Exception as exc:
        raise PluginError(f"simulator backend '{sim.name}' failed: {type(exc).__name__}: {exc}") from exc
    wall = time.perf_counter() - start
    check_output(sim.name, out, len(batch), len(prepared.times))
    spectra = final_spectrum(prepared, out.final) if batch[0].spectrum else None
    info = {
        "backend": sim.spec(),
        "formulation": prepared.formulation,
        "integrator": prepared.integrator.method,
        "dt": prepared.integrator.dt,
        "log_clock": prepared.log_clock,
        "dtype": prepared.problem.dtype,
        "evals": out.evals,
        "steps": out.steps,
        "batch": len(batch),
        "timing": {"integrate_s": wall},
        **({"details": dict(out.details)} if out.details else {}),
    }
    return [
        SimResult(
            problem=p,
            t=prepared.times.copy(),
            train=np.asarray(out.train[b], dtype=float),
            population=np.asarray(out.population[b], dtype=float),
            train0=float(prepared.train0[b]),
            population0=float(prepared.population0[b]),
            trS=float(prepared.trS[b]),
            spectrum=None if spectra is None else spectra[b],
            info=info,
        )
        for b, p in enumerate(batch)
    ]


def offer_of(sim: Simulator) -> Offer:
    """The backend's offer, checked (a plugin declaring something unknown is a PluginError)."""
    try:
        offer = sim.offer()
        if getattr(sim, "family", DEFAULT_FAMILY) != DEFAULT_FAMILY:
            return offer  # another family's backend: its family negotiates with it
        return replace(offer, backend=f"simulator backend '{sim.name}'")
    except ProblemError as exc:
        raise PluginError(str(exc)) from None
    except Exception as exc:
        raise PluginError(
            f"simulator backend '{sim.name}': offer() failed: {type(exc).__name__}: {exc}"
        ) from exc


def check_output(name: str, out: Any, batch: int, points: int) -> None:
    """A plugin's answer must have the right type, shapes and finite values."""
    if not isinstance(out, Integrated):
        raise PluginError(f"simulator backend '{name}' returned {type(out).__name__}, not Integrated")
    for what in ("train", "population"):
        arr = np.asarray(getattr(out, what))
        if arr.shape != (batch, points):
            raise PluginError(
                f"simulator backend '{name}' returned {what} of shape {arr.shape}, expected {(batch, points)}"
            )
        if not np.all(np.isfinite(arr)):
            raise PluginError(f"simulator backend '{name}' returned non-finite {what} values")
