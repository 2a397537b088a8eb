"""Every validation policy in one place: false-alarm rates, power, targets and minimums.

A quick validation of the whole catalogue makes about 146 tests (per entry and loss: the
extrapolation's sup test and two matched tests, and one rate test). ALPHA is the false-alarm rate
of each: 2e-4 makes a false alarm in a run of the correct catalogue a 1-in-34 event, 0.3 expected
over ten independent seed sets (measured: none; `benchmarks/bench_power.py`).

Resolutions. An extrapolation's *resolution* is the smallest relative formula error (the limit
off by a factor 1 +- r, or its clock stretched by 1 +- r) that it detects with probability POWER.
An entry *meets a target* r when it detects an error of r with probability REQUIRED_POWER, so
that a validation that passes really does catch every error of the target size (a 0.8 power would
miss one error in five). The targets are per profile and kind of cell; an entry that cannot meet
them declares its achievable resolution, with the reason, in ``validation.resolution``.
"""

from __future__ import annotations

from statistics import NormalDist

ALPHA = 2e-4  # false-alarm rate of one test (one entry, one loss, one checker)
POWER = 0.8  # the reported resolution is the error detected with this probability
REQUIRED_POWER = 0.99  # an entry meets a target resolution if it detects that error this often
SE_FLOOR = 1e-4  # the misfit's residual noise is never taken below this fraction of the scale
# The extrapolation's systematic uncertainty, as a fraction of the quantity's scale, added in
# quadrature to every statistical standard error: orders the correction model leaves out. With 64
# seeds the statistical errors fall to ~0.01% of the scale, and extrapolations of correct formulas
# then sat 0.1-0.8% from them (several se) where a next order was visible; 0.1% keeps the
# resolution an order below the 2% target while not claiming more than the model knows.
SYSTEMATIC = 1e-3
CALIBRATION_LEVEL = 0.02  # where the bootstrap measures the sup's null law (see extrapolation.py)
MIN_SEEDS = 8  # fewer seeds give no usable estimate of the noise
MIN_RUNGS_FOR_RATE = 4  # rungs needed wherever a rate is fitted (2 parameters + 2 for the misfit)

# the relative formula error every entry must resolve, by profile and kind of cell
TARGET_RESOLUTION: dict[str, dict[str, float]] = {
    "quick": {"face": 0.02, "edge": 0.05, "vertex": 0.05, "interior": 0.05},
    "thorough": {"face": 0.02, "edge": 0.02, "vertex": 0.02, "interior": 0.02},
}
# "the error shrinks" means a fitted rate > 0 at this one-sided level
DECREASE_LEVEL = 0.01
# the error in a convergence rate (absolute, in powers of eps) every rate test must resolve
TARGET_RATE_RESOLUTION = 0.5
# a ladder measures an effective rate: within this of the declared (asymptotic) one it is that
# rate (measured with 64 seeds: effective slopes 0.87-1.2 on entries whose formulas pass); the
# test rejects only beyond it, and the fixed band does not widen with noise (the resolution does,
# and must meet its target)
RATE_TOLERANCE = 0.15

# consistency relations (formula level, deterministic): allowed |fitted - declared| rate
RELATION_RATE_SLACK = 0.35
# clock stretch used to differentiate a formula along its clock (for the clock resolution)
CLOCK_STEP = 1e-4


def power_z() -> float:
    return NormalDist().inv_cdf(POWER)


def required_z() -> float:
    return NormalDist().inv_cdf(REQUIRED_POWER)


def target_resolution(profile: str, cell_kind: str) -> float:
    """The relative error an entry of this kind of cell must resolve at this profile."""
    by_kind = TARGET_RESOLUTION.get(profile, TARGET_RESOLUTION["thorough"])
    return by_kind.get(cell_kind, max(by_kind.values()))


def two_sided_z(alpha: float = ALPHA) -> float:
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)
