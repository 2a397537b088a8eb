"""The torch backend (CPU or CUDA): the short contract with torch tensors, every formulation,
prismcat's cost model, and torchdiffeq's dopri8 as the adaptive method.

torch is imported lazily, so an installation without it still lists the backend (as not usable,
with how to install it). Device: ``$PRISMCAT_TORCH_DEVICE`` or CUDA when present, else CPU.
"""

from __future__ import annotations

import os

import numpy as np

from prismcat.optional import missing
from prismcat.simulation import kernels as K
from prismcat.simulation.arrays import ArraySimulator, Flow
from prismcat.simulation.base import Integrated, SimulationError
from prismcat.simulation.plan import FORMULATIONS, Prepared


def _device():
    import torch

    name = os.environ.get("PRISMCAT_TORCH_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class TorchSimulator(ArraySimulator):
    name = "torch"
    description = "PyTorch (CPU/CUDA): batched Euler, RK4, torchdiffeq dopri8"
    formulations = FORMULATIONS
    cost_model = True

    def available(self) -> tuple[bool, str]:
        why = missing(("torch", "torchdiffeq"))
        if why:
            return False, why
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

    def asarray(self, a, dtype: str):
        import torch

        torch_dtype = torch.float32 if dtype == "float32" else torch.float64
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch_dtype, device=_device())

    def to_numpy(self, x) -> np.ndarray:
        return x.detach().double().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)

    def diagonal(self, x):
        import torch

        return torch.diagonal(x, dim1=-2, dim2=-1)

    def concat(self, a, b):
        import torch

        return torch.cat([a, b], dim=-2)

    def p_rhs(self, lam, dtype: str):
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

    def integrate(self, prepared: Prepared) -> Integrated:
        import torch

        with torch.no_grad():
            return super().integrate(prepared)

    def adaptive(self, prepared: Prepared, flow: Flow, y0):
        return self._adaptive(prepared, flow.rhs, y0)

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
