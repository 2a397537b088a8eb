"""The infinite-size extrapolation of a ladder of finite-size curves, its uncertainty, and the test
of a limit formula against it.

At rung i of the ladder (small quantity eps_i) seed s gives the deviation of its curve from the
formula, D_is(t) = curve_is(t) - limit_i(t) (the limit at that rung's realised ratios). The model
is the entry's declared correction,

    E[D_i(t)] = Delta(t) + C1(t) eps_i**rate (+ C2(t) eps_i**next_rate),

and the formula is right iff Delta = 0. Delta is estimated by weighted least squares with weights
a_i that do not depend on t, applied seed by seed: E_s(t) = sum_i a_i D_is(t). The seeds are
independent replicates of E_s (also with nested draws, where seed s shares its data across rungs),
so Delta-hat(t) is their mean and se(t) their standard error, with no assumption on how the noise
varies with size or time. A systematic uncertainty of policy.SYSTEMATIC times the scale, added in
quadrature, stands for the orders the model leaves out, and keeps points where every seed agrees
(t = 0, say) from claiming a precision no extrapolation has. Misfit of the correction model
(residuals larger than their noise) inflates se by the usual scale factor sqrt(chi2 / dof), so a
model that does not describe the data widens the uncertainty, which the reported resolution shows,
instead of raising false alarms.

The test statistic is the studentised sup over the window, M = max_t |Delta-hat(t)| / se(t). Its
null distribution, for Gaussian seeds with the observed covariance across time points, is drawn
by a Gaussian multiplier bootstrap (pseudo-seeds are random Gaussian combinations of the centred
seeds: exactly N(0, Sigma-hat)), which accounts for the strong correlation of a curve across
time and for se being estimated from few seeds. The formula fails when M exceeds the (1 - alpha)
quantile q. The resolution is the smallest relative error of the formula (the limit off by a
factor 1 +- r) that the test detects with probability POWER: r = (q + z_POWER) / max_t |limit(t)| /
se(t). Deviations are reported in units of the quantity's scale (sup |limit| unless declared).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from prismcat.validation import policy


@dataclass
class Projection:
    """A matched test: the estimated multiple r of an error profile, its se and critical value."""

    estimate: float
    se: float
    critical: float
    seeds: int

    @property
    def rejected(self) -> bool:
        return bool(abs(self.estimate) > self.critical * self.se)

    def smallest(self, z: float | None = None) -> float:
        """Smallest |r| detected with probability Phi(z) (default policy.POWER)."""
        return float((self.critical + (policy.power_z() if z is None else z)) * self.se)

    def to_json(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate,
            "se": self.se,
            "critical": self.critical,
            "rejected": self.rejected,
        }


@dataclass
class Extrapolation:
    """One loss's extrapolation and the verdict on its formula (all curves on the clock grid)."""

    eps: np.ndarray  # (R,) the small quantity at each rung
    weights: np.ndarray  # (R,) a_i
    terms: list[float]  # the correction exponents fitted (rate, next rate)
    deviation: np.ndarray  # (T,) Delta-hat: extrapolated curve minus the formula
    se: np.ndarray  # (T,) its standard error (misfit-inflated)
    scale: float  # the quantity's scale (relative errors are in units of it)
    reference: np.ndarray  # (T,) the limit at the largest rung (for the resolution)
    scale_factor: float  # sqrt(chi2/dof) >= 1 of the correction model's fit
    statistic: float  # max_t |Delta-hat| / se
    critical: float  # the (1 - alpha) quantile of the statistic under a right formula
    alpha: float
    seeds: int
    per_seed: np.ndarray | None = None  # (S, T) the per-seed extrapolants E_s

    def project(self, profile: np.ndarray, alpha: float | None = None) -> Projection:
        """The matched test of one family of formula errors, Delta = r * profile(t): the per-seed
        extrapolants projected on the profile (weights profile / se**2), a Student-t test on the
        seeds at ``alpha``. It pools the evidence of every time point, which the sup test does not."""
        from scipy import stats

        g = np.asarray(profile, dtype=float)
        if self.per_seed is None or not np.any(g):
            return Projection(0.0, float("inf"), float("inf"), self.seeds)
        w = g / self.se**2
        P = self.per_seed @ w / float(w @ g)  # (S,) per-seed estimates of r
        S = P.size
        sys = policy.SYSTEMATIC * self.scale / float(np.max(np.abs(g)))
        se = float(np.hypot(float(P.std(ddof=1) / np.sqrt(S)) * self.scale_factor, sys))
        crit = float(stats.t.isf((self.alpha if alpha is None else alpha) / 2.0, S - 1))
        return Projection(float(P.mean()), se, crit, S)

    @property
    def rejected(self) -> bool:
        return bool(self.statistic > self.critical)

    @property
    def resolution(self) -> float:
        """Smallest relative formula error (limit x (1 +- r)) detected with probability POWER."""
        return self.smallest(self.reference)

    def smallest(self, profile: np.ndarray, z: float | None = None) -> float:
        """Smallest r such that an error r * profile(t) in the formula is detected with probability
        Phi(z) (default: policy.POWER); e.g. profile = the limit (amplitude error) or clock * d
        limit / d clock (a stretched clock)."""
        z = policy.power_z() if z is None else z
        best = float(np.max(np.abs(np.asarray(profile, dtype=float)) / self.se))
        return float((self.critical + z) / best) if best > 0 else float("inf")

    def power(self, profile: np.ndarray, r: float) -> float:
        """Probability of detecting the error r * profile(t) (one-point approximation)."""
        best = float(np.max(np.abs(np.asarray(profile, dtype=float)) / self.se))
        return NormalDist().cdf(abs(r) * best - self.critical)

    @property
    def relative_deviation(self) -> tuple[float, float]:
        """(|Delta-hat| / scale, se / scale) at the most significant time point."""
        j = int(np.argmax(np.abs(self.deviation) / self.se))
        return float(abs(self.deviation[j]) / self.scale), float(self.se[j] / self.scale)

    def summary(self) -> str:
        x, y = self.relative_deviation
        head = f"formula within {100 * x:.2g}% +- {100 * y:.2g}% of the infinite-size extrapolation"
        if self.seeds < policy.MIN_SEEDS:
            return f"{head} (no resolution: {self.seeds} seeds, at least {policy.MIN_SEEDS} needed)"
        return f"{head} (resolution {100 * self.resolution:.2g}%)"

    def to_json(self) -> dict[str, Any]:
        x, y = self.relative_deviation
        return {
            "resolution_stated": self.seeds >= policy.MIN_SEEDS,
            "deviation_rel": x,
            "deviation_se_rel": y,
            "resolution": self.resolution,
            "statistic": self.statistic,
            "critical": self.critical,
            "alpha": self.alpha,
            "scale": self.scale,
            "scale_factor": self.scale_factor,
            "seeds": self.seeds,
            "eps": self.eps.tolist(),
            "weights": self.weights.tolist(),
            "terms": list(self.terms),
            "deviation": self.deviation.tolist(),
            "se": self.se.tolist(),
        }


