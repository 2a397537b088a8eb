"""From an entry and a profile to concrete problems: the size ladder, the realised ratios, the
clock window in model time and the small quantity eps of each size."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prismcat.catalog.entry import Entry
from prismcat.errors import PrismcatError
from prismcat.scaling import exact, solve_sizes
from prismcat.simulation import Integrator
from prismcat.validation import design_rule as rule
from prismcat.validation import policy
from prismcat.validation.extrapolation import estimator_weights


@dataclass(frozen=True)
class Settings:
    """The experiment for one parameter point of an entry: its validation block's overrides, the
    profile's, and the design rule's choices for everything left out (:mod:`design_rule`)."""

    profile: str
    ladder: tuple[float, ...]
    base: dict[str, float]
    parameters: dict[str, float]
    seeds: int
    start: float
    horizon: float
    points: int
    statistic: str
    tolerance: dict[str, float | None]  # fractions of the quantity's scale (None: not checked)
    scale: dict[str, float | None]  # declared scales (None: sup |limit| over the window)
    terms: tuple[float, ...]  # the seed-mean correction's exponents (extrapolation): rate (, next)
    rate_terms: tuple[float, ...]  # the declared rate (, next) of the entry's error statistic
    achievable: dict[str, Any]  # declared: resolution "formula", "rate"; "extrapolate"; "reason"
    integrator: str
    dt: float | None
    nested: bool = False
    seed_offset: int = 0
    dtype: str = "float64"
    point: int = 0  # which of the entry's parameter points (0 = the first)
    designed: tuple[str, ...] = ()  # the fields the design rule chose (the rest were given)
    why: tuple[str, ...] = ()  # the design's reasons, one line each
    visibility: float | None = None  # clock visibility at this point (min over losses, <= 1)
    max_seeds: int = policy.MAX_SEEDS  # what the budget allows a top-up to reach
    budget: float | None = None  # seconds (one core) this point may simulate for
    target: float | None = None  # a resolution asked for (--resolution), over the policy's targets
    # the Offer of the backend that runs the point: the cost model prices ladder and seeds with it
    offer: Any = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.__dict__.items() if k != "offer"},
            "ladder": list(self.ladder),
            "terms": list(self.terms),
            "rate_terms": list(self.rate_terms),
            "designed": list(self.designed),
            "why": list(self.why),
        }

    @property
    def point_budget(self) -> float:
        """Seconds (one core) this point may simulate for: the design's, else its profile's."""
        return float(self.budget if self.budget is not None else policy.point_budget(self.profile))

    def where(self) -> str:
        """The parameter point, for messages (``gamma = 2, a = 0.1``)."""
        return point_label(self.parameters)

    def given(self) -> list[str]:
        """The design's fields the entry gave instead (see :func:`given_fields`)."""
        return given_fields(self.designed, bool(self.parameters))


DESIGNABLE = ("parameters", "ladder", "seeds", "start", "horizon")


def point_label(parameters: dict[str, float]) -> str:
    """A parameter point as people read it: ``gamma = 2, a = 0.1`` (or ``no parameters``)."""
    return ", ".join(f"{k} = {v:g}" for k, v in parameters.items()) or "no parameters"


def given_fields(designed, has_parameters: bool) -> list[str]:
    """Of the fields a design chooses, those an entry gave (an entry without parameters gives none)."""
    return [f for f in DESIGNABLE if f not in designed and (has_parameters or f != "parameters")]


def settings_for(
    entry: Entry, profile: str = "quick", seed_offset: int = 0, dtype: str = "float64"
) -> Settings:
    """The experiment at the entry's first parameter point (see :func:`designs_for`)."""
    return designs_for(entry, profile, seed_offset, dtype)[0]


