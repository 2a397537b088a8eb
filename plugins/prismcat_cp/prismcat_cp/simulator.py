"""The CP simulator: gradient flow of the Gram-matrix loss (:mod:`prismcat_cp.gram`) for a batch
of seeds, by explicit Euler (plain gradient descent, what the paper ran) or an adaptive 8th-order
Dormand-Prince method (scipy's DOP853 on the host)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from prismcat.simulation import Integrator, SimulationError, Simulator
from prismcat.simulation.problem import ProblemError
from prismcat_cp import gram
from prismcat_cp.problem import CPProblem, draw

DEFAULT_RTOL = {"float64": 1e-9, "float32": 1e-5}


@dataclass(frozen=True)
class CPOffer:
    """What a CP backend runs: its integrators (the first one replaces one it lacks)."""

    methods: tuple[str, ...]


@dataclass
class CPResult:
    """The loss L(t) of one run at its output times, and L(0)."""

    problem: CPProblem
    t: np.ndarray
    loss: np.ndarray
    loss0: float
    info: dict[str, Any]


def negotiated(problem: CPProblem, offer: CPOffer | None) -> CPProblem:
    """The problem with an integrator the backend runs (its first) and its formulation chosen
    (auto: the cheaper of gram and tensor)."""
    integ = problem.integrator
    if offer is not None and integ.method not in offer.methods:
        integ = Integrator(offer.methods[0], dt=integ.dt)
    if integ.method in ("euler", "rk4") and integ.dt is None:
        raise ProblemError(f"the {integ.method} integrator needs a step dt")
    form = problem.formulation
    if form == "auto":
        form = gram.formulation(problem.p, problem.H, problem.nu)
    return CPProblem(**{**problem.__dict__, "integrator": integ, "formulation": form})


class CPNumpySimulator(Simulator):
    """numpy; seeds batched in one (B, M, H, p) array; the Gram form (O(nu H^2 p) per gradient,
    never the p^nu tensor) or, where the tensor is smaller than the factors, the tensor form."""

    name = "cp-numpy"
    description = "CP decompositions: Gram-matrix gradient flow in numpy (Euler, adaptive DOP853)"
    family = "cp"
    formulations = ("gram", "tensor")
    methods = ("euler", "adaptive")

    def offer(self) -> CPOffer:  # type: ignore[override]
        return CPOffer(tuple(self.methods))

    def integrate(self, prepared):  # the autoencoder contract does not apply
        raise NotImplementedError("a CP backend runs CPProblem batches through run()")

    # -- the array operations a backend provides ----------------------------------------------
    def asarray(self, a: np.ndarray, dtype: str) -> Any:
        return np.asarray(a, dtype=dtype)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def grad(self, U: Any, nu: int, form: str = "gram") -> Any:
        return gram.tensor_grad(U, nu) if form == "tensor" else gram.grad(U, nu)

    def loss(self, U: Any, nu: int, form: str = "gram") -> Any:
        return gram.tensor_loss(U, nu) if form == "tensor" else gram.loss(U, nu)

    # -- running --------------------------------------------------------------------------------
    def run(self, problems: list[CPProblem]) -> list[CPResult]:
        """Run problems that differ only by seed as one batch (others in their own batches)."""
        offer = self.offer()
        resolved = [negotiated(p, offer) for p in problems]
        groups: dict[tuple, list[int]] = {}
        for i, p in enumerate(resolved):
            groups.setdefault(p.batch_key(), []).append(i)
        out: list[CPResult | None] = [None] * len(problems)
        for idx in groups.values():
            for i, res in zip(idx, self._batch([resolved[i] for i in idx]), strict=True):
                out[i] = res
        return [r for r in out if r is not None]

    def _batch(self, batch: list[CPProblem]) -> list[CPResult]:
        p0 = batch[0]
        U0 = np.stack([draw(p) for p in batch])
        dtype = p0.dtype
        U = self.asarray(U0, dtype)
        times = np.asarray(p0.times)
        loss0 = np.asarray(self.to_numpy(self.loss(U, p0.nu, p0.formulation)), dtype=float)
        limit = 1e6 * max(1.0, float(np.max(loss0)))
        if p0.integrator.method == "adaptive":
            losses, evals, steps = self._adaptive(U, p0, times, limit)
        else:
            losses, evals, steps = self._euler(U, p0, times, limit)
        info = {"backend": self.spec(), "integrator": p0.integrator.method, "dt": p0.integrator.dt,
                "formulation": p0.formulation,
                "dtype": dtype, "evals": evals, "steps": steps, "batch": len(batch)}  # fmt: skip
        return [CPResult(p, times.copy(), losses[b], float(loss0[b]), info) for b, p in enumerate(batch)]

    def _check(self, U: Any, t: float, limit: float, p0: CPProblem, dt: float | None) -> np.ndarray:
        L = np.asarray(self.to_numpy(self.loss(U, p0.nu, p0.formulation)), dtype=float)
        if not np.all(np.isfinite(L)) or np.any(limit < L):
            step = f" with step dt = {dt:g}" if dt is not None else ""
            raise SimulationError(f"the run diverged at t = {t:.4g}{step} (the loss left every bound)", t, dt)
        return L

    def _euler(self, U, p0: CPProblem, times: np.ndarray, limit: float):
        dt = float(p0.integrator.dt)
        t, steps, rows = 0.0, 0, []
        with np.errstate(all="ignore"):
            for target in times:
                gap = target - t
                m = max(0, math.ceil(gap / dt - 1e-9))
                h = gap / m if m else 0.0
                for _ in range(m):
                    U = U - h * self.grad(U, p0.nu, p0.formulation)
                    steps += 1
                    if steps % 16 == 0:
                        self._check(U, t + h, limit, p0, dt)
                    t += h
                t = float(target)
                rows.append(self._check(U, t, limit, p0, dt))
        return np.stack(rows, axis=1), steps, steps

    def _adaptive(self, U, p0: CPProblem, times: np.ndarray, limit: float):
        from scipy.integrate import solve_ivp

        dtype = p0.dtype
        shape = tuple(np.shape(self.to_numpy(U)))
        y0 = np.asarray(self.to_numpy(U), dtype=np.float64).ravel()
        rtol = p0.integrator.rtol or DEFAULT_RTOL[dtype]
        atol = p0.integrator.atol or rtol * max(float(np.max(np.abs(y0))), 1e-300)
        evals = 0

        def fun(_t, y):
            nonlocal evals
            evals += 1
            g = self.grad(self.asarray(y.reshape(shape), dtype), p0.nu, p0.formulation)
            return -np.asarray(self.to_numpy(g), dtype=np.float64).ravel()

        with np.errstate(all="ignore"):
            sol = solve_ivp(fun, (0.0, float(times[-1])), y0, method="DOP853", t_eval=times, rtol=rtol,
                            atol=atol)  # fmt: skip
        if sol.status != 0 or sol.y.shape[1] != len(times):
            t_fail = float(sol.t[-1]) if sol.t.size else 0.0
            raise SimulationError(
                f"the adaptive integrator stopped at t = {t_fail:.4g}: {sol.message}", t_fail
            )
        rows = [
            self._check(self.asarray(sol.y[:, i].reshape(shape), dtype), float(times[i]), limit, p0, None)
            for i in range(len(times))
        ]
        return np.stack(rows, axis=1), evals, int(sol.t.size)


class CPTorchSimulator(CPNumpySimulator):
    """torch (CPU or CUDA): the same Gram-matrix flow, the arrays on the torch device."""

    name = "cp-torch"
    description = "CP decompositions: Gram-matrix gradient flow in torch (cuda if present)"

    def available(self) -> tuple[bool, str]:
        try:
            import torch
        except ImportError:
            return False, "needs torch: pip install 'prismcat-regimes[torch]'"
        return True, f"torch {torch.__version__} on {self._device()}"

    def fingerprint(self) -> dict[str, str]:
        import torch

        return {"torch": torch.__version__, "device": self._device()}

    @staticmethod
    def _device() -> str:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def asarray(self, a, dtype):
        import torch

        return torch.as_tensor(np.asarray(a), dtype=getattr(torch, dtype), device=self._device())

    def to_numpy(self, x):
        return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
