"""Convergence: the declared rate as a hypothesis along the ladder, with its power.

Per seed and rung the error is the entry's statistic (``mean_error``: the seed's sup distance to
the limit; ``mean_curve``: its deviation projected on the coarsest rung's sign pattern). The rate
is fitted with a free exponent and tested against ``convergence.rate`` at policy.ALPHA (see
:mod:`prismcat.validation.rates`). The rate is the leading exponent: where a next order is declared
(for the extrapolation), the fit uses the finest policy.MIN_RUNGS_FOR_RATE rungs, where the leading
term dominates, instead of a second free amplitude that trades off against the exponent. The
check fails if the declared rate is rejected, if the fitted rate is no significant decrease, or
if the test is too weak to tell a rate wrong by
policy.TARGET_RATE_RESOLUTION (or the entry's declared ``validation.resolution.rate``) with
probability policy.REQUIRED_POWER. It needs policy.MIN_RUNGS_FOR_RATE rungs (one more per
declared next order) and policy.MIN_SEEDS seeds.
"""

from __future__ import annotations

from prismcat.validation import policy
from prismcat.validation.checks import CheckContext, Checker, CheckResult, error_table
from prismcat.validation.rates import rate_test, seed_errors


def rate_verdict(test, target: float, declared: bool) -> tuple[bool, str]:
    """(passed, reason if not) of a rate test against a target rate resolution."""
    need = test.resolution(policy.required_z())
    if test.rejected and test.at_floor:
        return False, " REJECTED: the error does not shrink with size"
    if test.rejected:
        return False, f" REJECTED: {test.statistic:.3g} se from the declared rate > {test.critical:.3g}"
    if not need <= target:
        what = "declared" if declared else "target"
        return False, (
            f" TOO COARSE: resolves a rate error of {need:.2g} with power {policy.REQUIRED_POWER:g}, "
            f"the {what} is {target:g}"
        )
    if not test.decreasing:
        if declared and target >= test.declared:
            # a run declared unable to tell the rate from 0 cannot be asked to show a decrease
            return True, " (no significant decrease, within the declared rate resolution)"
        return False, " NO FITTED DECREASE"
    return True, ""


def rate_requirements(ctx: CheckContext) -> tuple[float, bool, str | None]:
    """(target rate resolution, whether declared, an error if the ladder or seeds are too few)."""
    st = ctx.settings
    declared = st.achievable["rate"]
    target = declared if declared is not None else policy.TARGET_RATE_RESOLUTION
    rungs = policy.MIN_RUNGS_FOR_RATE
    if len(ctx.measurements) < rungs:
        return (
            target,
            declared is not None,
            f"a rate needs at least {rungs} rungs, the ladder has {len(ctx.measurements)}",
        )
    if st.seeds < policy.MIN_SEEDS:
        return (
            target,
            declared is not None,
            f"a rate needs at least {policy.MIN_SEEDS} seeds, there are {st.seeds}",
        )
    return target, declared is not None, None


class ConvergenceChecker(Checker):
    name = "convergence"
    description = "the declared rate, tested as a hypothesis along the ladder (with its power)"

    def applies(self, entry, catalog) -> bool:
        return entry.has_limit

    def check(self, ctx: CheckContext) -> CheckResult:
        st = ctx.settings
        if not st.achievable["extrapolate"]:
            return CheckResult(self.name, "skip", f"no rate fitted (declared): {st.achievable['reason']}")
        target, declared, problem = rate_requirements(ctx)
        ms = ctx.measurements[-policy.MIN_RUNGS_FOR_RATE :] if len(st.rate_terms) > 1 else ctx.measurements
        if problem:
            return CheckResult(self.name, "fail", problem)
        ok, parts, details, rates = True, [], {"target": target, "statistic": st.statistic}, {}
        need = 0.0
        for loss in ctx.losses():
            data = [m.losses[loss] for m in ms]
            if any(d.limit is None for d in data):
                continue
            errors = seed_errors([d.curves - d.limit[None, :] for d in data], st.statistic)
            test = rate_test(errors, [m.point.eps[loss] for m in ms], [st.rate_terms[0]])
            passed, why = rate_verdict(test, target, declared)
            need = max(need, test.resolution(policy.required_z()))
            ok &= passed
            details[loss] = {**test.to_json(), "pass": passed}
            rates[loss] = test.to_json()
            parts.append(f"{loss}: {test.summary()}{why}")
        return CheckResult(
            self.name,
            "pass" if ok else "fail",
            "; ".join(parts),
            details,
            error_table(ctx.measurements, st.statistic),
            rate=rates,
            shortfall=(need, target) if rates else None,
        )