def designs_for(
    entry: Entry,
    profile: str = "quick",
    seed_offset: int = 0,
    dtype: str = "float64",
    target: float | None = None,
    budget: float | None = None,
    offer: Any = None,
) -> list[Settings]:
    """One :class:`Settings` per parameter point: the entry's overrides where it gives them, the
    design rule's choices (:mod:`prismcat.validation.design_rule`) for the rest. ``target`` is a
    resolution asked for; ``budget`` the seconds (one core) each point may simulate for (default:
    policy.POINT_BUDGET, scaled by (2% / target)**2 where a finer target is asked); ``offer`` the
    running backend's Offer, which prices ladder and seeds (None: the cheapest way to run them)."""
    key = (id(entry), profile, seed_offset, dtype, target, budget, offer)
    hit = _DESIGNS.get(key)
    if hit is not None and hit[0] is entry:
        return hit[1]
    out = _design(entry, profile, seed_offset, dtype, target, budget, offer)
    if len(_DESIGNS) > 512:
        _DESIGNS.clear()
    _DESIGNS[key] = (entry, out)
    return out


_DESIGNS: dict[tuple, tuple[Entry, list[Settings]]] = {}


def block_value(entry: Entry, profile: str, name: str) -> Any:
    """A field of the entry's ``validation:`` block as ``profile`` overrides it (None: not given)."""
    over = entry.spec.validation.profiles.get(profile)
    value = None if over is None else getattr(over, name)
    return getattr(entry.spec.validation, name) if value is None else value


def default_window(entry: Entry) -> tuple[float, float]:
    """The clock window at the entry's default parameters: as given, the rest designed (rule 3).
    Cheap (no parameter points, no ladder): for plots and placements."""
    v = entry.spec.validation
    if v.start is not None and v.horizon is not None:
        return float(v.start), float(v.horizon)
    try:
        start, horizon, _ = rule.window(entry, entry.parameters(v.parameters), v.horizon, v.start)
    except (ValueError, PrismcatError):
        return float(v.start or 0.0), float(v.horizon or 1.0)
    return float(v.start if v.start is not None else start), float(horizon)


def _design(
    entry: Entry, profile: str, seed_offset: int, dtype: str, target, budget_s, offer
) -> list[Settings]:
    v = entry.spec.validation

    tol = block_value(entry, profile, "tolerance")
    given_ladder = block_value(entry, profile, "ladder")
    base = dict(block_value(entry, profile, "base"))
    terms = _terms(entry.spec.convergence.mean or entry.spec.convergence)
    common = dict(
        profile=profile,
        base=base,
        points=block_value(entry, profile, "points"),
        statistic=v.statistic,
        tolerance={
            "train": None if tol is None else tol.train,
            "population": None
            if tol is None
            else (tol.population if tol.population is not None else tol.train),
        },
        scale={"train": v.scale.train, "population": v.scale.population},
        terms=terms,
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
        target=target,
        offer=offer,
    )
    seeds = block_value(entry, profile, "seeds")
    if budget_s is None:
        budget_s = policy.point_budget(profile)
        if target is not None:  # seeds grow like 1/target**2
            budget_s *= max(1.0, (policy.target_resolution(profile, entry.cell.kind) / target) ** 2)
    designed: list[str] = []

    def ladder_at(
        params: dict[str, float], start: float, horizon: float
    ) -> tuple[tuple[float, ...], int, list[str]]:
        trial = Settings(**common, ladder=(1.0,), parameters=params, seeds=policy.SEED_BLOCK,
                         start=start, horizon=horizon, budget=budget_s)  # fmt: skip
        return _ladder_for(entry, trial, given_ladder)

    free = any(not p.fixed for p in entry.spec.parameters.values())
    pinned = bool(v.parameters) or not free or not entry.has_limit
    if pinned:
        params = entry.parameters(v.parameters)
        points = [_point_window(entry, params, v.start, v.horizon)]
    else:
        designed.append("parameters")

        def fits(params: dict[str, float], start: float, horizon: float) -> bool:
            try:  # a ValueError says why not (the design reports the commonest reason)
                ladder_at(params, start, horizon)
            except PrismcatError as exc:
                raise ValueError(str(exc)) from None
            return True

        try:
            points = rule.choose_points(entry, fits, v.horizon, v.start)
        except ValueError as exc:
            raise PrismcatError(f"{entry.id}: cannot design a validation: {exc}") from None
    if given_ladder is None:
        designed.append("ladder")
    if seeds is None:
        designed.append("seeds")
    out = []
    for i, p in enumerate(points):
        try:
            rungs, cap, ladder_why = ladder_at(p.parameters, p.start, p.horizon)
        except ValueError as exc:
            raise PrismcatError(f"{entry.id}: cannot design a ladder at {p.parameters}: {exc}") from None
        why = [*p.why, *ladder_why]
        out.append(
            Settings(
                **common,
                ladder=rungs,
                parameters=dict(p.parameters),
                seeds=seeds or policy.SEED_BLOCK,
                start=p.start,
                horizon=p.horizon,
                point=i,
                designed=tuple(designed + [f for f in ("start", "horizon") if getattr(v, f) is None]),
                why=tuple(why),
                visibility=p.visibility,
                max_seeds=cap if seeds is None else seeds,
                budget=budget_s,
            )
        )
    return out


