"""ODE integration for the formula engine.

``DOP853`` (every packaged entry's method) follows SciPy's ``solve_ivp(method="DOP853")``: the
same tableau, initial step, error norm, step-size control and 7th-order dense output, without its
per-step Python overhead, and with one addition: the step stays where the method damps stiff
components, h rho <= 5, the spectral radius rho of the Jacobian being tracked by one nonlinear
power iteration per step (one more evaluation of the right-hand side, as in RKC solvers). Left to
itself, DOP853 steps stiff members (the ODE family on a long contour) at the edge of its
stability region, h rho ~ 6, where they barely decay and its error estimate no longer bounds the
error: 1e-8 where rtol 1e-10 was asked for, 1e-9 even at rtol 1e-13.

Every integration has a step budget (``MAX_STEPS``): a right-hand side from a catalogue must not
buy unbounded work. When the tracked spectral radius says that DOP853 would need more steps than
the budget leaves (a stiff system, e.g. a relaxation rate of 1e12 over a window of 1), the solve
starts again with an implicit method, SciPy's Radau (BDF for complex states, which Radau does not
take), under the same budget counted in evaluations. A solve that still exceeds it fails with a
:class:`SolverError` that says so.

Other methods go to ``solve_ivp`` itself, imported on first use. Both run with one BLAS thread:
a solve makes thousands of tiny BLAS calls, which threaded BLAS makes many times slower on a
busy machine (25 times, measured, on two loaded cores).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from prismcat.errors import EvaluationError
from prismcat.formulas import dop853_tableau as T

Rhs = Callable[[float, np.ndarray], np.ndarray]

SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10.0
ERROR_EXPONENT = -1.0 / 8.0  # the error estimator has order 7
MAX_STEPS = 20_000  # accepted steps of one solve (the packaged catalogue needs fewer than 100)
MAX_EVALUATIONS = 13 * MAX_STEPS  # the same budget for solve_ivp's methods, in evaluations
STIFF_LIMIT = 5.0  # largest h rho: |R(-5)| = 0.057 for DOP853, |R(-6)| = 0.49, |R(-6.5)| > 1
_SQRT_EPS = math.sqrt(np.finfo(float).eps)
_A = T.A[: T.N_STAGES, : T.N_STAGES]
_B, _C = T.B, T.C[: T.N_STAGES]
_A_EXTRA, _C_EXTRA = T.A[T.N_STAGES + 1 :], T.C[T.N_STAGES + 1 :]


class SolverError(EvaluationError):
    """The integration failed at clock value ``t`` for ``reason``."""

    def __init__(self, t: float, reason: str):
        super().__init__(reason)
        self.t, self.reason = t, reason


class _Stiff(Exception):
    """DOP853 would need more steps than the budget: the system is stiff there."""


def _budget_message(what: str) -> str:
    return (
        f"it needs more than {what} (the step budget of one solve): the window is too long for "
        "the system's time scales"
    )


def integrate(
    fun: Rhs,
    t0: float,
    y0: np.ndarray,
    grid: np.ndarray,
    method: str,
    rtol: float,
    atol: float,
    multiplicity: np.ndarray | None = None,
) -> np.ndarray:
    """States at the sorted times ``grid`` (none before ``t0``), shape ``(len(y0), len(grid))``.

    ``multiplicity`` (DOP853 only): how many components of the system each one stands for (2 for
    one of a conjugate pair), so that the error norm, and every step, is that of the whole system.
    """
    if grid[-1] <= t0:
        return np.repeat(y0[:, None], grid.size, axis=1)
    with _blas_controller().limit(limits=1, user_api="blas"):
        if method == "DOP853":
            norm = _Norm(np.ones(y0.size) if multiplicity is None else multiplicity)
            try:
                states = _Dop853(fun, rtol, atol, norm).solve(t0, y0, grid)
            except _Stiff:
                implicit = "BDF" if np.iscomplexobj(y0) else "Radau"
                states = _solve_ivp(fun, t0, y0, grid, implicit, rtol, atol)
        else:
            states = _solve_ivp(fun, t0, y0, grid, method, rtol, atol)
    bad = ~np.all(np.isfinite(states), axis=0)
    if bad.any():
        raise SolverError(float(grid[np.argmax(bad)]), "the solution is not finite")
    return states


@cache
def _blas_controller() -> Any:
    """threadpoolctl's view of the BLAS libraries (found once, on the first solve: 11 us a limit)."""
    return ThreadpoolController()


