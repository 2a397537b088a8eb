"""What one simulation task may cost, and the check made before it allocates anything.

A model family estimates each task (:class:`Estimate`: peak bytes and floating-point operations);
the runner and ``prismcat.simulate`` compare the estimate with the :class:`Limits` before drawing
any data. The memory limit is per task: ``--max-memory`` or ``$PRISMCAT_MAX_MEMORY`` (e.g. ``4G``),
by default half of the memory this process may use (the machine's, or a smaller cgroup or
``ulimit -v`` limit). The time check divides the operations by an optimistic single-core rate and
refuses only a task estimated at more than a hundred times the task timeout: the operation count is an
estimate (the adaptive integrator's steps within a few times), and the check is there to stop the
absurd before it starts, not to second-guess a run near its limit (the timeout does that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prismcat.settings import ENV_MAX_MEMORY

PEAK_FLOPS = 5e10  # flop/s: above what one core reaches even on large matrix products
BY_FAR = 100.0  # a task is refused when its estimate exceeds the task timeout this many times over


@dataclass(frozen=True)
class Estimate:
    """A task's cost: peak bytes on the host and floating-point operations."""

    bytes: float
    flops: float
    detail: str = ""  # what dominates, for messages (e.g. "X alone 5.5 GB")


@dataclass(frozen=True)
class Limits:
    """What one task may use: bytes, and seconds (None: no time limit)."""

    max_memory: float
    seconds: float | None = None

    def refusal(self, estimate: Estimate, what: str) -> str | None:
        """Why ``what`` may not run (None if it fits), naming the estimate and the limit."""
        detail = f"; {estimate.detail}" if estimate.detail else ""
        if not estimate.bytes <= self.max_memory:
            return (
                f"{what} needs about {fmt_bytes(estimate.bytes)} of memory{detail}, over the limit of "
                f"{fmt_bytes(self.max_memory)} per task (--max-memory or ${ENV_MAX_MEMORY})"
            )
        if self.seconds is not None and not estimate.flops / PEAK_FLOPS <= BY_FAR * self.seconds:
            return (
                f"{what} needs about {estimate.flops:.2g} floating-point operations: about "
                f"{estimate.flops / PEAK_FLOPS:.3g} s even at {PEAK_FLOPS / 1e9:.0f} GFLOP/s, far over the "
                f"task timeout of {self.seconds:g} s (--task-timeout)"
            )
        return None


def fmt_bytes(n: float) -> str:
    if not math.isfinite(n):
        return str(n)
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} bytes"