def design(eps: np.ndarray, terms: list[float]) -> np.ndarray:
    """Columns 1, eps**rate (, eps**next_rate)."""
    return np.column_stack([np.ones_like(eps), *(eps**r for r in terms)])


def estimator_weights(eps: np.ndarray, terms: list[float], variances: np.ndarray) -> np.ndarray:
    """Weights a with a . D = the fitted intercept (weighted least squares, weights 1/variance)."""
    X = design(eps, terms)
    w = 1.0 / np.maximum(variances, np.max(variances) * 1e-12 + 1e-300)
    XtW = X.T * w
    return np.linalg.solve(XtW @ X, XtW)[0]


def extrapolate(
    deviations: list[np.ndarray],
    eps: list[float],
    terms: list[float],
    reference: np.ndarray,
    scale: float | None = None,
    alpha: float | None = None,
    rng_seed: int = 0,
) -> Extrapolation:
    """Extrapolate per-seed deviations from the formula (one (S, T) array per rung, the same S
    everywhere); ``reference`` is the formula at the largest rung, ``scale`` defaults to its sup."""
    reference = np.asarray(reference, dtype=float)
    scale = float(np.max(np.abs(reference))) if scale is None else float(scale)
    if not scale > 0:
        raise ValueError("the quantity's scale is zero: declare one (validation.scale)")
    alpha = policy.ALPHA if alpha is None else alpha
    D = np.stack([np.asarray(d, dtype=float) for d in deviations])  # (R, S, T)
    R, S, _ = D.shape
    e = np.asarray(eps, dtype=float)
    if len(terms) + 1 > R:
        raise ValueError(f"{R} rungs cannot fit {len(terms) + 1} terms")
    if S < 2:
        raise ValueError("at least two seeds are needed for an uncertainty")
    variances = D.var(axis=1, ddof=1).mean(axis=1) / S  # (R,) noise of each rung's seed mean
    a = estimator_weights(e, terms, variances)
    E = np.einsum("r,rst->st", a, D)  # per-seed extrapolants
    dev = E.mean(axis=0)
    se = E.std(axis=0, ddof=1) / np.sqrt(S)
    factor = misfit(D, e, terms, scale)
    se = np.hypot(se * factor, policy.SYSTEMATIC * scale)
    stat = float(np.max(np.abs(dev) / se))
    crit = critical_value(E - dev, alpha, rng_seed) if S > 2 else float("inf")
    return Extrapolation(e, a, list(terms), dev, se, scale, reference, factor, stat, crit, alpha, S, E)