class _OverBudget(Exception):
    def __init__(self, t: float):
        self.t = t


def _solve_ivp(fun: Rhs, t0: float, y0: np.ndarray, grid: np.ndarray, method: str, rtol: float, atol: float):
    from scipy.integrate import solve_ivp

    count = 0

    def counted(t: float, y: np.ndarray) -> np.ndarray:
        nonlocal count
        count += 1
        if count > MAX_EVALUATIONS:
            raise _OverBudget(t)
        return fun(t, y)

    out = np.empty((y0.size, grid.size), dtype=y0.dtype)
    t, y = t0, y0
    try:
        for i, t_next in enumerate(grid):  # each output time is a step's end: no interpolation
            if t_next > t:
                sol = solve_ivp(counted, (t, float(t_next)), y, method=method, rtol=rtol, atol=atol)
                if sol.status != 0:
                    raise SolverError(float(sol.t[-1]) if sol.t.size else t, sol.message)
                t, y = float(t_next), sol.y[:, -1]
            out[:, i] = y
    except _OverBudget as exc:
        raise SolverError(exc.t, _budget_message(f"{MAX_EVALUATIONS} evaluations ({method})")) from None
    return out


class _Norm:
    """RMS over the state, each component counted ``multiplicity`` times."""

    def __init__(self, multiplicity: np.ndarray):
        self.root, self.size = np.sqrt(multiplicity), float(np.sum(multiplicity))

    def rms(self, x: np.ndarray) -> float:
        return _norm(x * self.root) / math.sqrt(self.size)


def _norm(x: np.ndarray) -> float:
    return math.sqrt(np.vdot(x, x).real)


