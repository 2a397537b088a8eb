"""From an entry and a profile to concrete problems: the size ladder, the realised ratios, the
clock window in model time and the small quantity eps of each size."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prismcat.catalog.entry import Entry
from prismcat.errors import PrismcatError
from prismcat.scaling import exact, solve_sizes
from prismcat.simulation import Integrator
from prismcat.validation import policy


@dataclass(frozen=True)
class Settings:
    """An entry's validation settings with a profile's overrides applied."""

    profile: str
    ladder: tuple[float, ...]
    base: dict[str, float]
    parameters: dict[str, float]
    seeds: int
    start: float
    horizon: float
    points: int
    statistic: str
    tolerance: dict[str, float | None]  # fractions of the quantity's scale
    scale: dict[str, float | None]  # declared scales (None: sup |limit| over the window)
    terms: tuple[float, ...]  # the seed-mean correction's exponents (extrapolation): rate (, next)
    rate_terms: tuple[float, ...]  # the declared rate (, next) of the entry's error statistic
    achievable: dict[str, Any]  # declared: resolution "formula", "rate"; "extrapolate"; "reason"
    integrator: str
    dt: float | None
    nested: bool = False
    seed_offset: int = 0
    dtype: str = "float64"

    def to_json(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "ladder": list(self.ladder),
            "terms": list(self.terms),
            "rate_terms": list(self.rate_terms),
        }


def settings_for(
    entry: Entry, profile: str = "quick", seed_offset: int = 0, dtype: str = "float64"
) -> Settings:
    v = entry.spec.validation
    over = v.profiles.get(profile)

    def pick(name: str, default: Any) -> Any:
        value = None if over is None else getattr(over, name)
        return default if value is None else value

    tol = pick("tolerance", v.tolerance)
    return Settings(
        profile=profile,
        ladder=tuple(pick("ladder", v.ladder)),
        base=dict(pick("base", v.base)),
        parameters=dict(v.parameters),
        seeds=pick("seeds", v.seeds) or policy.MIN_SEEDS,
        start=v.start,
        horizon=v.horizon,
        points=pick("points", v.points),
        statistic=v.statistic,
        tolerance={
            "train": tol.train,
            "population": tol.population if tol.population is not None else tol.train,
        },
        scale={"train": v.scale.train, "population": v.scale.population},
        terms=_terms(entry.spec.convergence.mean or entry.spec.convergence),
        rate_terms=_terms(entry.spec.convergence),
        achievable={
            "formula": None if v.resolution is None else getattr(v.resolution, profile, None),
            "rate": None if v.resolution is None else v.resolution.rate,
            "extrapolate": True if v.resolution is None else v.resolution.extrapolate,
            "reason": None if v.resolution is None else v.resolution.reason,
        },
        integrator=v.integrator,
        dt=v.dt,
        nested=v.nested,
        seed_offset=seed_offset,
        dtype=dtype,
    )


def _terms(expansion: Any) -> tuple[float, ...]:
    return tuple(float(t) for t in (expansion.rate, expansion.next) if t is not None)


@dataclass
class SizePoint:
    """One rung of the ladder: integer sizes, realised ratios and the time grid."""

    N: float
    sizes: dict[str, float]  # the family's sizes (d, k, n integers and sigma2 for the autoencoder)
    parameters: dict[str, float]  # realised values of the entry's ratios at these sizes
    clock: np.ndarray  # the entry's clock values
    times: np.ndarray  # model times
    eps: dict[str, float]  # the entry's small quantity 'convergence.in', by loss
    problems: list[Any] = field(default_factory=list)
    family: Any = None

    def label(self) -> str:
        return f"N={self.N:g} ({self.family.label(self.sizes)})"


def ladder(entry: Entry, settings: Settings) -> list[SizePoint]:
    """The problems of every rung of the ladder (seeds 0 .. seeds-1)."""
    nominal = entry.parameters(settings.parameters)
    fixed = {name: (mono, nominal[name]) for name, mono in entry.ratios.items()}
    family = entry.family
    scaling_f = {s: exact(entry.spec.scaling[s]) for s in family.sizes}
    clock = np.linspace(settings.start, settings.horizon, settings.points)
    points = []
    for N in settings.ladder:
        try:
            real = solve_sizes(N, scaling_f, fixed, settings.base, family.sizes)
        except ValueError as exc:
            raise PrismcatError(f"{entry.id}: cannot place problems at N = {N:g}: {exc}") from None
        sizes = {
            s: float(max(1, round(real[s]))) if s in family.integer_sizes else real[s] for s in family.sizes
        }
        params = {name: mono.value(sizes) for name, mono in entry.ratios.items()}
        if not all(math.isfinite(v) for v in params.values()):
            raise PrismcatError(f"{entry.id}: a realised ratio is not finite at sizes {sizes}")
        env = {k: np.float64(v) for k, v in {**sizes, **params}.items()}
        times = entry.model_time(clock, params, sizes)
        if np.any(times < -1e-12):
            raise PrismcatError(
                f"{entry.id}: the window [{settings.start}, {settings.horizon}] starts before t = 0"
            )
        times = np.maximum(times, 0.0)
        eps = {loss: float(c(env)) for loss, c in entry.convergence_eps.items()}
        if entry.mean_eps is not None:
            eps["mean"] = float(entry.mean_eps(env))
        slope, _ = entry.clock_map(params, sizes)  # dt is given on the entry's clock
        integ = Integrator(
            method=settings.integrator, dt=None if settings.dt is None else settings.dt / slope
        )
        point = SizePoint(N, sizes, params, clock, times, eps, family=family)
        points.append((point, integ))
    nest = None
    if settings.nested:
        nest = {s: max(int(p.sizes[s]) for p, _ in points) for s in family.integer_sizes}
    seeds = range(settings.seed_offset, settings.seed_offset + settings.seeds)
    for point, integ in points:
        point.problems = family.problems(
            point.sizes, entry.structure, point.times, integ, settings.dtype, seeds, nest
        )
    return [p for p, _ in points]
