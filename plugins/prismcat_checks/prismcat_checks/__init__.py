"""prismcat's standard checkers, one module each, registered through ``register_checkers``."""

from __future__ import annotations

from prismcat import hookimpl
from prismcat_checks.cauchy import CauchyChecker
from prismcat_checks.consistency import ConsistencyChecker
from prismcat_checks.convergence import ConvergenceChecker
from prismcat_checks.tolerance import ToleranceChecker


@hookimpl
def register_checkers(register):
    register(ToleranceChecker())
    register(ConvergenceChecker())
    register(CauchyChecker())
    register(ConsistencyChecker())
