"""The PyTorch simulator backend: batched fixed-step loops and torchdiffeq's dopri8."""

from __future__ import annotations

from prismcat import hookimpl
from prismcat_torch.simulator import TorchSimulator


@hookimpl
def register_simulators(register):
    register(TorchSimulator())
