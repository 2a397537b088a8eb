"""Cauchy: for an entry with no closed form, successive sizes approach each other at the declared
rate (within slack + 3 standard errors, seeds resampled), and the last difference is within the
tolerance. The distance follows the entry's statistic: sup of the seed-mean difference
(mean_curve), or the mean over seeds of each seed's sup difference (mean_error; use it with
nested = true, so that seed s shares its data across sizes).
"""

from __future__ import annotations

from prismcat.validation.checks import (
    CheckContext,
    Checker,
    CheckResult,
    bootstrap_slopes,
    distance_statistic,
    rate_band,
)


class CauchyChecker(Checker):
    name = "cauchy"
    description = "successive sizes approach each other at the declared rate (no closed form)"

    def applies(self, entry, catalog) -> bool:
        return not entry.has_limit

    def check(self, ctx: CheckContext) -> CheckResult:
        ms = ctx.measurements
        if len(ms) < 3:
            return CheckResult(self.name, "error", "needs at least three sizes on the ladder")
        rate, slack = ctx.entry.spec.convergence.rate, ctx.settings.slack
        stat = distance_statistic(ctx.settings.statistic)
        ok, parts, details = True, [], {"declared_rate": rate, "slack": slack}
        table = [{"N": m.point.N, "eps": m.point.eps["train"]} for m in ms[1:]]
        for loss in ctx.losses():
            steps = [ms[i].losses[loss].curves - ms[i - 1].losses[loss].curves for i in range(1, len(ms))]
            diffs = [stat(s) for s in steps]
            eps = [m.point.eps[loss] for m in ms[1:]]
            fitted, se = bootstrap_slopes(steps, [stat] * len(steps), eps)
            tol = ctx.settings.tolerance[loss]
            within, allowance = rate_band(fitted, se, rate, slack)
            small = tol is None or diffs[-1] <= tol
            passed = within and small
            ok &= passed
            for row, value in zip(table, diffs, strict=True):
                row[loss] = value
            details[loss] = {
                "differences": diffs,
                "fitted_rate": fitted,
                "rate_se": se,
                "tolerance": tol,
                "pass": passed,
            }
            why = ""
            if not small:
                why = f" (last difference above {tol:.3g})"
            elif not within:
                why = f" (outside {rate:g} +- {allowance:.2f})"
            shrink = f"rate {fitted:.2f} +- {se:.2f}, last {diffs[-1]:.3g}"
            parts.append(f"{loss}: successive differences shrink at {shrink}{why}")
        return CheckResult(self.name, "pass" if ok else "fail", "; ".join(parts), details, table)
