"""Cauchy: for an entry with no closed form, successive sizes approach each other at the
declared rate, and the last difference is within the tolerance."""

from __future__ import annotations

import numpy as np

from prismcat.validation.checks import CheckContext, Checker, CheckResult, fit_rate


def _distance(a: np.ndarray, b: np.ndarray, per_seed: bool) -> float:
    """sup over time of the seed-mean difference, or (per_seed) the mean over seeds of each seed's
    sup difference (meaningful with common random numbers: seed s shares its data across sizes)."""
    if per_seed:
        return float(np.mean(np.max(np.abs(a - b), axis=1)))
    return float(np.max(np.abs(a.mean(axis=0) - b.mean(axis=0))))


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
        ok, parts, details, table = True, [], {"declared_rate": rate, "slack": slack}, []
        eps = [m.point.eps for m in ms[1:]]
        for i in range(1, len(ms)):
            table.append({"N": ms[i].point.N, "eps": ms[i].point.eps})
        per_seed = ctx.settings.statistic == "mean_error"
        for loss in ctx.losses():
            diffs = [
                _distance(ms[i].losses[loss].curves, ms[i - 1].losses[loss].curves, per_seed)
                for i in range(1, len(ms))
            ]
            fitted, _ = fit_rate(eps, diffs)
            tol = ctx.settings.tolerance[loss]
            within = abs(fitted - rate) <= slack
            small = tol is None or diffs[-1] <= tol
            passed = within and small
            ok &= passed
            for row, dvalue in zip(table, diffs, strict=True):
                row[loss] = dvalue
            details[loss] = {
                "differences": diffs,
                "fitted_rate": fitted,
                "tolerance": tol,
                "pass": passed,
            }
            why = (
                ""
                if passed
                else (
                    f" (last difference above {tol:.3g})"
                    if not small
                    else f" (outside {rate:g} +- {slack:g})"
                )
            )
            parts.append(
                f"{loss}: successive differences shrink at rate {fitted:.2f}, last {diffs[-1]:.3g}{why}"
            )
        return CheckResult(self.name, "pass" if ok else "fail", "; ".join(parts), details, table)
