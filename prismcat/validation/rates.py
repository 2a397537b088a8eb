"""The declared convergence rate as a hypothesis: fitted along the ladder, tested, with its power.

Each seed s gives a scalar error e_is at rung i (small quantity eps_i). The seed means m_i are
fitted by weighted least squares (weights from the seeds' spread) to the declared correction

    m_i = A eps_i**p,

with the exponent p free. Its standard error comes from the jackknife over seeds, which needs no
model of the noise and stays right when a seed shares its data across rungs (nested draws). The
declared rate is rejected when p lies beyond policy.RATE_TOLERANCE of it (a ladder measures an
effective, pre-asymptotic rate) by more than the two-sided Student-t quantile (S - 1 degrees of
freedom) at policy.ALPHA times se; "the error shrinks" means p > 0 at the one-sided level
policy.DECREASE_LEVEL, never last < first. The *rate resolution* is the smallest error in the
rate detected with probability policy.POWER: noisier data give a coarser resolution, which
validation holds against a target, instead of a wider band that lets a wrong rate through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prismcat.validation import policy


@dataclass
class RateTest:
    eps: list[float]
    means: list[float]  # m_i
    ses: list[float]  # standard errors of m_i
    declared: float
    terms: list[float]
    fitted: float
    se: float
    critical: float
    seeds: int
    decrease_critical: float = 0.0

    @property
    def statistic(self) -> float:
        """Standard errors by which the fitted rate lies beyond policy.RATE_TOLERANCE of the declared."""
        beyond = max(0.0, abs(self.fitted - self.declared) - policy.RATE_TOLERANCE)
        return beyond / self.se if self.se > 0 else (float("inf") if beyond > 0 else 0.0)

    @property
    def rejected(self) -> bool:
        return bool(self.statistic > self.critical)

    @property
    def decreasing(self) -> bool:
        """A fitted decrease: p > 0 at the one-sided level policy.DECREASE_LEVEL."""
        return bool(self.fitted > self.decrease_critical * self.se)

    @property
    def at_floor(self) -> bool:
        """The fit sits on its lower bound (rate 0): no positive rate describes the errors, which
        do not shrink over the ladder (they grow, or dip and grow again); its jackknife error is
        then meaningless (all at the bound)."""
        return bool(self.fitted <= RATE_FLOOR)

    def resolution(self, z: float | None = None) -> float:
        """Smallest |rate error| detected with probability Phi(z) (default policy.POWER)."""
        z = policy.power_z() if z is None else z
        return float(policy.RATE_TOLERANCE + (self.critical + z) * self.se)

    def to_json(self) -> dict[str, Any]:
        return {
            "eps": self.eps,
            "errors": self.means,
            "errors_se": self.ses,
            "declared_rate": self.declared,
            "terms": self.terms,
            "fitted_rate": self.fitted,
            "rate_se": self.se,
            "statistic": self.statistic,
            "critical": self.critical,
            "rejected": self.rejected,
            "decreasing": self.decreasing,
            "resolution": self.resolution(),
            "seeds": self.seeds,
        }

    def summary(self) -> str:
        if self.at_floor and self.means[-1] >= self.means[0]:
            return (
                f"no positive rate fits: the error grows from {self.means[0]:.3g} at the smallest size "
                f"to {self.means[-1]:.3g} at the largest (declared {self.declared:g})"
            )
        if self.at_floor:
            return (
                f"no positive rate fits: the error goes {', '.join(f'{m:.2g}' for m in self.means)} "
                f"from the smallest size to the largest (declared {self.declared:g})"
            )
        return (
            f"rate {self.fitted:.2f} +- {self.se:.2f} (declared {self.declared:g}; "
            f"resolution {self.resolution():.2g})"
        )


RATE_FLOOR = 0.02  # the smallest rate on the fit's search grid (the bounded search may go to 0)


def _fit(eps: np.ndarray, m: np.ndarray, w: np.ndarray, gaps: list[float], p0: float) -> float:
    """The exponent p of the weighted least-squares fit m ~ sum_j A_j eps**(p + gap_j)."""
    from scipy.optimize import minimize_scalar

    le = np.log(eps)
    y = m * w

    def rss_many(ps: np.ndarray) -> np.ndarray:
        """The residual sum of squares at each exponent in ``ps``: the amplitudes enter linearly,
        so each is a small least-squares problem, solved for all exponents at once."""
        X = np.stack([np.exp((ps[:, None] + g) * le[None, :]) for g in gaps], axis=2) * w[None, :, None]
        coef = np.stack([np.linalg.lstsq(x, y, rcond=None)[0] for x in X]) if len(gaps) > 1 else None
        if coef is None:  # one amplitude: the closed form
            x = X[:, :, 0]
            xx = np.einsum("pr,pr->p", x, x)
            coef = (x @ y / np.where(xx > 0, xx, 1.0))[:, None]
        r = np.einsum("prj,pj->pr", X, coef) - y[None, :]
        return np.einsum("pr,pr->p", r, r)

    def rss(p: float) -> float:
        return float(rss_many(np.array([p]))[0])

    # the residual is linear in the amplitudes, so p is a one-dimensional search; start on a grid
    grid = np.linspace(RATE_FLOOR, 6.0, 300)
    best = grid[int(np.argmin(rss_many(grid)))]
    res = minimize_scalar(rss, bounds=(max(0.0, best - 0.05), best + 0.05), method="bounded")
    return float(res.x) if res.fun <= rss(best) else float(best)


def rate_test(
    errors: np.ndarray, eps: list[float], terms: list[float], alpha: float | None = None
) -> RateTest:
    """Test the declared rate ``terms[0]`` on per-seed errors ``errors`` (R rungs x S seeds)."""
    from scipy import stats

    alpha = policy.ALPHA if alpha is None else alpha
    E = np.asarray(errors, dtype=float)
    R, S = E.shape
    gaps = [t - terms[0] for t in terms]
    if len(gaps) + 2 > R:
        raise ValueError(f"{R} rungs cannot fit a rate and {len(gaps)} amplitude(s)")
    if S < 3:
        raise ValueError("at least three seeds are needed for a jackknife")
    e = np.asarray(eps, dtype=float)
    m = E.mean(axis=1)
    se_m = E.std(axis=1, ddof=1) / np.sqrt(S)
    w = 1.0 / np.maximum(se_m, 1e-12 * max(float(np.max(np.abs(m))), 1e-300))
    p = _fit(e, m, w, gaps, terms[0])
    loo = np.array([_fit(e, np.delete(E, s, axis=1).mean(axis=1), w, gaps, terms[0]) for s in range(S)])
    se = float(np.sqrt((S - 1) / S * np.sum((loo - loo.mean()) ** 2)))
    crit = float(stats.t.isf(alpha / 2.0, S - 1))
    dec = float(stats.t.isf(policy.DECREASE_LEVEL, S - 1))
    return RateTest(e.tolist(), m.tolist(), se_m.tolist(), terms[0], list(terms), p, se, crit, S, dec)


def seed_errors(deviations: list[np.ndarray], statistic: str) -> np.ndarray:
    """Per-seed scalar errors (R x S) from per-seed deviations (one (S, T) array per rung).

    mean_error: each seed's sup over time of |deviation| (the size of one run's error).
    mean_curve: each seed's deviation projected on the sign pattern of the coarsest rung's mean
    deviation (linear in the data, so noise averages out over seeds instead of adding up)."""
    D = np.stack([np.asarray(d, dtype=float) for d in deviations])  # (R, S, T)
    if statistic == "mean_error":
        return np.abs(D).max(axis=2)
    sign = np.sign(D[0].mean(axis=0))
    return np.einsum("rst,t->rs", D, sign) / max(1, int(np.count_nonzero(sign)))
