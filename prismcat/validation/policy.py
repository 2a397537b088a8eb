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


def point_budget(profile: str) -> float:
    """Seconds (one core) a designed parameter point of this profile may simulate for."""
    return POINT_BUDGET.get(profile, POINT_BUDGET["thorough"])


def two_sided_z(alpha: float = ALPHA) -> float:
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


# --- the design rule (prismcat.validation.design_rule): how an experiment is chosen ---
PROBE_FIRST = 1e-3  # the window probe: clock 0, then geometric from here ...
MAX_HORIZON = 64.0  # ... to here (the longest window, in the entry's clock)
PROBE_POINTS = 61  # probe points (also the clock grid of the visibility)
SETTLED = 0.01  # the curve has stopped moving once it stays within this fraction of its scale
START_MARGIN = 0.02  # a window that cannot start at 0 starts this far in (fraction of the window)
POINTS_PER_RANGE = 6  # candidate values of a parameter, evenly spread inside its range
POINT_SPREAD = 4.0  # the second point sits at least this factor away from the first
MIN_RUNGS = 4  # doubling rungs of a designed ladder (one more per extra correction term)
MIN_SIZE = 4  # the smallest growing integer size on a designed ladder's first rung
# ... where also eps**(correction terms fitted) is at most this, so that the first order the model
# leaves out is a small share of what it fits. Measured: right formulas pass from eps = 0.375 with
# one term (the tutorial's vertex entry), 0.25 (mean-field) and 0.5**2 with two (large-data);
# mean-field + free rejected its right formula by 5.4 se from eps = 0.56 with one term
FIRST_RUNG_EPS = 0.4
SEED_BLOCK = 8  # seeds are simulated and cached in blocks of this many (a pilot is one block)
MAX_SEEDS = 1024  # the most seeds per rung a design may allocate (the budget bounds the work; at
# 256 the free face could not spend more than 16 s a point on seeds, rule 4)
TOP_UP_MARGIN = 1.3  # allocate this much more than the 1/sqrt(seeds) prediction asks
# simulation budget of one designed parameter point (seconds on one core, by profile), and the
# rate at which the cost model's operations run on one core (measured: benchmarks/bench_design.py;
# quick was 4 s when the cost model left out drawing the data, which made it 1.7x optimistic)
POINT_BUDGET = {"quick": 6.0, "thorough": 40.0}
FLOP_RATE = 1e10  # measured 1e10-1.5e10 with one BLAS thread on the CI machine's cores
PILOT_SHARE = 4  # a designed ladder's pilot takes at most this share (1/4) of the point's budget
MAX_LADDER_SHIFTS = 6  # a designed ladder moves up (doubling) at most this many times
LADDER_NOISE_SLACK = 0.1  # of the ladders whose pilot fits, the highest this close to the least noisy
# a clock visibility this high sees a clock error nearly as well as an amplitude error: the
# systematic floor alone (SYSTEMATIC, about 7 se at the required power) costs 0.7% / visibility
VISIBLE_ENOUGH = 0.8
TOP_UP_ROUNDS = 4  # after the pilot, at most this many rounds of more seeds (or a next order)
# the seed mean's one-term correction misfits when sqrt(chi2/dof) of its fit exceeds this, read
# from at least MISFIT_SEEDS seeds (a pilot's 8 give too noisy a chi2 to act on); the design then
# fits the next order, exponent rate + NEXT_ORDER_STEP (the next power of an expansion in eps).
# Measured on small-data at gamma = 0.0877, a = 0.175 (64 seeds, N = 512 .. 4096): 2.9
MISFIT_SCALE = 1.5
MISFIT_SEEDS = 16
NEXT_ORDER_STEP = 1.0
MAX_CANDIDATES = 64  # the full grid of parameter candidates up to this size, else its diagonals
