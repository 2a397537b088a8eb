"""Every validation policy in one place: false-alarm rates, power, and the statistics' minimums.

A validation of the whole catalogue makes about 40 formula tests (entries x losses). ALPHA is the
false-alarm rate of each: 2e-4 makes a false alarm in a run of the correct catalogue a 1-in-100
event, and 1-in-12 over ten seed offsets.
"""

from __future__ import annotations

from statistics import NormalDist

ALPHA = 2e-4  # false-alarm rate of one extrapolation test (one entry, one loss)
POWER = 0.8  # the resolution is the formula error detected with this probability
SE_FLOOR = 1e-4  # no extrapolated point is known better than this fraction of the quantity's scale
CALIBRATION_LEVEL = 0.02  # where the bootstrap measures the sup's null law (see extrapolation.py)
MIN_SEEDS = 8  # fewer seeds give no usable estimate of the noise
MIN_RUNGS_FOR_RATE = 4  # rungs needed wherever a rate is fitted (2 parameters + 2 for the misfit)


def power_z() -> float:
    return NormalDist().inv_cdf(POWER)
