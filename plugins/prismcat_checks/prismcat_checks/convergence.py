"""Convergence: along the size ladder the distance to the limit shrinks, at the declared rate.

The fitted log-log slope of error against the entry's small quantity eps (``convergence.in``)
must lie within the declared slack of the declared rate, and the error at the largest size must
be below the error at the smallest.
"""

from __future__ import annotations

from prismcat.validation.checks import CheckContext, Checker, CheckResult, error_table, fit_rate


class ConvergenceChecker(Checker):
    name = "convergence"
    description = "error ~ eps**rate along the ladder (fitted rate within the declared slack)"

    def applies(self, entry, catalog) -> bool:
        return entry.has_limit

    def check(self, ctx: CheckContext) -> CheckResult:
        ms = ctx.measurements
        stat = ctx.settings.statistic
        rate, slack = ctx.entry.spec.convergence.rate, ctx.settings.slack
        eps = [m.point.eps for m in ms]
        ok, parts, details = True, [], {"declared_rate": rate, "slack": slack, "statistic": stat}
        if len(ms) < 2:
            return CheckResult(self.name, "error", "needs at least two sizes on the ladder")
        for loss in ctx.losses():
            errs = [m.statistic(loss, stat) for m in ms]
            if any(e is None for e in errs):
                continue
            fitted, prefactor = fit_rate(eps, errs)
            within = abs(fitted - rate) <= slack
            shrinks = errs[-1] < errs[0]
            passed = within and shrinks
            ok &= passed
            details[loss] = {
                "fitted_rate": fitted,
                "prefactor": prefactor,
                "errors": errs,
                "eps": eps,
                "pass": passed,
            }
            why = (
                ""
                if passed
                else (" (error does not shrink)" if not shrinks else f" (outside {rate:g} +- {slack:g})")
            )
            parts.append(f"{loss} rate {fitted:.2f}{why}")
        msg = f"{'; '.join(parts)}; declared {rate:g} +- {slack:g} in {ctx.entry.spec.convergence.in_}"
        return CheckResult(self.name, "pass" if ok else "fail", msg, details, error_table(ms, stat))
