"""Tools for plugin authors: the conformance suite every simulator backend should pass, and the
shortest backend that passes it.

In your plugin's tests::

    from prismcat.testing import SimulatorConformance
    from my_backend import MySimulator

    class TestMySimulator(SimulatorConformance):
        simulator = MySimulator()

or, outside pytest, ``prismcat.testing.check_simulator(MySimulator())`` returns the failures.
"""

from prismcat.testing.conformance import (
    CHECKS,
    ConformanceFailure,
    NotApplicable,
    SimulatorConformance,
    check_agrees_with_numpy,
    check_batched_seeds,
    check_divergence_reported,
    check_float32_honoured,
    check_shapes_and_dtypes,
    check_simulator,
)
from prismcat.testing.minimal import MinimalSimulator

__all__ = [
    "CHECKS",
    "ConformanceFailure",
    "MinimalSimulator",
    "NotApplicable",
    "SimulatorConformance",
    "check_agrees_with_numpy",
    "check_batched_seeds",
    "check_divergence_reported",
    "check_float32_honoured",
    "check_shapes_and_dtypes",
    "check_simulator",
]
