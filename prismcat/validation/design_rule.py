"""The design rule: how prismcat chooses the experiment that validates an entry.

An entry states a claim (a limit curve over a range of parameters, on a clock, approached at a
declared rate). The experiment that tests it is read from that claim; every number below is a
policy constant (:mod:`prismcat.validation.policy`), and any field the entry's ``validation:``
block gives is an override that pins it.

1. **Where the formula can be told apart from a wrong one.** A formula off by a factor 1 + r moves
   the curve by r times its scale everywhere (amplitude visibility 1). A formula whose time
   constant is off by r moves it by r * max_t |c dL/dc| / max_t |L| (c the entry's clock): the
   *clock visibility* v. On a plateau v is tiny and no affordable experiment sees a clock error,
   so each parameter point is scored by min(1, v) over the losses.
2. **Parameter points.** Candidates are the defaults and, one parameter at a time, values spread
   over its declared range (evenly in log scale for positive ranges), and all of them moved
   together. A point scores min(1, v / policy.VISIBLE_ENOUGH) (ties go to the point nearest the
   defaults). The best-scoring candidate whose ladder fits the budget is the first point; the
   second is the best-scoring one that moves *every* free parameter at least policy.POINT_SPREAD
   times (or the square root of a narrower range), so that a formula right at one point and wrong
   elsewhere in its range fails, whichever parameter it gets wrong. Its candidates are the grid's
   and the first point moved exactly that far in every direction (the grid's spacing can overshoot
   into a corner of the range where errors show less). Fixed ratios (``value:``) are never moved.
3. **Window.** It starts at 0, or, where the formula is not finite at 0, a little after the last
   clock value at which it is not (policy.START_MARGIN of the window), and ends where the curve has
   stopped moving: beyond the horizon no loss changes by more than policy.SETTLED of its scale.
   Later times only add finite-size drift. A limit still moving at policy.MAX_HORIZON clock units
   has no such end: the entry must say where it holds (``horizon``), since running on until a
   finite run overflows tests nothing.
4. **Ladder.** Doubling sizes, policy.MIN_RUNGS rungs, one more per declared correction term
   beyond the first (the extrapolation fits them and needs two rungs for its misfit). The first
   rung is the smallest N at which every growing integer size reaches policy.MIN_SIZE and the
   declared small quantity eps is small: eps**terms <= policy.FIRST_RUNG_EPS, so that the first
   order the model leaves out is a small share of what it fits (on eps = 0.56 a right formula
   was rejected by 5.4 se, and four rungs cannot show that misfit). Of that ladder and those
   above it (doubling) whose pilot, one seed block on every rung, costs at most
   1/policy.PILOT_SHARE of the point's budget, the design takes the least noisy for the budget:
   single runs spread like the declared small quantity (the larger of the losses'
   ``convergence.in``), the extrapolation weighs each rung by the inverse of that spread
   squared, and on each ladder the budget buys seeds up to policy.MAX_SEEDS. The highest ladder
   within policy.LADDER_NOISE_SLACK of the least noisy wins: height shrinks the orders the model
   leaves out, seeds only the noise. Where a doubling costs more than the four times the seeds
   that would halve the noise (the autoencoder's flows cost d k**2 or d**3: a doubling costs 8
   to 32 seeds), a budget goes into seeds until they reach the cap, then into height.
5. **Seeds.** A pilot of policy.SEED_BLOCK seeds per rung estimates the noise; the runner then
   adds seed blocks until the predicted resolution meets the target or the budget is spent
   (:func:`seeds_for`). The decision reads the standard errors only, never the test's outcome,
   so the false-alarm rate stays the designed one.
6. **A next order the ladder shows.** Where the one-term correction does not describe the seed
   means (sqrt(chi2/dof) of its fit above policy.MISFIT_SCALE, from policy.MISFIT_SEEDS seeds or
   more), the next order, eps**(rate + policy.NEXT_ORDER_STEP), is fitted as well: on the ladder
   and one rung above it where the budget pays for the seeds the point has and those rule 5 asks
   for, else on the same ladder (a rung below would add the larger corrections the misfit came
   from). The misfit is read from the residuals of the fit, which do not depend on the
   intercept (the formula's error) that the test judges (a Gaussian linear fit's residuals are
   independent of its coefficients), so the choice never looks at the verdict. A next order
   the one-term model misses biases its extrapolation; on synthetic ladders where it is as large
   as the first order at the first rung, right formulas were rejected in 56-64% of runs without
   this rule and 0-4% with it (designed: 5%; ``tests/test_design.py``). Declaring ``next`` in
   the convergence claim fits it from the start.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from prismcat.catalog.entry import LOSSES, Entry
from prismcat.validation import policy


@dataclass(frozen=True)
class PointDesign:
    """One parameter point of the design: its window and how well errors show there."""

    parameters: dict[str, float]
    start: float
    horizon: float
    visibility: float  # min over losses of min(1, clock visibility)
    why: tuple[str, ...] = field(default_factory=tuple)


def _curves(entry: Entry, params: Mapping[str, float], clock: np.ndarray) -> list[np.ndarray]:
    """The limit of each loss at ``clock`` (NaN where the formula fails or is not finite)."""
    out = []
    for loss in LOSSES:
        formula = entry.formulas[loss]
        if formula is None or formula.kind == "none":
            continue
        try:
            with np.errstate(all="ignore"):
                values = np.asarray(formula.evaluate(dict(params), clock), dtype=float)
        except Exception:
            values = np.full(clock.shape, np.nan)
            for i, c in enumerate(clock):  # one point at a time: find where it does evaluate
                try:
                    with np.errstate(all="ignore"):
                        values[i] = float(np.asarray(formula.evaluate(dict(params), np.array([c])))[0])
                except Exception:
                    pass
        out.append(np.where(np.isfinite(values), values, np.nan))
    return out


def window(
    entry: Entry, params: Mapping[str, float], horizon: float | None = None, start: float | None = None
) -> tuple[float, float, list[str]]:
    """(start, horizon, why) of the clock window at ``params`` (rule 3); a given ``horizon`` or
    ``start`` is kept and the rest designed (the horizon from the curve after the given start)."""
    top = policy.MAX_HORIZON if horizon is None else float(horizon)
    probe = np.concatenate(
        [[0.0], np.geomspace(min(policy.PROBE_FIRST, top / 100), top, policy.PROBE_POINTS)]
    )
    curves = _curves(entry, params, probe)
    if not curves:
        return 0.0, 1.0 if horizon is None else top, ["no limit formula: a window of one clock unit"]
    why = []
    finite = np.all(np.isfinite(np.stack(curves)), axis=0)
    if not finite[-1]:
        try:  # the formula's own message: which loss, where and when
            entry.predict(probe[-1:], dict(params), check_range=False)
            detail = f"the formula is not finite at {entry.clock_name} = {top:g}"
        except Exception as exc:
            detail = str(exc)
        raise ValueError(f"no window to validate on: {detail}")
    last_bad = int(np.max(np.nonzero(~finite)[0])) if not finite.all() else -1
    if start is not None:  # given: the formula must be finite from there on
        if np.any(~finite & (probe >= start)):
            raise ValueError(f"the formula is not finite after the given start {start:g}")
        last_bad = int(np.searchsorted(probe, start, side="left")) - 1
    if horizon is None:
        horizon, why = _horizon(entry, probe[last_bad + 1 :], [c[last_bad + 1 :] for c in curves])
        if start is not None:
            horizon = max(horizon, _round(2.0 * start))
    if start is not None:
        return float(start), _round(horizon), why
    start = 0.0
    if last_bad >= 0:
        start = _round(max(float(probe[last_bad + 1]) * 2.0, policy.START_MARGIN * horizon))
        horizon = max(horizon, start * 4.0)
        why.append(
            f"the formula is not finite at {entry.clock_name} = {float(probe[last_bad]):.3g}: the window "
            f"starts at {start:g}"
        )
    return start, _round(horizon), why


def _horizon(entry: Entry, probe: np.ndarray, curves: list[np.ndarray]) -> tuple[float, list[str]]:
    """Where every loss has stopped moving (rule 3), from the formula on a geometric probe."""
    scale = max(float(np.max(np.abs(c))) for c in curves)
    moving = np.zeros(probe.shape, dtype=bool)
    for c in curves:  # beyond probe j the curve stays within SETTLED * scale of its end value
        tail = np.maximum.accumulate(np.abs(c - c[-1])[::-1])[::-1]
        moving |= tail > policy.SETTLED * scale
    idx = np.nonzero(moving)[0]
    if not scale > 0 or len(idx) == 0:
        return 1.0, [f"the formula does not move: a window of one {entry.clock_name} unit"]
    j = int(idx[-1]) + 1
    if j >= len(probe) - 1:  # a limit that never settles holds on some window the entry must state
        raise ValueError(
            f"the limit still moves at {entry.clock_name} = {float(probe[-1]):g}, so no window ends where "
            "it has settled: state where the limit holds (validation.horizon)"
        )
    horizon = _round(float(probe[j]))
    return horizon, [
        f"horizon {horizon:g}: after it no loss moves by more than {100 * policy.SETTLED:g}% of its scale"
    ]


def clock_visibility(entry: Entry, params: Mapping[str, float], start: float, horizon: float) -> float:
    """min over losses of max_t |c dL/dc| / max_t |L| on the window (rule 1), capped at 1."""
    clock = np.linspace(start, horizon, policy.PROBE_POINTS)
    h = policy.CLOCK_STEP
    base, stretched = _curves(entry, params, clock), _curves(entry, params, clock * (1.0 + h))
    worst = 1.0
    for c0, c1 in zip(base, stretched, strict=True):
        scale = float(np.nanmax(np.abs(c0))) if np.any(np.isfinite(c0)) else 0.0
        if not scale > 0:
            continue
        v = float(np.nanmax(np.abs(c1 - c0))) / h / scale
        worst = min(worst, v if math.isfinite(v) else 0.0)
    return worst


def candidates(entry: Entry) -> list[dict[str, float]]:
    """The defaults, one parameter at a time moved over its range, and the grid of all free
    parameters moved together (its diagonals where the grid would be large) (rule 2)."""
    default = entry.parameters()
    free = {n: p for n, p in entry.spec.parameters.items() if not p.fixed}
    grids = {}
    for name, p in free.items():
        lo, hi = (float(x) for x in p.range)
        q = np.arange(1, policy.POINTS_PER_RANGE + 1) / (policy.POINTS_PER_RANGE + 1)
        values = np.exp(np.log(lo) + q * (np.log(hi) - np.log(lo))) if lo > 0 else lo + q * (hi - lo)
        grids[name] = [_round(float(v)) for v in values]
    out = [dict(default)]
    for name, values in grids.items():
        out += [{**default, name: v} for v in values]
    if len(grids) > 1:
        names = list(grids)
        if policy.POINTS_PER_RANGE ** len(names) <= policy.MAX_CANDIDATES:
            combos = itertools.product(*(grids[n] for n in names))
        else:  # the two diagonals of the grid
            m = policy.POINTS_PER_RANGE
            combos = [tuple(grids[n][i] for n in names) for i in range(m)]
            combos += [
                tuple(grids[n][i if j % 2 == 0 else m - 1 - i] for j, n in enumerate(names)) for i in range(m)
            ]
        out += [{**default, **dict(zip(names, c, strict=True))} for c in combos]
    unique = {tuple(sorted(c.items())): c for c in out}
    return list(unique.values())


def spread(a: Mapping[str, float], b: Mapping[str, float], entry: Entry) -> float:
    """The largest factor (or, for ranges through 0, fraction of the range) between two points."""
    return max([1.0, *_factors(a, b, entry).values()])


def covers(a: Mapping[str, float], b: Mapping[str, float], entry: Entry) -> bool:
    """Whether ``b`` moves every free parameter of ``a`` by policy.POINT_SPREAD (or, where its
    range is narrower, by the square root of the range's width)."""
    factors = _factors(a, b, entry)
    for name, p in entry.spec.parameters.items():
        if p.fixed:
            continue
        lo, hi = p.range
        width = hi / lo if lo > 0 else 1.0 + policy.POINT_SPREAD
        if factors[name] < min(policy.POINT_SPREAD, math.sqrt(width)) * (1 - 1e-9):
            return False
    return True


def _factors(a: Mapping[str, float], b: Mapping[str, float], entry: Entry) -> dict[str, float]:
    out = {}
    for name, p in entry.spec.parameters.items():
        x, y = a[name], b[name]
        lo, hi = p.range
        if lo > 0:
            out[name] = max(x, y) / min(x, y)
        else:
            out[name] = 1.0 + policy.POINT_SPREAD * abs(x - y) / (hi - lo) if hi > lo else 1.0
    return out


def choose_points(
    entry: Entry,
    fits=lambda params, start, horizon: True,
    horizon: float | None = None,
    start: float | None = None,
) -> list[PointDesign]:
    """The parameter points (rule 2): at least two for an entry with free parameters, one
    otherwise; ``fits(params, start, horizon)`` says whether that point's ladder fits the budget. A given
    ``horizon`` or ``start`` (the entry's overrides) is kept."""

    reasons: list[str] = []

    def score(params: dict[str, float]) -> PointDesign | None:
        try:  # a ValueError (no window, no affordable ladder) says why the point is out
            first, last, why = window(entry, params, horizon, start)
            if not last > first or not fits(params, first, last):
                return None
        except ValueError as exc:
            reasons.append(str(exc))
            return None
        v = clock_visibility(entry, params, first, last)
        return PointDesign(params, first, last, v, tuple(why))

    scored = [d for d in map(score, candidates(entry)) if d is not None]
    if not scored:
        why = max(set(reasons), key=reasons.count) if reasons else "no ladder fits within the budget"
        raise ValueError(f"no parameter point of the declared ranges has a window and a ladder: {why}")
    default = entry.parameters()

    def rank(d: PointDesign) -> tuple[float, float]:  # visible enough first, then near the default
        return (-min(1.0, d.visibility / policy.VISIBLE_ENOUGH), spread(d.parameters, default, entry))

    order = sorted(scored, key=rank)
    first = order[0]
    chosen = [first]
    if any(not p.fixed for p in entry.spec.parameters.values()):
        # the grid's points far enough from the first, and the first moved exactly far enough
        # (the grid's spacing may overshoot into a corner where errors show less)
        seen = {tuple(sorted(d.parameters.items())) for d in scored}
        moved = [
            d
            for d in map(score, spread_from(first.parameters, entry))
            if d is not None and tuple(sorted(d.parameters.items())) not in seen
        ]
        pool = sorted(scored + moved, key=rank)
        far = [d for d in pool if covers(first.parameters, d.parameters, entry)]
        if not far:  # none affordable moves every parameter far enough: the one that moves each furthest
            free = [n for n, p in entry.spec.parameters.items() if not p.fixed]

            def least(d: PointDesign) -> float:
                factors = _factors(first.parameters, d.parameters, entry)
                return min(factors[n] for n in free)

            far = sorted(pool, key=lambda d: (-least(d), rank(d)))
        if far and far[0] is not first:
            chosen.append(far[0])
    return chosen


def spread_from(params: Mapping[str, float], entry: Entry) -> list[dict[str, float]]:
    """``params`` with every free parameter moved just far enough (:func:`covers`): by
    policy.POINT_SPREAD up or down (or the square root of a narrower range), or to an end of a
    range through 0; every combination that stays inside the ranges."""
    options = {}
    for name, p in entry.spec.parameters.items():
        if p.fixed:
            continue
        lo, hi = (float(x) for x in p.range)
        x = float(params[name])
        if lo > 0:
            f = min(policy.POINT_SPREAD, math.sqrt(hi / lo))
            values = [x * f, x / f]
        else:
            values = [lo, hi]
        options[name] = [_round(v) for v in values if lo <= _round(v) <= hi and _round(v) != x]
    if any(not v for v in options.values()):
        return []
    names = list(options)
    combos = list(itertools.product(*(options[n] for n in names)))[: policy.MAX_CANDIDATES]
    return [{**params, **dict(zip(names, c, strict=True))} for c in combos]


def rungs_needed(terms: tuple[float, ...]) -> int:
    """Rungs for the extrapolation: intercept + correction terms + 2 for the misfit (rule 4)."""
    return max(policy.MIN_RUNGS, len(terms) + 3)


def first_rung(entry: Entry, sizes_at, eps_at=None, terms: int = 1) -> tuple[float, str]:
    """The smallest power of two N at which every growing integer size reaches policy.MIN_SIZE
    and the declared small quantity is small enough for the correction model (rule 4):
    ``eps_at(N) ** terms <= policy.FIRST_RUNG_EPS``, the first order the model leaves out at most
    that share of the ones it fits. Returns N and, where eps set it, why."""
    N = 1.0
    growing = [s for s in entry.family.integer_sizes if entry.spec.scaling[s] > 0]
    by_size = None  # the first rung the sizes alone would give
    for _ in range(40):
        sizes = sizes_at(N)
        if all(round(sizes[s]) >= policy.MIN_SIZE for s in growing):
            by_size = by_size or N
            eps = None if eps_at is None else eps_at(N)
            if eps is None or not math.isfinite(eps) or eps**terms <= policy.FIRST_RUNG_EPS:
                if by_size == N or eps is None or not math.isfinite(eps):
                    return N, ""
                return N, (
                    f"first rung N = {N:g}: the smallest where eps = {eps:.3g} leaves the omitted order at "
                    f"most {policy.FIRST_RUNG_EPS:g} of the fitted ones (eps**{terms})"
                )
        N *= 2.0
    if by_size is None:
        raise ValueError("no N up to 2^40 gives every size its minimum")
    raise ValueError(
        f"the declared small quantity does not fall below {policy.FIRST_RUNG_EPS:g} up to N = 2^40"
    )


def seeds_for(current: int, resolved: float, target: float, cap: int) -> int:
    """Seeds that bring the resolution ``resolved`` (reached with ``current`` seeds) to ``target``,
    in whole seed blocks, at most ``cap`` (rule 5). Standard errors shrink like 1/sqrt(seeds) and
    the Student-t critical values of the tests with them; the systematic floor does not, so a
    prediction short of the target after a round is topped up again (policy.TOP_UP_ROUNDS)."""
    if not (math.isfinite(resolved) and resolved > target) or current >= cap:
        return current
    block = policy.SEED_BLOCK
    for seeds in range((current // block + 1) * block, cap + 1, block):
        if predicted_resolution(resolved, current, seeds) * policy.TOP_UP_MARGIN <= target:
            return seeds
    return max(current, cap)


def predicted_resolution(resolved: float, seeds: int, more: int) -> float:
    """The resolution ``resolved`` at ``seeds`` seeds, predicted at ``more`` seeds."""
    from scipy import stats  # deferred: scipy loads only when a design is grown

    def reach(s: int) -> float:
        return float(stats.t.isf(policy.ALPHA / 6, s - 1)) + policy.required_z()

    return resolved * math.sqrt(seeds / more) * reach(more) / reach(seeds)


def _round(x: float) -> float:
    """Three significant digits: designed numbers read as a person would write them."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.3g}")
