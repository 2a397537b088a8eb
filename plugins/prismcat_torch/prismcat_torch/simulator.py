"""Integrates prepared batches with torch tensors; the arithmetic is prismcat's shared kernels.

torch is imported lazily so that an installation without it still lists the backend (as not
usable, with the reason). Device: ``$PRISMCAT_TORCH_DEVICE`` or CUDA when present, else CPU.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from prismcat.simulation import Integrated, Prepared, SimulationError, Simulator
from prismcat.simulation import kernels as K
from prismcat.simulation.base import blowup_threshold, divergence_message


def _device():
    import torch

    name = os.environ.get("PRISMCAT_TORCH_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _diag(P):
    import torch

    return torch.diagonal(P, dim1=-2, dim2=-1)


def p_flow_rhs(lam):
    """K.p_rhs with scratch buffers: the same operations in the same order, fewer allocations."""
    import torch

    L, D = K.p_constants(lam, torch.eye(lam.shape[-1], dtype=lam.dtype, device=lam.device))
    m, mp = torch.empty_like(L), torch.empty_like(L)

    def rhs(P):
        torch.mul(P, L, out=m)
        torch.sub(D, m, out=m)
        torch.matmul(m, P, out=mp)
        return mp + mp.mT

    return rhs


class TorchSimulator(Simulator):
    name = "torch"
    description = "PyTorch (CPU/CUDA): batched Euler, RK4, torchdiffeq dopri8"

    def available(self) -> tuple[bool, str]:
        for module in ("torch", "torchdiffeq"):
            if importlib.util.find_spec(module) is None:
                return False, f"{module} is not installed (pip install prismcat-torch torch)"
        import torch

        return True, f"torch {torch.__version__} on {_device()}"

    def fingerprint(self) -> dict[str, str]:
        import torch
        import torchdiffeq

        dev = _device()
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
        return {
            "torch": torch.__version__,
            "torchdiffeq": torchdiffeq.__version__,
            "device": f"{dev}:{name}",
            "cuda": str(torch.version.cuda),
            "threads": str(torch.get_num_threads()),
        }

    def integrate(self, prepared: Prepared) -> Integrated:
        import torch

        dtype = torch.float32 if prepared.problem.dtype == "float32" else torch.float64
        dev = _device()

        def tensor(a):
            return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=dev)

        d, n = prepared.d, prepared.problem.n
        trS = tensor(prepared.trS)
        if prepared.formulation == "eigen-p":
            lam = tensor(prepared.lam)
            rhs = p_flow_rhs(lam)

            def losses(P):
                return K.p_losses(P, lam, _diag, d)

            def size(P):
                return K.p_size(P, _diag)
        elif prepared.formulation == "eigen-ak":
            lam = tensor(prepared.lam)

            def cat(a, b):
                return torch.cat([a, b], dim=-2)

            def rhs(Y):
                return K.ak_rhs(Y, lam, n, cat)

            def losses(Y):
                return K.ak_losses(Y, lam, n, trS, d, _diag)

            def size(Y):
                return K.ak_size(Y, n, _diag)
        else:
            if prepared.formulation == "eigen-w":
                apply = K.apply_eigen(tensor(prepared.lam))
            elif prepared.formulation == "covariance-w":
                apply = K.apply_covariance(tensor(prepared.S))
            else:
                apply = K.apply_data(tensor(prepared.X), n)

            def rhs(W):
                return K.w_rhs(W, apply(W))

            def losses(W):
                return K.w_losses(W, apply(W), trS, d)

            size = K.w_size

        y0 = tensor(prepared.state0)
        with torch.no_grad():
            if prepared.integrator.method == "adaptive":
                states, evals, steps = self._adaptive(prepared, rhs, y0)
            else:
                states, evals, steps = self._fixed(prepared, rhs, size, y0)
            curves = [losses(y) for y in states]
        train = torch.stack([c[0] for c in curves], dim=1).double().cpu().numpy()
        pop = torch.stack([c[1] for c in curves], dim=1).double().cpu().numpy()
        return Integrated(train, pop, states[-1].double().cpu().numpy(), evals=evals, steps=steps)

    @staticmethod
    def _fixed(prepared, rhs, size, y):
        import torch

        counts, hs = prepared.intervals()
        euler = prepared.integrator.method == "euler"
        limit = blowup_threshold(prepared)
        t, states, steps = 0.0, [], 0
        for m, h in zip(counts, hs, strict=True):
            for _ in range(int(m)):
                y = K.rk_step(rhs, y, h, euler)
                t += h
                steps += 1
                s = size(y)
                if not bool(torch.all(torch.isfinite(s))) or bool(torch.any(s > limit)):
                    what = (
                        "non-finite weights"
                        if not bool(torch.all(torch.isfinite(s)))
                        else "the weights exploded"
                    )
                    raise SimulationError(
                        divergence_message(t, prepared.integrator.dt, prepared.rate, what), t, h
                    )
            states.append(y.clone())
        return states, steps * (1 if euler else 4), steps

    @staticmethod
    def _adaptive(prepared, rhs, y0):
        import torch
        from torchdiffeq import odeint

        c = prepared.log_clock
        times = prepared.times
        grid = np.log1p(c * times) if c else times
        calls = [0]

        def fun(s, y):
            calls[0] += 1
            out = rhs(y)
            return out * ((torch.expm1(s) + 1.0) / c) if c else out

        integ = prepared.integrator
        grid_t = torch.as_tensor(grid, dtype=y0.dtype, device=y0.device)
        if grid_t[0] > 0:  # torchdiffeq starts at the first time: prepend 0
            grid_t = torch.cat([torch.zeros(1, dtype=y0.dtype, device=y0.device), grid_t])
        try:
            sol = odeint(
                fun,
                y0,
                grid_t,
                rtol=integ.rtol,
                atol=integ.atol,
                method="dopri8",
                options={"max_num_steps": integ.max_steps, "step_t": grid_t},
            )
        except AssertionError as exc:  # torchdiffeq signals underflow / step limits this way
            raise SimulationError(f"the adaptive integrator (torchdiffeq dopri8) failed: {exc}") from None
        if len(sol) != len(grid):
            sol = sol[1:]
        if not bool(torch.all(torch.isfinite(sol))):
            bad = int(torch.nonzero(~torch.isfinite(sol.reshape(len(grid), -1)).any(dim=1))[0])
            t_bad = float(times[bad])
            raise SimulationError(
                f"the adaptive integrator produced non-finite values by t = {t_bad:.6g}", t_bad
            )
        return list(sol), calls[0], 0
