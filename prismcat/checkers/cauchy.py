"""Cauchy: for an entry without a closed form, successive sizes approach each other at the
declared rate (tested as a hypothesis, as in :mod:`~prismcat.checkers.convergence`), and the last
step is within the tolerance, as a fraction of the quantity's scale (validation.scale, default
sup |seed-mean curve| at the largest size). Use it with nested = true, so that seed s shares its
data across sizes and a step measures the systematic change, not noise.
"""

from __future__ import annotations

import numpy as np

from prismcat.checkers.convergence import rate_requirements, rate_verdict
from prismcat.validation import policy
from prismcat.validation.checks import CheckContext, Checker, CheckResult, scale_of
from prismcat.validation.rates import rate_test, seed_errors


class CauchyChecker(Checker):
    name = "cauchy"
    description = "successive sizes approach each other at the declared rate (no closed form)"

    def applies(self, entry, catalog) -> bool:
        return not entry.has_limit

    def check(self, ctx: CheckContext) -> CheckResult:
        ms, st = ctx.measurements, ctx.settings
        if not st.achievable["extrapolate"]:
            return CheckResult(self.name, "skip", f"no rate fitted (declared): {st.achievable['reason']}")
        target, declared, problem = rate_requirements(ctx)
        if problem:
            return CheckResult(self.name, "fail", problem)
        ok, parts, details, rates = True, [], {"target": target}, {}
        need = 0.0
        table = [{"N": m.point.N, "eps": m.point.eps["train"]} for m in ms[1:]]
        for loss in ctx.losses():
            steps = [ms[i].losses[loss].curves - ms[i - 1].losses[loss].curves for i in range(1, len(ms))]
            errors = seed_errors(steps, st.statistic)
            test = rate_test(errors, [m.point.eps[loss] for m in ms[1:]], [st.rate_terms[0]])
            passed, why = rate_verdict(test, target, declared)
            need = max(need, test.resolution(policy.required_z()))
            scale = scale_of(ctx, loss, ms[-1].losses[loss].mean)
            last = float(np.mean(np.abs(errors[-1]))) / scale
            tol = st.tolerance[loss]
            if tol is not None and last > tol:
                passed, why = False, why + f" (last difference {100 * last:.3g}% > {100 * tol:.3g}%)"
            ok &= passed
            for row, value in zip(table, test.means, strict=True):
                row[loss] = value
            details[loss] = {**test.to_json(), "last_relative": last, "tolerance": tol, "pass": passed}
            rates[loss] = test.to_json()
            parts.append(f"{loss}: successive differences {test.summary()}, last {100 * last:.3g}%{why}")
        return CheckResult(
            self.name,
            "pass" if ok else "fail",
            "; ".join(parts),
            details,
            table,
            rate=rates,
            shortfall=(need, target) if rates else None,
        )
