"""Convergence: along the size ladder the distance to the limit shrinks, at the declared rate.

The fitted log-log slope of the distance against the entry's small quantity eps
(``convergence.in``) must lie within the declared slack of the declared rate, widened by three
standard errors of the fit (seeds resampled: with a handful of seeds a 3-point slope is noisy, and
noise must not pass for a wrong rate, nor a lucky draw for a right one), and the distance at the
largest size must be below the distance at the smallest.
"""

from __future__ import annotations

from prismcat.validation.checks import (
    CheckContext,
    Checker,
    CheckResult,
    bootstrap_slopes,
    distance_statistic,
    error_table,
    rate_band,
)


class ConvergenceChecker(Checker):
    name = "convergence"
    description = "error ~ eps**rate along the ladder (fitted rate within slack + 3 standard errors)"

    def applies(self, entry, catalog) -> bool:
        return entry.has_limit

    def check(self, ctx: CheckContext) -> CheckResult:
        ms = ctx.measurements
        stat = ctx.settings.statistic
        rate, slack = ctx.entry.spec.convergence.rate, ctx.settings.slack
        if len(ms) < 2:
            return CheckResult(self.name, "error", "needs at least two sizes on the ladder")
        ok, parts, details = True, [], {"declared_rate": rate, "slack": slack, "statistic": stat}
        for loss in ctx.losses():
            errs = [m.statistic(loss, stat) for m in ms]
            eps = [m.point.eps[loss] for m in ms]
            if any(e is None for e in errs):
                continue
            fitted, se = bootstrap_slopes(
                [m.losses[loss].curves for m in ms],
                [distance_statistic(stat, m.losses[loss].limit) for m in ms],
                eps,
            )
            within, allowance = rate_band(fitted, se, rate, slack)
            shrinks = errs[-1] < errs[0]
            passed = within and shrinks
            ok &= passed
            details[loss] = {"fitted_rate": fitted, "rate_se": se, "errors": errs, "eps": eps, "pass": passed}
            why = ""
            if not shrinks:
                why = " (error does not shrink)"
            elif not within:
                why = f" (outside {rate:g} +- {allowance:.2f})"
            parts.append(f"{loss} rate {fitted:.2f} +- {se:.2f}{why}")
        conv = ctx.entry.spec.convergence.in_
        small = conv if isinstance(conv, str) else f"{conv.train} (train), {conv.population} (population)"
        msg = f"{'; '.join(parts)}; declared {rate:g} +- ({slack:g} + 3 se) in {small}"
        return CheckResult(self.name, "pass" if ok else "fail", msg, details, error_table(ms, stat))
