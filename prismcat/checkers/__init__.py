"""The standard checkers, shipped with prismcat as a built-in plugin on the same hook as any other
(``register_checkers``), the way pytest ships its own features.

- :mod:`~prismcat.checkers.extrapolation` the formula against the infinite-size extrapolation of
  the ladder, with the resolution this run reaches (the heart of validation);
- :mod:`~prismcat.checkers.convergence` the declared rate as a hypothesis, with its power;
- :mod:`~prismcat.checkers.tolerance` the relative distance at the largest size;
- :mod:`~prismcat.checkers.cauchy` entries without a closed form: successive sizes approach each
  other at the declared rate;
- :mod:`~prismcat.checkers.consistency` formula level: edges and vertices are limits of their
  neighbours.

Their numbers (false-alarm rate, power, targets) live in :mod:`prismcat.validation.policy`.
"""

from __future__ import annotations

from prismcat.checkers.cauchy import CauchyChecker
from prismcat.checkers.consistency import ConsistencyChecker
from prismcat.checkers.convergence import ConvergenceChecker
from prismcat.checkers.extrapolation import ExtrapolationChecker
from prismcat.checkers.tolerance import ToleranceChecker
from prismcat.hookspecs import hookimpl


@hookimpl
def register_checkers(register):
    for checker in (
        ExtrapolationChecker(),
        ConvergenceChecker(),
        ToleranceChecker(),
        CauchyChecker(),
        ConsistencyChecker(),
    ):
        register(checker)
