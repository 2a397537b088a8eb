"""Finite-size simulation: problems, the host-side plan, shared kernels and the backend API."""

from prismcat.simulation.api import SimResult, backends, get_simulator, simulate, simulators
from prismcat.simulation.arrays import ArraySimulator, Flow
from prismcat.simulation.base import Integrated, SimulationError, Simulator
from prismcat.simulation.plan import Offer, Prepared, prepare
from prismcat.simulation.problem import (
    Integrator,
    Problem,
    ProblemData,
    ProblemError,
    draw,
    load_problem_npz,
)

__all__ = [
    "ArraySimulator",
    "Flow",
    "Integrated",
    "Integrator",
    "Offer",
    "Prepared",
    "Problem",
    "ProblemData",
    "ProblemError",
    "SimResult",
    "SimulationError",
    "Simulator",
    "backends",
    "draw",
    "get_simulator",
    "load_problem_npz",
    "prepare",
    "simulate",
    "simulators",
]
