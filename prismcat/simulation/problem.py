"""A finite-size problem: sizes, seed, time grid, integrator settings, and its data.

The same seed gives the same data on every backend: X and W0 are drawn once on the host with
numpy's Generator (X first, then W0) and handed over, so backends compare number for number.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from prismcat.errors import PrismcatError

Method = Literal["euler", "rk4", "adaptive"]
Clock = Literal["auto", "linear", "log"]
Formulation = Literal["auto", "data-w", "covariance-w", "eigen-w", "eigen-ak", "eigen-p"]
DType = Literal["float64", "float32"]


class ProblemError(PrismcatError):
    """A problem that cannot be set up (bad sizes, bad arrays, bad settings)."""


@dataclass(frozen=True)
class Integrator:
    """How to integrate the gradient flow.

    ``euler`` with step ``dt`` is exactly full-batch gradient descent with learning rate ``dt``;
    ``rk4`` is classical Runge-Kutta; ``adaptive`` is an error-controlled 8th-order Dormand-Prince
    method (scipy / diffrax / torchdiffeq) with tolerances ``rtol``, ``atol`` (by default 1e-10 and
    1e-12, or 1e-6 and 1e-8 in float32, whose rounding cannot meet tighter ones). ``clock='log'``
    integrates the adaptive method in s = log(1 + c t), which removes the stiffness of a large
    initialisation; ``auto`` picks it when the initial rate times the horizon is large.
    """

    method: Method = "adaptive"
    dt: float | None = None
    rtol: float | None = None  # default: 1e-10 in float64, 1e-6 in float32
    atol: float | None = None  # default: 1e-12 in float64, 1e-8 in float32
    clock: Clock = "auto"
    max_steps: int = 2_000_000

    def __post_init__(self) -> None:
        if self.method not in ("euler", "rk4", "adaptive"):
            raise ProblemError(f"unknown integrator '{self.method}' (euler, rk4, adaptive)")
        if self.dt is not None and not (math.isfinite(self.dt) and self.dt > 0):
            raise ProblemError(f"dt must be a positive number, got {self.dt}")
        if any(x is not None and not 0 < x < 1 for x in (self.rtol, self.atol)):
            raise ProblemError("rtol and atol must lie in (0, 1)")


def checked_times(times, dtype: str) -> tuple[float, ...]:
    """The output times as floats, with the checks every family's problem makes: a non-empty,
    strictly increasing list of finite, non-negative numbers, and a float64 or float32 dtype."""
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ProblemError("times must be a non-empty list of finite, non-negative numbers")
    if np.any(np.diff(t) <= 0):
        raise ProblemError("times must be strictly increasing")
    if dtype not in ("float64", "float32"):
        raise ProblemError(f"dtype must be float64 or float32, got {dtype}")
    return tuple(float(x) for x in t)


@dataclass(frozen=True)
class ProblemData:
    """User-supplied data X (d x n) and initial weights W0 (d x k)."""

    X: np.ndarray
    W0: np.ndarray

    def digest(self) -> str:
        h = hashlib.sha256()
        for a in (self.X, self.W0):
            a = np.ascontiguousarray(a, dtype=np.float64)
            h.update(str(a.shape).encode())
            h.update(a.tobytes())
        return h.hexdigest()


@dataclass(frozen=True)
class Problem:
    """One finite-size run: sizes, seed, output times (model time t) and settings.

    ``nest = (d_max, n_max, k_max)`` draws X and W0 as the leading blocks of a d_max x n_max and a
    d_max x k_max draw of the same seed (common random numbers across a size ladder: each size is
    still exactly iid Gaussian, but successive sizes share their data).
    """

    d: int
    k: int
    n: int
    sigma2: float
    times: tuple[float, ...]
    seed: int = 0
    integrator: Integrator = field(default_factory=Integrator)
    dtype: DType = "float64"
    formulation: Formulation = "auto"
    spectrum: bool = False
    nest: tuple[int, int, int] | None = None
    data: ProblemData | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("d", "k", "n"):
            v = getattr(self, name)
            if not isinstance(v, int | np.integer) or v < 1:
                raise ProblemError(f"{name} must be a positive integer, got {v!r}")
            if v > 1_000_000:
                raise ProblemError(f"{name} = {v} is too large")
        if not (math.isfinite(self.sigma2) and self.sigma2 >= 0):
            raise ProblemError(f"sigma2 must be finite and >= 0, got {self.sigma2}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise ProblemError(f"the seed must be a non-negative whole number, got {self.seed!r}")
        object.__setattr__(self, "times", checked_times(self.times, self.dtype))
        if self.nest is not None:
            nest = tuple(int(x) for x in self.nest)
            if len(nest) != 3 or nest[0] < self.d or nest[1] < self.n or nest[2] < self.k:
                raise ProblemError(
                    f"nest {self.nest} must be (d_max, n_max, k_max) >= ({self.d}, {self.n}, {self.k})"
                )
            object.__setattr__(self, "nest", nest)
        if self.data is not None:
            X, W0 = self.data.X, self.data.W0
            if X.shape != (self.d, self.n) or W0.shape != (self.d, self.k):
                raise ProblemError(
                    f"X must be d x n = {self.d} x {self.n} and W0 d x k = {self.d} x {self.k}; "
                    f"got {X.shape} and {W0.shape}"
                )

    @classmethod
    def from_arrays(cls, X: np.ndarray, W0: np.ndarray, times, **settings) -> Problem:
        """A problem on user data; sizes come from the arrays (sigma2 is the mean square of W0)."""
        X = np.asarray(X, dtype=np.float64)
        W0 = np.asarray(W0, dtype=np.float64)
        if X.ndim != 2 or W0.ndim != 2 or X.shape[0] != W0.shape[0]:
            raise ProblemError(f"X must be d x n and W0 d x k with the same d; got {X.shape} and {W0.shape}")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(W0))):
            raise ProblemError("X and W0 must be finite")
        d, n = X.shape
        k = W0.shape[1]
        return cls(
            d=d,
            k=k,
            n=n,
            sigma2=float(np.mean(W0**2)),
            times=tuple(times),
            data=ProblemData(X, W0),
            **settings,
        )

    @property
    def a(self) -> float:
        return self.sigma2 * self.d

    def with_seed(self, seed: int) -> Problem:
        return replace(self, seed=seed)

    def batch_key(self) -> tuple:
        """Problems with equal keys can run in one batched call (they differ only by seed)."""
        return (
            self.d,
            self.k,
            self.n,
            self.sigma2,
            self.times,
            self.integrator,
            self.dtype,
            self.formulation,
            self.spectrum,
        )

    def to_json(self) -> dict:
        out = asdict(replace(self, data=None))
        out.pop("data")
        out["times"] = list(self.times)
        if self.data is not None:
            out["data_sha256"] = self.data.digest()
        return out

    def digest(self) -> str:
        """A content hash of everything that determines the result."""
        text = json.dumps(self.to_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def draw(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Data X (d x n, iid N(0,1)) and W0 (d x k, iid N(0, sigma2)) for the problem's seed."""
    if problem.data is not None:
        return problem.data.X, problem.data.W0
    rng = np.random.default_rng(problem.seed)
    if problem.nest is not None:  # common random numbers: sub-blocks of one larger draw
        d_max, n_max, k_max = problem.nest
        X = rng.standard_normal((d_max, n_max))[: problem.d, : problem.n]
        W0 = rng.standard_normal((d_max, k_max))[: problem.d, : problem.k] * math.sqrt(problem.sigma2)
        return np.ascontiguousarray(X), np.ascontiguousarray(W0)
    X = rng.standard_normal((problem.d, problem.n))
    W0 = rng.standard_normal((problem.d, problem.k)) * math.sqrt(problem.sigma2)
    return X, W0


