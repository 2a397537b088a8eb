"""The JAX simulator backend: jit-compiled fixed-step loops and diffrax's Dopri8."""

from __future__ import annotations

from prismcat import hookimpl


@hookimpl
def register_simulators(register):
    from prismcat_jax.simulator import JaxSimulator  # imported only when simulators are asked for

    register(JaxSimulator())
