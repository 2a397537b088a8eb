"""The PyTorch simulator backend: batched fixed-step loops and torchdiffeq's dopri8."""

from __future__ import annotations

from prismcat import hookimpl


@hookimpl
def register_simulators(register):
    from prismcat_torch.simulator import TorchSimulator  # imported only when simulators are asked for

    register(TorchSimulator())