MAX_NPZ_ARRAY = 2 * 10**9  # bytes of one array of a problem file (checked before it is read)


def load_problem_npz(path: str | Path, times, **settings) -> Problem:
    """A problem from an ``.npz`` file holding arrays ``X`` (d x n) and ``W0`` (d x k). Each
    array's shape and type are read from its header and checked before its data are."""
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [a for a in ("X", "W0") if a not in f.files]
            if missing:
                raise ProblemError(f"{path}: missing array(s) {', '.join(missing)} (need X and W0)")
            for name in ("X", "W0"):
                with f.zip.open(f"{name}.npy") as member:
                    fmt = np.lib.format
                    version = fmt.read_magic(member)
                    header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                    shape, _, dtype = header(member)
                size = math.prod(shape) * dtype.itemsize
                if len(shape) != 2 or dtype.kind not in "fiu" or size > MAX_NPZ_ARRAY:
                    raise ProblemError(
                        f"{path}: array {name} is {dtype} of shape {shape}: expected a real matrix of at "
                        f"most {MAX_NPZ_ARRAY / 1e9:g} GB"
                    )
            X, W0 = f["X"], f["W0"]
    except (OSError, ValueError, KeyError) as exc:
        raise ProblemError(f"{path}: cannot read problem file: {exc}") from None
    return Problem.from_arrays(X, W0, times, **settings)
