"""Spectral measures and their quadrature.

Marchenko-Pastur MP(c) (mean 1, variance c): on [l-, l+] = [(1-sqrt c)^2, (1+sqrt c)^2] the density
sqrt((l+ - x)(x - l-)) / (2 pi c x); for c > 1 the continuous part carries mass 1/c and an atom of
mass 1 - 1/c sits at 0. With x = 1 + c - 2 sqrt(c) cos(theta) the density becomes
(2/pi) sin^2(theta) / x(theta) d theta, smooth on [0, pi] for every c (the square-root edges and the
c = 1 hard edge disappear), so composite Gauss-Legendre in theta converges spectrally. Integration
limits (e.g. the free face's gamma-quantile) are mapped to theta and become panel boundaries: the
quadrature is split there, never smeared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from prismcat.errors import EvaluationError

GL_ORDER = 32
# Panel edges in units of the theta-interval: geometric grading towards both ends (where fronts
# such as exp(-8 lam t) or 1/(exp(4 lam t) - 1)^2 concentrate) plus a uniform middle.
_GRADING = (0.0, 1e-5, 1e-4, 1e-3, 0.004, 0.015, 0.04, 0.1, 0.2, 0.3, 0.4, 0.5)


@lru_cache(maxsize=8)
def _gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(order)


def _panel_edges() -> np.ndarray:
    left = np.array(_GRADING)
    return np.concatenate([left, 1.0 - left[::-1][1:]])


def composite_gauss(a: float, b: float, order: int = GL_ORDER) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of graded composite Gauss-Legendre on [a, b]."""
    if not b > a:
        return np.empty(0), np.empty(0)
    x0, w0 = _gauss_legendre(order)
    edges = a + (b - a) * _panel_edges()
    lo, hi = edges[:-1, None], edges[1:, None]
    half = 0.5 * (hi - lo)
    nodes = (lo + hi) / 2 + half * x0[None, :]
    weights = half * w0[None, :]
    return nodes.ravel(), weights.ravel()


@dataclass(frozen=True)
class Quadrature:
    """A discrete measure: ``sum(weights * f(nodes))`` approximates ``Int f d mu``."""

    nodes: np.ndarray
    weights: np.ndarray

    def integrate(self, values: np.ndarray) -> np.ndarray:
        """Integrate values of shape (len(nodes), ...) over the first axis."""
        return np.tensordot(self.weights, values, axes=(0, 0))


class Measure:
    """A probability measure on the real line that formulas can integrate against."""

    def quadrature(
        self, lower: float | None = None, upper: float | None = None, include_atoms: bool = True
    ) -> Quadrature:
        raise NotImplementedError


