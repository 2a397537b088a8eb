"""prismcat's standard checkers, one module each, registered through ``register_checkers``."""

from __future__ import annotations

from prismcat import hookimpl


@hookimpl
def register_checkers(register):
    # imported when checkers are asked for, so that loading plugins stays cheap for 'prismcat list'
    from prismcat_checks.cauchy import CauchyChecker
    from prismcat_checks.consistency import ConsistencyChecker
    from prismcat_checks.convergence import ConvergenceChecker
    from prismcat_checks.tolerance import ToleranceChecker

    register(ToleranceChecker())
    register(ConvergenceChecker())
    register(CauchyChecker())
    register(ConsistencyChecker())
