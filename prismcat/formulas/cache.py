"""The formula engine's in-process cache of solutions (ODE and ODE-family states).

A solution is keyed on everything that determines its numbers: the formula's key (the canonical
text of its compiled expressions, entry helpers inlined, plus the clock and parameter names and
the solver settings), the parameter values and the times. Callers never write into a solution.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

Solution = dict[str, Any]


class SolutionCache:
    """A small thread-safe LRU of solutions."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[tuple, Solution] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        formula: str,
        params: Mapping[str, float],
        times: np.ndarray,
        compute: Callable[[], Solution],
    ) -> Solution:
        """The cached solution for ``(formula, params, times)``, computed on a miss."""
        key = solution_key(formula, params, times)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        solution = compute()
        with self._lock:
            self._items[key] = solution
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return solution

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def solution_key(formula: str, params: Mapping[str, float], times: np.ndarray) -> tuple:
    """Exact key: parameter values as hex floats (-0.0 and 0.0 differ), times by their bytes."""
    values = tuple(sorted((name, float(v).hex()) for name, v in params.items()))
    grid = np.ascontiguousarray(times, dtype=float)
    return formula, values, grid.shape, grid.tobytes()


SOLUTIONS = SolutionCache(64)


def clear_caches() -> None:
    """Forget every cached solution (benchmarks, tests)."""
    SOLUTIONS.clear()