@dataclass(frozen=True)
class MarchenkoPastur(Measure):
    """MP(ratio): mean 1, variance ratio; atom 1 - 1/ratio at 0 when ratio > 1."""

    ratio: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.ratio) and self.ratio > 0):
            raise EvaluationError(f"Marchenko-Pastur ratio must be finite and > 0, got {self.ratio}")

    @property
    def lower_edge(self) -> float:
        return (1.0 - math.sqrt(self.ratio)) ** 2

    @property
    def upper_edge(self) -> float:
        return (1.0 + math.sqrt(self.ratio)) ** 2

    @property
    def atom(self) -> float:
        """Mass of the atom at 0 (zero unless ratio > 1)."""
        return max(0.0, 1.0 - 1.0 / self.ratio)

    def x_of_theta(self, theta: np.ndarray) -> np.ndarray:
        # (1 - sqrt c)^2 + 4 sqrt(c) sin^2(theta/2): no cancellation near the lower edge.
        r = math.sqrt(self.ratio)
        return (1.0 - r) ** 2 + 4.0 * r * np.sin(0.5 * np.asarray(theta)) ** 2

    def theta_of_x(self, x: float) -> float:
        r = math.sqrt(self.ratio)
        s2 = (x - (1.0 - r) ** 2) / (4.0 * r)
        return float(2.0 * np.arcsin(np.sqrt(np.clip(s2, 0.0, 1.0))))

    def density(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        inside = (x > self.lower_edge) & (x < self.upper_edge)
        prod = np.where(inside, (self.upper_edge - x) * (x - self.lower_edge), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(inside, np.sqrt(prod) / (2 * math.pi * self.ratio * x), 0.0)

    def quadrature(
        self, lower: float | None = None, upper: float | None = None, include_atoms: bool = True
    ) -> Quadrature:
        lo = self.lower_edge if lower is None else max(self.lower_edge, lower)
        hi = self.upper_edge if upper is None else min(self.upper_edge, upper)
        t0, t1 = (self.theta_of_x(lo), self.theta_of_x(hi)) if hi > lo else (0.0, 0.0)
        th, wt = composite_gauss(t0, t1)
        x = self.x_of_theta(th)
        w = wt * (2.0 / math.pi) * np.sin(th) ** 2 / np.where(x > 0, x, 1.0)
        w = np.where(x > 0, w, 0.0)
        atom_in = (lower is None or lower <= 0.0) and (upper is None or upper >= 0.0)
        if include_atoms and self.atom > 0 and atom_in:
            x = np.concatenate([[0.0], x])
            w = np.concatenate([[self.atom], w])
        return Quadrature(x, w)

    def _theta_mass(self, theta: float) -> float:
        """Mass of the continuous part on [l-, x(theta)]."""
        r = math.sqrt(self.ratio)
        if r < 0.05:
            th, wt = composite_gauss(0.0, theta, 16)
            return float(np.sum(wt * np.sin(th) ** 2 / self.x_of_theta(th)) * 2 / math.pi)
        half = 0.5 * theta
        arc = math.atan2((1 + r) * math.sin(half), abs(1 - r) * math.cos(half))
        val = -abs(1 - r * r) / (2 * r * r) * arc + (1 + r * r) * theta / (4 * r * r)
        val += math.sin(theta) / (2 * r)
        return val * 2.0 / math.pi

    def cdf(self, x: float) -> float:
        """mu((-inf, x]), the atom at 0 included."""
        if x < 0:
            return 0.0
        base = self.atom
        if x <= self.lower_edge:
            return base
        if x >= self.upper_edge:
            return 1.0
        return min(1.0, base + self._theta_mass(self.theta_of_x(x)))

    def quantile(self, p: float) -> float:
        """Smallest x with cdf(x) >= p (0 inside the atom, upper edge for p >= 1)."""
        if not math.isfinite(p):
            return math.nan
        if p <= self.atom:
            return 0.0 if self.atom > 0 else self.lower_edge
        if p >= 1.0:
            return self.upper_edge
        from scipy.optimize import brentq  # imported here: scipy.optimize takes 0.4 s to import

        target = p - self.atom
        theta = brentq(lambda th: self._theta_mass(th) - target, 0.0, math.pi, xtol=1e-15, rtol=1e-15)
        return float(self.x_of_theta(np.array(theta)))

    def stieltjes(self, z: np.ndarray) -> np.ndarray:
        """g(z) = Int dmu(x) / (z - x) (atom included), for complex z off the support."""
        z = np.asarray(z, dtype=complex)
        root = np.sqrt(z - self.upper_edge) * np.sqrt(z - self.lower_edge)
        return (z - 1.0 + self.ratio - root) / (2.0 * self.ratio * z)

    def moment(self, j: int) -> float:
        return mp_moment(self.ratio, j)


@dataclass(frozen=True)
class PointMass(Measure):
    """A unit mass at ``at``."""

    at: float

    def quadrature(
        self, lower: float | None = None, upper: float | None = None, include_atoms: bool = True
    ) -> Quadrature:
        inside = (lower is None or self.at >= lower) and (upper is None or self.at <= upper)
        if include_atoms and inside:
            return Quadrature(np.array([self.at]), np.array([1.0]))
        return Quadrature(np.empty(0), np.empty(0))


def mp_moment(c: float, j: int) -> float:
    """Narayana moment m_j(c) = sum_{r<j} c^r/(r+1) C(j,r) C(j-1,r) of MP(c); m_0 = 1."""
    j = int(j)
    if j == 0:
        return 1.0
    logc = math.log(c) if c > 0 else -math.inf
    lg = math.lgamma
    logs = np.array(
        [
            r * logc - math.log(r + 1.0) + lg(j + 1) - 2 * lg(r + 1) - lg(j - r + 1) + lg(j) - lg(j - r)
            for r in range(j)
        ]
    )
    return float(np.exp(logs).sum())


@lru_cache(maxsize=256)
def marchenko_pastur(ratio: float) -> MarchenkoPastur:
    return MarchenkoPastur(float(ratio))