def _ladder_for(entry: Entry, trial: Settings, given: Any = None) -> tuple[tuple[float, ...], int, list[str]]:
    """The given ladder, or the design's (rule 4) for ``trial``'s point, correction terms and
    budget; the seeds the budget allows; and, for a designed ladder, why it starts and ends
    where it does. Raises ValueError where even the smallest ladder does not fit."""
    budget_s = trial.point_budget
    budget = budget_s * policy.FLOP_RATE
    if given is not None:
        rungs = tuple(float(x) for x in given)
        cap = _cap(entry, trial, rungs)
        return rungs, policy.SEED_BLOCK if cap is None else cap, []
    terms = trial.terms
    sizes_at = _sizes_at(entry, trial.parameters, trial.base)
    eps_at = _eps_at(entry, sizes_at)
    n0, binding = rule.first_rung(entry, sizes_at, eps_at, len(terms))
    R = rule.rungs_needed(terms)
    rungs = tuple(n0 * 2.0**i for i in range(R))
    along = [eps_at(N) for N in rungs]
    if all(e is not None for e in along) and max(along) - min(along) <= 1e-12 * max(along):
        raise ValueError(
            f"the declared small quantity is {along[0]:.3g} on every rung: it does not shrink as the "
            "sizes grow, so there is nothing to extrapolate (convergence.in)"
        )
    cost = _pilot_cost(entry, trial, rungs)
    if cost > budget:  # the pilot alone: no room at all
        raise ValueError(
            f"even the smallest ladder N = {', '.join(f'{x:g}' for x in rungs)} does not fit within "
            f"the budget: about {cost / policy.FLOP_RATE:.3g} s for one block of "
            f"{policy.SEED_BLOCK} seeds, of {budget_s:.3g} s per point (ask for more with --budget)"
        )
    options = [(rungs, cost)]
    for _ in range(policy.MAX_LADDER_SHIFTS):
        up = tuple(2.0 * N for N in rungs)
        up_cost = _pilot_cost(entry, trial, up)
        if up_cost * policy.PILOT_SHARE > budget:
            break
        rungs, cost = up, up_cost
        options.append((rungs, cost))
    noise = _noise_at(entry, sizes_at, eps_at, terms)
    scored = [(noise(r, _affordable(c, budget)), i) for i, (r, c) in enumerate(options)]
    within = f"the budget of {budget_s:.3g} s per point"
    if len(options) == 1:
        pick, how = 0, f"one doubling more would pass {within}"
    elif all(x is not None for x, _ in scored):
        best = min(x for x, _ in scored)
        # the highest ladder within policy.LADDER_NOISE_SLACK of the least noisy: height only
        # shrinks the orders the model leaves out, seeds only the noise
        pick = max(i for x, i in scored if x <= best * (1 + policy.LADDER_NOISE_SLACK))
        how = f"the least noisy that {within} pays for (spread predicted from the declared small quantity)"
    else:
        pick, how = len(options) - 1, f"the largest whose pilot fits {within}"
    rungs, cost = options[pick]
    moved = rungs[0] > n0
    why = [binding] if binding and not moved else []  # eps, not the budget, set the first rung
    why.append(f"ladder N = {', '.join(f'{x:g}' for x in rungs)}: {how}")
    return rungs, _affordable(cost, budget), why


