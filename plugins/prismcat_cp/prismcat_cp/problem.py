"""One finite-size CP run: order nu, SYM or ASYM, dimension p, rank H, init scale sigma, a seed,
output times and the integrator."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from prismcat.simulation import Integrator, ProblemError
from prismcat.simulation.problem import checked_times

MAX_ELEMENTS = 50_000_000  # factors of one seed (nu H p numbers): beyond this a run is refused


@dataclass(frozen=True)
class CPProblem:
    """Gradient flow dU/dt = -dL/dU (T = 1) from U0 iid N(0, sigma^2), target the identity tensor.

    ``nest = (p_max, H_max)`` draws U0 as the leading block of a p_max x H_max draw of the same
    seed (common random numbers along a ladder)."""

    p: int
    H: int
    sigma: float
    nu: int
    symmetric: bool
    times: tuple[float, ...]
    seed: int = 0
    integrator: Integrator = field(default_factory=Integrator)
    dtype: str = "float64"
    nest: tuple[int, int] | None = None
    formulation: str = "auto"  # gram, tensor, or auto: the cheaper (prismcat_cp.gram.formulation)

    def __post_init__(self) -> None:
        for name in ("p", "H", "nu"):
            v = getattr(self, name)
            if not isinstance(v, int | np.integer) or v < 1:
                raise ProblemError(f"{name} must be a positive integer, got {v!r}")
        if self.nu < 2:
            raise ProblemError(f"the order nu must be at least 2, got {self.nu}")
        if self.nu * self.H * self.p > MAX_ELEMENTS:
            raise ProblemError(f"nu H p = {self.nu * self.H * self.p} factor entries is too large")
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ProblemError(f"sigma must be a positive finite number, got {self.sigma}")
        object.__setattr__(self, "times", checked_times(self.times, self.dtype))
        if self.formulation not in ("auto", "gram", "tensor"):
            raise ProblemError(f"formulation must be auto, gram or tensor, got {self.formulation!r}")
        object.__setattr__(self, "symmetric", bool(self.symmetric))
        if self.nest is not None:
            nest = tuple(int(x) for x in self.nest)
            if len(nest) != 2 or nest[0] < self.p or nest[1] < self.H:
                raise ProblemError(f"nest {self.nest} must be (p_max, H_max) >= ({self.p}, {self.H})")
            object.__setattr__(self, "nest", nest)

    def with_seed(self, seed: int) -> CPProblem:
        return replace(self, seed=seed)

    def batch_key(self) -> tuple:
        """Problems with equal keys run in one batched call (they differ only by seed)."""
        return (self.p, self.H, self.sigma, self.nu, self.symmetric, self.times, self.integrator,
                self.dtype, self.nest, self.formulation)  # fmt: skip

    def to_json(self) -> dict:
        out = asdict(self)
        out["times"] = list(self.times)
        out["family"] = "cp"
        return out

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


def draw(problem: CPProblem) -> np.ndarray:
    """U0 of shape (M, H, p), M = 1 (SYM) or nu (ASYM), from numpy's Generator with the seed."""
    from prismcat_cp.gram import draw as gram_draw
    from prismcat_cp.gram import factors

    if problem.nest is None:
        return gram_draw(problem.p, problem.H, problem.sigma, problem.nu, problem.symmetric, problem.seed)
    p_max, h_max = problem.nest
    rng = np.random.default_rng(problem.seed)
    full = rng.standard_normal((factors(problem.nu, problem.symmetric), h_max, p_max)) * problem.sigma
    return np.ascontiguousarray(full[:, : problem.H, : problem.p])
