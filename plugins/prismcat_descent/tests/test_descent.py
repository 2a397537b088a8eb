"""The descent checker passes gradient flow and fails a rising run and a rising limit."""

import numpy as np
from prismcat_descent.checker import DescentChecker

from prismcat.validation.checks import CheckContext, LossData, Measurement


class Point:
    N, times = 8.0, np.linspace(0.0, 1.0, 6)

    def label(self):
        return "N=8"


class Settings:
    dtype = "float64"


def context(curves, limit):
    m = Measurement(
        Point(), {"train": LossData(np.asarray(curves, dtype=float), np.asarray(limit, dtype=float))}
    )
    return CheckContext(entry=None, catalog=None, settings=Settings(), measurements=[m])


DECAY = np.exp(-np.linspace(0.0, 1.0, 6))


def test_gradient_flow_passes():
    assert DescentChecker().check(context([DECAY, 0.9 * DECAY], DECAY)).status == "pass"


def test_a_rising_run_fails():
    bumped = DECAY.copy()
    bumped[3] = bumped[2] * 1.01
    result = DescentChecker().check(context([DECAY, bumped], DECAY))
    assert result.status == "fail" and "a run rises" in result.message and "seed 1" in result.message


def test_a_rising_limit_fails():
    result = DescentChecker().check(context([DECAY], DECAY[::-1]))
    assert result.status == "fail" and "the limit rises" in result.message