def _noise_at(entry: Entry, sizes_at, eps_at, terms: tuple[float, ...]):
    """(rungs, seeds) -> the extrapolant's predicted standard error, up to one factor common to
    every ladder of the point: single runs spread like the declared small quantity (the larger
    of the losses' ``convergence.in``), and the extrapolation, fitted in ``eps_at``'s small
    quantity, weighs the rungs by the inverse of that spread squared (None where a small
    quantity cannot be evaluated)."""
    single = _eps_at(entry, sizes_at, entry.convergence_eps.values())

    def se(rungs: tuple[float, ...], seeds: int) -> float | None:
        e = [single(N) for N in rungs]
        m = [eps_at(N) for N in rungs]
        if any(x is None or not x > 0 for x in [*e, *m]):
            return None
        spread = np.asarray(e) ** 2
        a = estimator_weights(np.asarray(m), list(terms), spread)
        return float(np.sqrt(np.sum(a**2 * spread) / seeds))

    return se


def with_next_order(entry: Entry, settings: Settings, misfit: float, wanted: int = 0) -> Settings | None:
    """``settings`` with the next order of the seed mean's correction fitted as well (design rule
    6): exponent rate + policy.NEXT_ORDER_STEP, on the ladder and one rung above it where the
    budget pays for the seeds the point has and ``wanted`` (what rule 5 asks for), else on the
    same ladder (no new simulation; one degree of freedom left for the misfit). A rung below
    would add the larger corrections the misfit came from. None where the ladder or the terms
    were given, two terms are fitted already, or the ladder is too short for two terms."""
    if "ladder" not in settings.designed or len(settings.terms) != 1:
        return None
    terms = (settings.terms[0], settings.terms[0] + policy.NEXT_ORDER_STEP)
    longer = (*settings.ladder, 2.0 * settings.ladder[-1])
    cap = _cap(entry, settings, longer) or 0  # 0: the cost model cannot price the longer ladder
    if cap >= max(settings.seeds, wanted):
        rungs, where = longer, f"on N = {', '.join(f'{x:g}' for x in longer)} (one rung more)"
    elif len(settings.ladder) >= len(terms) + 2:
        rungs, cap, where = (
            settings.ladder,
            settings.max_seeds,
            "on the same ladder (a rung more does not fit)",
        )
    else:
        return None
    why = (
        f"next order eps^{terms[1]:g} fitted as well, {where}: the one-term correction misfits the "
        f"seed means (sqrt(chi2/dof) = {misfit:.3g} > {policy.MISFIT_SCALE:g})"
    )
    return dataclasses.replace(settings, terms=terms, ladder=rungs, max_seeds=cap, why=(*settings.why, why))


def _point_window(entry: Entry, params: dict[str, float], start, horizon) -> Any:
    """A pinned point's window: as given, the rest designed (rule 3)."""
    why: list[str] = []
    if start is None or horizon is None:
        try:
            s, h, why = rule.window(entry, params, horizon, start)
        except ValueError as exc:
            raise PrismcatError(f"{entry.id}: cannot design a window: {exc}") from None
        start = s if start is None else start
        horizon = h if horizon is None else horizon
    vis = rule.clock_visibility(entry, params, start, horizon) if entry.has_limit else None
    return rule.PointDesign(params, float(start), float(horizon), vis, tuple(why))


