"""The SGD example backend (plugins/prismcat_sgd): full batch is exactly the Euler integrator,
reshuffled minibatches converge to the flow at first order in the learning rate (iid batches with
replacement do not), options are validated and reach the backend, sampling is without replacement."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "prismcat_sgd"))

from prismcat_sgd.simulator import Batches, SGDSimulator

from prismcat.errors import PluginError
from prismcat.simulation import Integrator, Problem
from prismcat.simulation.api import run_batch
from prismcat.simulators.numpy_backend import NumpySimulator

TIMES = tuple(np.round(np.linspace(0.0, 1.0, 11), 12))


def problem(seed=0, **kw):
    settings = {"d": 12, "k": 4, "n": 40, "sigma2": 0.2, "times": TIMES, "seed": seed, **kw}
    return Problem(**settings)


def test_full_batch_is_exactly_the_euler_integrator():
    batch = [problem(s, integrator=Integrator("euler", dt=0.01)) for s in range(3)]
    sgd = run_batch(SGDSimulator().configure(batch_size=40), batch)
    gd = run_batch(NumpySimulator(), [Problem(**{**p.__dict__, "formulation": "data-w"}) for p in batch])
    for a, b in zip(sgd, gd, strict=True):
        assert np.array_equal(a.train, b.train) and np.array_equal(a.population, b.population)
    assert sgd[0].info["integrator"] == "euler" and sgd[0].info["formulation"] == "data-w"


def _order(replacement: bool) -> float:
    """Fitted exponent of sup_t |L_sgd - L_flow| (mean over 8 seeds) against lr."""
    seeds = range(8)
    flow = run_batch(NumpySimulator(), [problem(s) for s in seeds])
    lrs = [0.02, 0.01, 0.005, 0.0025]
    errors = []
    for lr in lrs:
        sim = SGDSimulator().configure(batch_size=8, lr=lr, replacement=replacement)
        runs = run_batch(sim, [problem(s) for s in seeds])
        errors.append(np.mean([np.max(np.abs(r.train - f.train)) for r, f in zip(runs, flow, strict=True)]))
    return float(np.polyfit(np.log(lrs), np.log(errors), 1)[0])


def test_reshuffled_sgd_converges_to_the_flow_at_first_order():
    assert 0.85 < _order(replacement=False) < 1.2


def test_the_first_order_test_fails_sampling_with_replacement():
    # iid batches add noise of order sqrt(lr) to the path: the measured order is ~0.7 here
    assert _order(replacement=True) < 0.85


def test_lr_is_the_step_and_other_integrators_are_negotiated_to_it():
    res = run_batch(SGDSimulator().configure(batch_size=8, lr=0.05), [problem()])[0]
    assert res.info["integrator"] == "euler" and res.info["dt"] == 0.05
    assert res.info["steps"] == 20  # t = 1 at lr 0.05
    assert res.info["details"] == {"batch_size": 8, "epochs": 20 * 8 / 40}
    assert res.info["backend"] == "sgd:batch_size=8,lr=0.05"


def test_the_same_options_give_the_same_run_and_another_seed_another():
    sim = SGDSimulator().configure(batch_size=8, lr=0.05)
    a, b = (run_batch(sim, [problem()])[0] for _ in range(2))
    c = run_batch(sim.configure(seed=1), [problem()])[0]
    assert np.array_equal(a.train, b.train) and not np.array_equal(a.train, c.train)


def test_batches_are_without_replacement_within_an_epoch():
    b = Batches(10, 3, False, (0, 0))
    for _ in range(3):
        epoch = np.concatenate([b.next() for _ in range(4)])  # 3 + 3 + 3 + 1
        assert sorted(epoch.tolist()) == list(range(10))


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (
            {"batch": 8},
            "option 'batch': Extra inputs are not permitted (options: batch_size, lr, replacement, seed)",
        ),
        ({"batch_size": 0}, "option 'batch_size': Input should be greater than or equal to 1"),
        ({"lr": "fast"}, "option 'lr': Input should be a valid number"),
    ],
)
def test_bad_options_are_named(options, says):
    with pytest.raises(PluginError) as info:
        SGDSimulator().configure(**options)
    assert says in str(info.value) and "simulator backend 'sgd'" in str(info.value)
