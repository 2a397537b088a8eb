"""The unit of simulation work: one entry, one parameter point, one rung of its ladder, one block
of seeds."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from prismcat.settings import blas_threads as configured
from prismcat.simulation.plan import Offer
from prismcat.validation.cache import Expected
from prismcat.validation.design import SizePoint


def blas_threads():
    """Pin the BLAS/OpenMP thread count of a task to ``$PRISMCAT_BLAS_THREADS`` (default 1).

    A matrix product's rounding depends on how its sums are split over threads; with the count
    fixed, a task gives the same bits in this process, on a Dask worker (which Dask starts with
    one BLAS thread) or on another machine. 0 leaves the libraries' own setting (faster on many
    cores, reproducible only on the same machine and executor).
    """
    n = configured()
    return threadpool_limits(n) if n > 0 else contextlib.nullcontext()


@dataclass
class Task:
    """Simulate ``problems`` (seeds of one rung) on ``backend``; ``part`` orders the batches of a
    rung when its seeds are split across tasks. Picklable, so executors may ship it elsewhere."""

    entry_id: str
    index: int
    part: int
    point: SizePoint
    problems: list[Any]  # the family's problems (prismcat.simulation.Problem for the autoencoder)
    backend: str
    key: str
    digests: list[str] = field(default_factory=list)  # of the resolved problems, stored and verified
    offer: Offer | None = None  # what the backend runs (None: any formulation, by cost)
    at: int = 0  # the entry's parameter point (0: the first)

    @property
    def slot(self) -> tuple[str, int, int, int]:
        """Where its arrays go: (entry, parameter point, rung, part)."""
        return (self.entry_id, self.at, self.index, self.part)

    @property
    def family(self):
        return self.point.family

    def expected(self) -> Expected:
        """The shapes a cached value of this task must have (the family says which arrays)."""
        return Expected(self.family.arrays(len(self.problems), len(self.point.times)), self.digests)

    def cost(self) -> float:
        """Estimated cost (the family's model: flops for the autoencoder), longest tasks first."""
        return self.family.cost(self.problems, self.offer)

    def run(self) -> dict[str, np.ndarray]:
        start = time.perf_counter()
        with blas_threads():
            arrays = self.family.run(self.problems, self.backend)
        return {"seconds": np.array(time.perf_counter() - start), **arrays}


def assemble(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One rung's arrays from its batches, in seed order."""
    return {name: np.concatenate([p[name] for p in parts], axis=0) for name in parts[0]}
