"""What a simulator plugin provides, and what it must return."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from prismcat.errors import PrismcatError
from prismcat.simulation.plan import Prepared


class SimulationError(PrismcatError):
    """The finite-size run failed (divergence, solver failure); says when, with which step."""

    def __init__(self, message: str, time: float | None = None, dt: float | None = None):
        super().__init__(message)
        self.time, self.dt = time, dt


@dataclass
class Integrated:
    """A backend's answer for a batch of B problems at T output times."""

    train: np.ndarray  # (B, T): L_train / d
    population: np.ndarray  # (B, T): L_pop / d
    final: np.ndarray  # (B, ...) final state (numpy), for the spectrum
    evals: int = 0
    steps: int = 0
    details: dict = field(default_factory=dict)


class Simulator:
    """A backend that integrates prepared batches; register it with ``register_simulators``.

    ``formulations`` lists what ``integrate`` accepts (see :mod:`prismcat.simulation.kernels`).
    """

    name: str = ""
    description: str = ""
    formulations: tuple[str, ...] = ("data-w", "covariance-w", "eigen-w", "eigen-ak", "eigen-p")

    def available(self) -> tuple[bool, str]:
        """Whether the backend can run here, and why not if it cannot."""
        return True, ""

    def fingerprint(self) -> dict[str, str]:
        """What else determines this backend's numbers: library versions, the device. It goes into
        the cache key with the problem and a hash of the backend package's source."""
        return {}

    def integrate(self, prepared: Prepared) -> Integrated:
        raise NotImplementedError


def divergence_message(time: float, dt: float | None, rate: float, what: str) -> str:
    """The message for a run that produced non-finite values or exploded."""
    step = f" with step dt = {dt:g}" if dt is not None else ""
    bound = 2.0 / rate if rate > 0 else float("nan")
    return (
        f"the run diverged at t = {time:.6g}{step}: {what}. "
        f"Explicit steps must stay below roughly {bound:.3g} (2 / initial rate); "
        "use a smaller --dt or --integrator adaptive"
    )


def blowup_threshold(prepared: Prepared) -> float:
    """Tr W^T W (or Tr P) above which a run counts as exploded."""
    p = prepared.problem
    scale = max(1.0, p.sigma2 * p.d * p.k, float(p.d))
    return 1e6 * scale