def _terms(expansion: Any) -> tuple[float, ...]:
    return tuple(float(t) for t in (expansion.rate, expansion.next) if t is not None)


def _sizes_at(entry: Entry, params: dict[str, float], base: dict[str, float]):
    fixed = {name: (mono, params[name]) for name, mono in entry.ratios.items()}
    scaling_f = {s: exact(entry.spec.scaling[s]) for s in entry.family.sizes}

    def at(N: float) -> dict[str, float]:
        return solve_sizes(N, scaling_f, fixed, base, entry.family.sizes)

    return at


def _realise(entry: Entry, real: dict[str, float]) -> tuple[dict, dict, dict]:
    """The sizes a rung runs (integer sizes rounded, the rest to 12 digits: values that differ by
    rounding are one problem), the ratios they realise, and both as an expression environment."""
    family = entry.family
    sizes = {
        s: float(max(1, round(real[s]))) if s in family.integer_sizes else _canonical(real[s])
        for s in family.sizes
    }
    params = {name: mono.value(sizes) for name, mono in entry.ratios.items()}
    return sizes, params, {k: np.float64(v) for k, v in {**sizes, **params}.items()}


def _eps_at(entry: Entry, sizes_at, compiled=None):
    """N -> the extrapolation's small quantity at the sizes of N (the seed mean's where declared,
    else the larger of the losses'; ``compiled``: these small quantities instead)."""
    if compiled is None:
        compiled = [entry.mean_eps] if entry.mean_eps is not None else entry.convergence_eps.values()
    compiled = list(compiled)

    def at(N: float) -> float | None:
        _, _, env = _realise(entry, sizes_at(N))
        try:
            with np.errstate(all="ignore"):
                values = [abs(float(c(env))) for c in compiled]
        except Exception:  # an eps the design cannot evaluate does not set the first rung
            return None
        return max(values) if values else None

    return at


def _pilot_cost(entry: Entry, trial: Settings, rungs: tuple[float, ...]) -> float:
    """Operations of one seed block on every rung (the family's cost model, on trial's backend)."""
    st = dataclasses.replace(trial, ladder=rungs, seeds=policy.SEED_BLOCK)
    return float(sum(p.family.cost(p.problems, trial.offer) for p in ladder(entry, st)))


def _cap(entry: Entry, trial: Settings, rungs: tuple[float, ...]) -> int | None:
    """The most seeds ``trial``'s budget pays for on ``rungs`` (None: the cost model cannot
    price them)."""
    try:
        cost = _pilot_cost(entry, trial, rungs)
    except (ValueError, PrismcatError):
        return None
    return _affordable(cost, trial.point_budget * policy.FLOP_RATE)


def _affordable(block: float, budget: float) -> int:
    """The most seeds (whole blocks, at most policy.MAX_SEEDS) the budget pays for, one block of
    seeds on every rung costing ``block``."""
    if not block > 0:
        return policy.MAX_SEEDS
    blocks = int(budget // block)
    return int(min(policy.MAX_SEEDS, max(1, blocks) * policy.SEED_BLOCK))


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
        sizes, params, env = _realise(entry, real)
        if not all(math.isfinite(v) for v in params.values()):
            raise PrismcatError(f"{entry.id}: a realised ratio is not finite at sizes {sizes}")
        times = entry.model_time(clock, params, sizes)
        if np.any(times < -1e-12):
            raise PrismcatError(
                f"{entry.id}: the window [{settings.start}, {settings.horizon}] starts before t = 0"
            )
        times = np.array([_canonical(x) for x in np.maximum(times, 0.0)])
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


def _canonical(x: float) -> float:
    """``x`` to 12 significant digits: a parameter that moved by a few ulps is the same problem."""
    return float(f"{float(x):.12g}")
