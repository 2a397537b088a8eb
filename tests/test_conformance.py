"""The simulator conformance suite (prismcat.testing): every built-in backend and the minimal
reference pass it, and each check fails the backend defect it is there for."""

from __future__ import annotations

import numpy as np
import pytest

from prismcat.simulation import Integrated
from prismcat.simulation import kernels as K
from prismcat.simulation.arrays import Flow
from prismcat.simulators.jax_backend import JaxSimulator
from prismcat.simulators.numpy_backend import NumpySimulator
from prismcat.simulators.torch_backend import TorchSimulator
from prismcat.testing import (
    ConformanceFailure,
    MinimalSimulator,
    SimulatorConformance,
    check_agrees_with_numpy,
    check_batched_seeds,
    check_divergence_reported,
    check_float32_honoured,
    check_shapes_and_dtypes,
    check_simulator,
)


class TestNumpy(SimulatorConformance):
    simulator = NumpySimulator()


class TestTorch(SimulatorConformance):
    simulator = TorchSimulator()


@pytest.mark.slow
class TestJax(SimulatorConformance):
    simulator = JaxSimulator()


class TestMinimal(SimulatorConformance):
    simulator = MinimalSimulator()


def test_the_minimal_backend_is_handed_the_plain_w_flow():
    from prismcat.simulation import Problem
    from prismcat.simulation.api import run_batch

    p = Problem(d=8, k=8, n=4, sigma2=0.1, times=(0.0, 1.0))  # numpy would pick eigen-ak or eigen-p here
    res = run_batch(MinimalSimulator(), [p])[0]
    assert res.info["formulation"] == "data-w"
    assert run_batch(NumpySimulator(), [p])[0].info["formulation"] != "data-w"


# -- each defect fails its check -----------------------------------------------------------------
class HalfGradient(MinimalSimulator):
    """Drops the factor 2 of 2 S W."""

    name = "half-gradient"

    def flow(self, prepared):
        base = super().flow(prepared)
        X = prepared.X
        n = prepared.problem.n

        def rhs(W):
            SW = X @ (X.mT @ W) / n
            return SW - W @ (W.mT @ SW) - SW @ (W.mT @ W)

        return Flow(rhs, base.losses, base.size)


class AlwaysFloat64(MinimalSimulator):
    name = "always-float64"

    def asarray(self, a, dtype):
        return np.asarray(a, dtype=np.float64)


class MixesSeeds(MinimalSimulator):
    """Uses the batch-mean data for every seed."""

    name = "mixes-seeds"

    def asarray(self, a, dtype):
        a = np.asarray(a, dtype=dtype)
        if a.ndim == 3 and a.shape[-1] == 12:  # X of the conformance problems
            return np.broadcast_to(a.mean(axis=0, keepdims=True), a.shape).copy()
        return a


class ClipsWeights(MinimalSimulator):
    """Hides a divergence by clipping the weights."""

    name = "clips-weights"

    def stepper(self, prepared, flow):
        euler = prepared.integrator.method == "euler"
        return lambda y, h: np.clip(K.rk_step(flow.rhs, y, h, euler), -3.0, 3.0)


class Transposed(MinimalSimulator):
    name = "transposed"

    def integrate(self, prepared):
        out = super().integrate(prepared)
        return Integrated(out.train.T.copy(), out.population.T.copy(), out.final)


@pytest.mark.parametrize(
    ("sim", "check", "says"),
    [
        (HalfGradient(), check_agrees_with_numpy, "differs from numpy by"),
        (AlwaysFloat64(), check_float32_honoured, "not computed in float32"),
        (MixesSeeds(), check_batched_seeds, "differs from its run alone"),
        (ClipsWeights(), check_divergence_reported, "did not report divergence"),
        (Transposed(), check_shapes_and_dtypes, "must be a float numpy array of shape (3, 5)"),
    ],
    ids=lambda x: getattr(x, "name", getattr(x, "__name__", "")),
)
def test_each_check_fails_its_defect(sim, check, says):
    with pytest.raises(ConformanceFailure, match=None) as info:
        check(sim)
    assert says in str(info.value)
    assert check.__name__.removeprefix("check_") in check_simulator(sim)


def test_check_simulator_is_empty_for_a_conforming_backend():
    assert check_simulator(MinimalSimulator()) == {}
