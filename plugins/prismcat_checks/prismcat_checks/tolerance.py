"""Tolerance: at the largest size the distance to the limit is within the entry's tolerance."""

from __future__ import annotations

from prismcat.validation.checks import CheckContext, Checker, CheckResult, error_table


class ToleranceChecker(Checker):
    name = "tolerance"
    description = "distance to the limit at the largest size <= the entry's tolerance"

    def applies(self, entry, catalog) -> bool:
        return entry.has_limit

    def check(self, ctx: CheckContext) -> CheckResult:
        last = ctx.measurements[-1]
        stat = ctx.settings.statistic
        parts, ok, details = [], True, {"statistic": stat, "size": last.point.label()}
        for loss in ctx.losses():
            value = last.statistic(loss, stat)
            tol = ctx.settings.tolerance[loss]
            if value is None or tol is None:
                continue
            passed = value <= tol
            ok &= passed
            details[loss] = {"error": value, "tolerance": tol, "pass": passed}
            parts.append(f"{loss} {value:.3g} {'<=' if passed else '>'} {tol:.3g}")
        msg = f"{'; '.join(parts)} at {last.point.label()} ({stat})"
        return CheckResult(
            self.name, "pass" if ok else "fail", msg, details, error_table(ctx.measurements, stat)
        )
