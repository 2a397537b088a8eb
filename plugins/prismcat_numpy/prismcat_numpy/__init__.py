"""The numpy simulator backend: fixed-step Euler/RK4 loops and scipy's DOP853 (adaptive)."""

from __future__ import annotations

from prismcat import hookimpl


@hookimpl
def register_simulators(register):
    from prismcat_numpy.simulator import NumpySimulator  # scipy loads only when simulating

    register(NumpySimulator())