def misfit(deviations: list[np.ndarray], eps: list[float], terms: list[float], scale: float) -> float:
    """The correction model's sqrt(chi2/dof) (at least 1) on per-seed deviations, as
    :func:`extrapolate` reports it in ``scale_factor``, without the verdict's bootstrap: what a
    design reads to decide on a next order (1 where the ladder has no rung to spare)."""
    D = np.stack([np.asarray(d, dtype=float) for d in deviations])
    e = np.asarray(eps, dtype=float)
    if len(terms) + 1 >= D.shape[0]:
        return 1.0
    return _misfit(D, e, terms, policy.SE_FLOOR * float(scale))


def _misfit(D: np.ndarray, eps: np.ndarray, terms: list[float], floor: float) -> float:
    """sqrt(chi2/dof), at least 1, of the correction model fitted to the seed means: residuals
    against their seed-estimated noise (never below ``floor``), averaged over the window."""
    R, S, _ = D.shape
    X = design(eps, terms)
    hat = X @ np.linalg.pinv(X)  # (R, R) projection onto the model
    resid = np.einsum("ij,jst->ist", np.eye(R) - hat, D)  # per-seed residuals (R, S, T)
    mean = resid.mean(axis=1)
    se = np.maximum(resid.std(axis=1, ddof=1) / np.sqrt(S), floor)
    z2 = (mean / se) ** 2
    # each residual is studentised on its own, so pure noise gives E[z^2] = (S-1)/(S-3) for each
    # of the R rungs (t-distributed); divide it out so that a model that fits gives ~1
    expected = (S - 1) / (S - 3) if S > 3 else 3.0
    chi2_dof = float(z2.sum(axis=0).mean() / (R * expected))
    return float(np.sqrt(max(1.0, chi2_dof)))


def critical_value(centred: np.ndarray, alpha: float, rng_seed: int = 0, reps: int = 8000) -> float:
    """(1 - alpha) quantile of max_t |mean| / se over S seeds drawn from N(0, Sigma-hat), Sigma-hat
    the covariance over time points of the centred seeds (S, T).

    A Gaussian multiplier bootstrap (pseudo-seeds drawn exactly from N(0, Sigma-hat), the law of
    random Gaussian combinations of the centred seeds) measures the quantile at the moderate level
    policy.CALIBRATION_LEVEL, where a few thousand draws pin it down. That fixes the effective
    number m of independent time points (Sidak's formula with Student-t marginals on S - 1 degrees
    of freedom), from which the far tail at ``alpha`` follows without millions of draws.
    """
    from scipy import stats

    # the law depends on the centred seeds only, which a formula error shifts by the same amount
    # in every seed (power perturbs the formula, never the seeds): computed on the centred seeds
    # to 12 digits, it is computed once per experiment and looked up after
    big = float(np.max(np.abs(centred))) if centred.size else 0.0
    centred = np.round(centred / big, 12) * big if big > 0 else np.asarray(centred, dtype=float)
    key = (
        hashlib.blake2b(centred.tobytes(), digest_size=16).hexdigest(),
        centred.shape,
        alpha,
        rng_seed,
        reps,
    )
    hit = _CRITICAL.get(key)
    if hit is not None:
        return hit
    S, T = centred.shape
    level = policy.CALIBRATION_LEVEL
    rng = np.random.default_rng(rng_seed)
    # N(0, Sigma-hat) pseudo-seeds through a square root of the (T x T) covariance: the same law
    # as Gaussian combinations of the seeds, in memory that does not grow like seeds**2
    w, V = np.linalg.eigh(centred.T @ centred / (S - 1))
    root = V * np.sqrt(np.clip(w, 0.0, None))  # Sigma-hat = root @ root.T
    sups = []
    for start in range(0, reps, 1000):
        z = rng.standard_normal((min(1000, reps - start), S, T))
        pseudo = z @ root.T  # (chunk, S, T)
        m = pseudo.mean(axis=1)
        s = pseudo.std(axis=1, ddof=1) / np.sqrt(S)
        with np.errstate(divide="ignore", invalid="ignore"):
            sups.append(np.where(s > 0, np.abs(m) / s, 0.0).max(axis=1))
    sup = np.concatenate(sups)
    q0 = float(np.quantile(sup, 1.0 - level))
    p0 = 2.0 * stats.t.sf(q0, S - 1)  # two-sided tail of one time point at q0
    m_eff = float(np.clip(np.log1p(-level) / np.log1p(-p0), 1.0, centred.shape[1])) if p0 < 1 else 1.0
    tail = -np.expm1(np.log1p(-alpha) / m_eff) / 2.0
    value = float(stats.t.isf(tail, S - 1))
    if len(_CRITICAL) >= 4096:
        _CRITICAL.clear()
    _CRITICAL[key] = value
    return value


_CRITICAL: dict[tuple, float] = {}
