"""Run finite-size problems on a registered simulator backend."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from prismcat.budget import Estimate, Limits
from prismcat.errors import PluginError
from prismcat.plugins import collect
from prismcat.settings import default_max_memory
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
        from prismcat.results import _pandas

        return _pandas().DataFrame({"t": self.t, "train": self.train, "population": self.population})

    def plot(self, ax: Any = None):
        """L_train/d and L_pop/d against model time."""
        from prismcat.display import _axes

        ax = _axes(ax)
        ax.plot(self.t, self.train, label="L_train / d")
        ax.plot(self.t, self.population, "--", label="L_pop / d")
        p = self.problem
        ax.set_title(
            f"d={p.d} k={p.k} n={p.n} sigma2={p.sigma2:g} seed={p.seed} ({self.info.get('backend')})",
            fontsize=9,
        )
        ax.set_xlabel("t")
        ax.legend(fontsize=8)
        return ax

    def __repr__(self) -> str:
        p = self.problem
        return (
            f"<SimResult d={p.d} k={p.k} n={p.n} sigma2={p.sigma2:g} seed={p.seed}: "
            f"{self.t.size} times, L_train/d {self.train[0]:.4g} -> {self.train[-1]:.4g}>"
        )

    def _repr_html_(self) -> str:
        import html

        i = self.info
        return (
            f"<p>{html.escape(repr(self))}</p><p>"
            + html.escape(f"{i.get('backend')}, {i.get('integrator')}, {i.get('formulation')}, ")
            + f"{i.get('evals')} evaluations</p>"
        )


def simulators() -> dict[str, Simulator]:
    """Installed simulator backends by name."""
    return collect("register_simulators")


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
                "family": getattr(sim, "family", "autoencoder"),
                "runs": runs,
                "options": options,
            }
        )
    return out


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``'sgd:batch_size=16,lr=0.01'`` -> ``('sgd', {'batch_size': '16', 'lr': '0.01'})``."""
    name, _, rest = spec.partition(":")
    options: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise PluginError(f"backend option '{item}' in '{spec}' is not KEY=VALUE")
        options[key.strip()] = value.strip()
    return name.strip(), options


def with_options(backend: str, options: Mapping[str, Any] | None) -> str:
    """The backend spec with ``options`` added (``--option KEY=VALUE`` on the command line)."""
    if not options:
        return backend
    name, given = parse_spec(backend)
    merged = {**given, **{str(k): str(v) for k, v in options.items()}}
    return name + ":" + ",".join(f"{k}={v}" for k, v in merged.items())


def get_simulator(spec: str) -> Simulator:
    """The usable backend named by ``spec`` (``NAME`` or ``NAME:KEY=VALUE,...``), configured."""
    from prismcat.plugins import conflict

    name, options = parse_spec(spec)
    sims = simulators()
    if name not in sims:
        owners = conflict("register_simulators", name)
        if owners:
            raise PluginError(
                f"simulator backend '{name}' is registered by more than one plugin ({', '.join(owners)}): "
                "uninstall all but one ('prismcat plugins' lists them)"
            )
        known = ", ".join(sims) or "none installed"
        raise PluginError(
            f"no simulator backend '{name}' (installed: {known}); 'prismcat plugins' shows any that "
            "failed to load"
        )
    sim = sims[name]
    try:
        ok, why = sim.available()
    except Exception as exc:
        ok, why = False, f"{type(exc).__name__}: {exc}"
    if not ok:
        raise PluginError(f"simulator backend '{name}' is not usable here: {why}")
    return sim.configure(**options)


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
    family = getattr(sim, "family", "autoencoder")
    if family != "autoencoder":
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
        if getattr(sim, "family", "autoencoder") != "autoencoder":
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
