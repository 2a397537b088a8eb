"""Extrapolation: the formula against the ladder's infinite-size extrapolation, and the resolution.

For each loss the per-seed deviations from the formula are extrapolated to eps -> 0 with the
entry's declared correction (``convergence.rate`` and ``convergence.next``; see
:mod:`prismcat.validation.extrapolation`). The check fails when

- the formula lies outside the extrapolation's simultaneous band at the false-alarm rate
  policy.ALPHA (a wrong formula), or
- this run cannot resolve the target error (policy.TARGET_RESOLUTION, or the entry's declared
  ``validation.resolution``): neither an amplitude error (limit x (1 +- r)) nor a stretched clock
  (limit at clock x (1 +- r)) of that size would be detected with probability policy.REQUIRED_POWER
  (a run too coarse to tell right from wrong does not pass quietly), or
- there are fewer than policy.MIN_SEEDS seeds.
"""

from __future__ import annotations

import numpy as np

from prismcat.validation import policy
from prismcat.validation.checks import CheckContext, Checker, CheckResult, scale_of
from prismcat.validation.extrapolation import extrapolate


def clock_profile(ctx: CheckContext) -> tuple[dict[str, np.ndarray | None], float]:
    """The formula at the largest rung on a clock stretched by 1 + h (h = policy.CLOCK_STEP):
    (stretched - limit) / h is the change per unit relative error in the formula's time scale."""
    point = ctx.measurements[-1].point
    h = policy.CLOCK_STEP
    pred = ctx.entry.predict(point.clock * (1.0 + h), point.parameters, check_range=False)
    return {"train": pred.train, "population": pred.population}, h


def _pct(x: float) -> str:
    return f"{100 * x:.2g}%" if np.isfinite(x) else "inf"


class ExtrapolationChecker(Checker):
    name = "extrapolation"
    description = "the formula within the infinite-size extrapolation's band; resolution meets the target"

    def applies(self, entry, catalog) -> bool:
        return entry.has_limit

    def check(self, ctx: CheckContext) -> CheckResult:
        ms, st = ctx.measurements, ctx.settings
        terms = list(st.terms)
        declared = st.achievable["formula"]
        target = policy.target_resolution(st.profile, ctx.entry.cell.kind)
        target = st.target if st.target is not None else (declared if declared is not None else target)
        if not st.achievable["extrapolate"]:
            return CheckResult(self.name, "skip", f"not extrapolated (declared): {st.achievable['reason']}")
        if len(ms) < len(terms) + 2:
            return CheckResult(
                self.name, "error", f"{len(ms)} rungs cannot fit {len(terms) + 1} terms and their misfit"
            )
        stretched, h = clock_profile(ctx)
        ok, parts, details, headline, band = True, [], {"target": target, "declared": declared}, {}, {}
        shortfall, misfit = 0.0, 1.0
        for loss in ctx.losses():
            data = [m.losses[loss] for m in ms]
            if any(d.limit is None for d in data):
                continue
            ref = data[-1].limit
            alpha = policy.ALPHA / 3  # the sup test and two matched tests share the false-alarm rate
            ex = extrapolate(
                [d.curves - d.limit[None, :] for d in data],
                [m.point.eps.get("mean", m.point.eps[loss]) for m in ms],
                terms,
                ref,
                scale=scale_of(ctx, loss, ref),
                alpha=alpha,
            )
            profiles = {"amplitude": ref, "clock": (np.asarray(stretched[loss]) - ref) / h}
            matched = {k: ex.project(g) for k, g in profiles.items()}
            res = {k: min(ex.smallest(g), matched[k].smallest()) for k, g in profiles.items()}
            zr = policy.required_z()
            need = {k: min(ex.smallest(g, zr), matched[k].smallest(zr)) for k, g in profiles.items()}
            few = ex.seeds < policy.MIN_SEEDS
            resolved = not few and max(need.values()) <= target
            rejected = ex.rejected or any(p.rejected for p in matched.values())
            passed = not rejected and resolved
            ok &= passed
            x, y = ex.relative_deviation
            resolution = f"resolution {_pct(res['amplitude'])}, clock {_pct(res['clock'])}"
            if declared is not None:
                resolution += f"; declared {_pct(declared)}"
            if rejected:
                line = f"formula off the infinite-size extrapolation by {_pct(x)} +- {_pct(y)} ({resolution})"
            else:
                line = (
                    f"formula within {_pct(x)} +- {_pct(y)} of the infinite-size extrapolation ({resolution})"
                )
            headline[loss] = line
            found = found_errors(matched)
            why = ""
            if rejected:
                test = (
                    f"deviation {ex.statistic:.1f} se > {ex.critical:.1f}"
                    if ex.rejected
                    else "the matched test of that error"
                )
                why = f" REJECTED ({test}, alpha {ex.alpha:.2g}): {found}"
            elif few:
                why = f" CANNOT TELL: {ex.seeds} seeds, at least {policy.MIN_SEEDS} needed"
            elif not resolved:
                what = (
                    "resolution asked for"
                    if st.target is not None
                    else "declared"
                    if declared is not None
                    else f"{st.profile} {ctx.entry.cell.kind} target"
                )
                why = (
                    f" TOO COARSE: resolves {_pct(max(need.values()))} with power "
                    f"{policy.REQUIRED_POWER:g}, the {what} is {_pct(target)} ({found})"
                )
            shortfall = max(shortfall, max(need.values()))
            misfit = max(misfit, ex.scale_factor)
            parts.append(f"{loss}: {line}{why}")
            center = ref + ex.deviation
            band[loss] = {
                "label": f"extrapolation N -> inf (band: +-{ex.critical:.1f} se)",
                "scale": ex.scale,
                "center": center.tolist(),
                "low": (center - ex.critical * ex.se).tolist(),
                "high": (center + ex.critical * ex.se).tolist(),
            }
            details[loss] = {
                **ex.to_json(),
                "resolution": res["amplitude"],
                "resolution_clock": res["clock"],
                "resolved_at_required_power": need,
                "matched": {k: p.to_json() for k, p in matched.items()},
                "rejected": rejected,
                "pass": passed,
                "summary": line,
                "found": found,
            }
        return CheckResult(
            self.name,
            "pass" if ok else "fail",
            "; ".join(parts),
            details,
            headline=headline,
            band=band,
            shortfall=(shortfall, target) if headline else None,
            misfit=misfit if headline else None,
        )


def found_errors(matched: dict) -> str:
    """What the matched tests estimate, in a theorist's words: 'the time constant looks 9.9% +- 0.3%
    too long; the amplitude 0.1% +- 0.2% too small'. A positive amplitude estimate r means the
    curves sit at (1 + r) x the formula; a positive clock estimate means they run ahead of it, as
    if the formula's time constant were r too long."""
    amp, clock = matched["amplitude"], matched["clock"]
    sentences = {
        "clock": f"the time constant looks {_pct(abs(clock.estimate))} +- {_pct(clock.se)} "
        f"{'too long' if clock.estimate > 0 else 'too short'}",
        "amplitude": f"the amplitude looks {_pct(abs(amp.estimate))} +- {_pct(amp.se)} "
        f"{'too small' if amp.estimate > 0 else 'too large'}",
    }
    order = sorted(sentences, key=lambda k: -abs(matched[k].estimate) / max(matched[k].se, 1e-300))
    return "; ".join(sentences[k] for k in order)
