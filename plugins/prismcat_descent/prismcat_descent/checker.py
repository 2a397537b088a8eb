"""Gradient flow is a descent method: L_train(t) never increases. Every catalogue train quantity
is L_train shifted and divided by a positive size, so it never increases either, in the limit and
in every simulated run. A limit formula that rises somewhere is wrong; a run that rises was not
gradient flow (too large a step, minibatch noise, a broken backend)."""

from __future__ import annotations

import numpy as np

from prismcat.validation.checks import CheckContext, Checker, CheckResult

ROUNDOFF = {"float64": 1e-9, "float32": 1e-5}  # allowed rise, as a fraction of the curve's scale


def largest_rise(curves: np.ndarray) -> tuple[float, int, int]:
    """(largest increase between consecutive times, its seed, its time index) of (seeds, T) curves."""
    steps = np.diff(np.atleast_2d(curves), axis=1)
    seed, at = np.unravel_index(int(np.argmax(steps)), steps.shape)
    return float(steps[seed, at]), int(seed), int(at) + 1


class DescentChecker(Checker):
    name = "descent"
    description = "the train loss never increases: not in the limit, not in any simulated run"

    def applies(self, entry, catalog) -> bool:
        return entry.quantities.get("train") is not None

    def check(self, ctx: CheckContext) -> CheckResult:
        slack = ROUNDOFF.get(ctx.settings.dtype, 1e-9)
        rows, problems = [], []
        for m in ctx.measurements:
            data = m.losses["train"]
            scale = float(np.max(np.abs(data.curves))) or 1.0
            rise, seed, at = largest_rise(data.curves)
            rows.append({"N": m.point.N, "largest_rise": rise / scale, "seeds": int(data.curves.shape[0])})
            if rise > slack * scale:
                t = m.point.times[at]
                where = f"{m.point.label()}, seed {seed}, t = {t:.4g}"
                problems.append(f"a run rises by {rise / scale:.3g} of its scale at {where}")
            if data.limit is not None:
                lim_rise, _, lim_at = largest_rise(data.limit)
                if lim_rise > slack * (float(np.max(np.abs(data.limit))) or 1.0):
                    problems.append(f"the limit rises by {lim_rise:.3g} at t = {m.point.times[lim_at]:.4g}")
        if problems:
            return CheckResult(self.name, "fail", "; ".join(dict.fromkeys(problems)), table=rows)
        worst = max(r["largest_rise"] for r in rows)
        msg = f"no rise above {slack:g} of the scale (largest {worst:.2g}) in the limit or {len(rows)} sizes"
        return CheckResult(self.name, "pass", msg, table=rows)
