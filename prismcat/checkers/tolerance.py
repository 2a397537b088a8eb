"""Tolerance: at the largest size the distance to the limit, as a fraction of the quantity's
scale (validation.scale, default sup |limit|), is within the entry's relative tolerance."""

from __future__ import annotations

from prismcat.validation.checks import CheckContext, Checker, CheckResult, scale_of


def _pct(x: float) -> str:
    return f"{100 * x:.3g}%"


class ToleranceChecker(Checker):
    name = "tolerance"
    description = "relative distance to the limit at the largest size <= the entry's tolerance"

    def applies(self, entry, catalog) -> bool:
        return entry.has_limit

    def check(self, ctx: CheckContext) -> CheckResult:
        if all(t is None for t in ctx.settings.tolerance.values()):  # the profile's, or the entry's
            return CheckResult(
                self.name, "skip", "no tolerance declared: the infinite-size extrapolation judges the formula"
            )
        last = ctx.measurements[-1]
        stat = ctx.settings.statistic
        parts, ok, details = [], True, {"statistic": stat, "size": last.point.label()}
        for loss in ctx.losses():
            value = last.statistic(loss, stat)
            tol = ctx.settings.tolerance[loss]
            if value is None or tol is None:
                continue
            scale = scale_of(ctx, loss, last.losses[loss].limit)
            rel = value / scale
            passed = rel <= tol
            ok &= passed
            details[loss] = {
                "error": value,
                "scale": scale,
                "relative": rel,
                "tolerance": tol,
                "pass": passed,
            }
            parts.append(f"{loss} {_pct(rel)} {'<=' if passed else '>'} {_pct(tol)}")
        msg = f"{'; '.join(parts)} of the scale at {last.point.label()} ({stat})"
        return CheckResult(self.name, "pass" if ok else "fail", msg, details)
