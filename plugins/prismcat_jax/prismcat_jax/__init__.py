"""The JAX simulator backend: jit-compiled fixed-step loops and diffrax's Dopri8."""

from __future__ import annotations

from prismcat import hookimpl
from prismcat_jax.simulator import JaxSimulator


@hookimpl
def register_simulators(register):
    register(JaxSimulator())