class _Dop853:
    """One DOP853 integration of ``fun`` (SciPy's algorithm, plus the stiffness limit)."""

    def __init__(self, fun: Rhs, rtol: float, atol: float, norm: _Norm):
        self.fun, self.rtol, self.atol, self.norm = fun, rtol, atol, norm

    def solve(self, t0: float, y0: np.ndarray, grid: np.ndarray) -> np.ndarray:
        t, y, f = t0, y0, self.fun(t0, y0)
        h_abs = self._initial_step(t, y, f, grid[-1])
        radius = _SpectralRadius(self.fun, t, y, f)
        self.K = np.empty((T.N_STAGES_EXTENDED, y.size), dtype=y.dtype)
        out = np.empty((y.size, grid.size), dtype=y.dtype)
        done = steps = 0
        while True:
            stable = STIFF_LIMIT / radius.rho if radius.rho > 0 else math.inf
            # stability, not accuracy, holds the steps back, and for longer than the budget
            if h_abs >= stable and steps + (grid[-1] - t) / stable > MAX_STEPS:
                raise _Stiff()
            h_abs = min(h_abs, stable)
            steps += 1
            if steps > MAX_STEPS:
                raise SolverError(t, _budget_message(f"{MAX_STEPS} steps (DOP853)"))
            t_new, y_new, f_new, h_abs = self._accepted_step(t, y, f, h_abs, grid[-1])
            upto = int(np.searchsorted(grid, t_new, side="right"))
            if upto > done:
                out[:, done:upto] = self._dense(t, y, y_new, f, f_new, t_new - t, grid[done:upto])
                done = upto
            t, y, f = t_new, y_new, f_new
            if t >= grid[-1]:
                return out
            radius(t, y, f)

    def _initial_step(self, t0: float, y0: np.ndarray, f0: np.ndarray, t_end: float) -> float:
        """Hairer's starting step (SciPy's ``select_initial_step``)."""
        length, rms = t_end - t0, self.norm.rms
        scale = self.atol + np.abs(y0) * self.rtol
        d0, d1 = rms(y0 / scale), rms(f0 / scale)
        h0 = min(1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1, length)
        d2 = rms((self.fun(t0 + h0, y0 + h0 * f0) - f0) / scale) / h0
        h1 = max(1e-6, h0 * 1e-3) if d1 <= 1e-15 and d2 <= 1e-15 else (0.01 / max(d1, d2)) ** (1 / 8)
        return min(100 * h0, h1, length)

    def _accepted_step(self, t: float, y: np.ndarray, f: np.ndarray, h_abs: float, t_end: float):
        """Steps from ``t`` until one passes the error test: (t_new, y_new, f_new, next step)."""
        min_step = 10 * abs(np.nextafter(t, np.inf) - t)
        h_abs = max(h_abs, min_step)
        rejected = False
        while h_abs >= min_step:
            t_new = min(t + h_abs, t_end)
            h = t_new - t
            y_new, f_new = self._step(t, y, f, h)
            scale = self.atol + np.maximum(np.abs(y), np.abs(y_new)) * self.rtol
            error = self._error_norm(h, scale)
            if error < 1:
                factor = MAX_FACTOR if error == 0 else min(MAX_FACTOR, SAFETY * error**ERROR_EXPONENT)
                return t_new, y_new, f_new, abs(h) * (min(1.0, factor) if rejected else factor)
            h_abs = abs(h) * max(MIN_FACTOR, SAFETY * error**ERROR_EXPONENT)
            rejected = True
        raise SolverError(t, "Required step size is less than spacing between numbers.")

    def _step(self, t: float, y: np.ndarray, f: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
        """One step; ``self.K`` receives the stages."""
        K = self.K
        K[0] = f
        for s in range(1, T.N_STAGES):
            K[s] = self.fun(t + _C[s] * h, y + (_A[s, :s] @ K[:s]) * h)
        y_new = y + h * (_B @ K[: T.N_STAGES])
        K[T.N_STAGES] = f_new = self.fun(t + h, y_new)
        return y_new, f_new

    def _error_norm(self, h: float, scale: np.ndarray) -> float:
        """DOP853's blend of its 5th- and 3rd-order error estimates."""
        stages, scale = self.K[: T.N_STAGES + 1], scale / self.norm.root
        err5, err3 = (T.E5 @ stages) / scale, (T.E3 @ stages) / scale
        e5, e3 = np.vdot(err5, err5).real, np.vdot(err3, err3).real
        if e5 == 0 and e3 == 0:
            return 0.0
        return abs(h) * e5 / math.sqrt((e5 + 0.01 * e3) * self.norm.size)

    def _dense(self, t: float, y, y_new, f, f_new, h: float, times: np.ndarray) -> np.ndarray:
        """The 7th-order interpolant of the step [t, t + h] at ``times``: (len(y), len(times))."""
        K = self.K
        for s, (a, c) in enumerate(zip(_A_EXTRA, _C_EXTRA, strict=True), start=T.N_STAGES + 1):
            K[s] = self.fun(t + c * h, y + (a[:s] @ K[:s]) * h)
        delta = y_new - y
        F = [delta, h * f - delta, 2 * delta - h * (f_new + f), *(h * (T.D @ K))]
        x = ((times - t) / h)[:, None]
        out = np.zeros((times.size, y.size), dtype=y.dtype)
        for i, term in enumerate(reversed(F)):
            out += term
            out *= x if i % 2 == 0 else 1 - x
        return (out + y).T


class _SpectralRadius:
    """Largest |eigenvalue| ``rho`` of the Jacobian, by nonlinear power iteration: the direction
    ``v`` is kept from call to call, so one evaluation per step follows the dominant mode. A
    probe that is not finite (an overflow off the trajectory) leaves the estimate as it was."""

    def __init__(self, fun: Rhs, t: float, y: np.ndarray, f: np.ndarray):
        self.fun, self.rho = fun, 0.0
        self.v = f if np.all(np.isfinite(f)) and np.any(f != 0) else np.ones_like(y)
        for _ in range(3):
            self(t, y, f)

    def __call__(self, t: float, y: np.ndarray, f: np.ndarray) -> None:
        delta = _SQRT_EPS * (1.0 + _norm(y))
        change = self.fun(t, y + self.v * (delta / _norm(self.v))) - f
        size = _norm(change)
        if 0 < size < math.inf:
            self.v, self.rho = change, size / delta
