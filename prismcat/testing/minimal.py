"""The shortest backend prismcat accepts: the plain W-flow on X with numpy arrays.

It declares nothing but its name, so it is handed the ``data-w`` formulation and every integrator,
and prismcat's loop, adaptive method, divergence checks and output do the rest. It passes the same
conformance suite as the built-in backends (``tests/test_conformance.py``).
"""

from __future__ import annotations

import numpy as np

from prismcat.simulation.arrays import ArraySimulator


class MinimalSimulator(ArraySimulator):
    name = "minimal"
    description = "the minimal contract on numpy (reference for plugin authors)"

    def asarray(self, a: np.ndarray, dtype: str) -> np.ndarray:
        return np.asarray(a, dtype=dtype)

    def to_numpy(self, x: np.ndarray) -> np.ndarray:
        return x
