"""What every CP backend must do, checked on small problems (the CP family's counterpart of
:mod:`prismcat.testing`): shapes, agreement with the loss built from the p^nu tensor itself and
with the reference backend, seeds batched without mixing, divergence reported, float32 computed in
float32. Each ``check_*`` raises :class:`ConformanceFailure`; :func:`check_cp_simulator` runs all
and returns the failures by name."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from prismcat.simulation import Integrator, SimulationError
from prismcat_cp import gram
from prismcat_cp.problem import CPProblem, draw

TIMES = (0.0, 0.05, 0.1, 0.2)
AGREEMENT = 1e-9  # |L| difference with the reference (float64), relative to L(0)
FLOAT32_AGREEMENT = 1e-4
CASES = [  # (nu, symmetric, p, H, sigma): both formulations, both symmetries
    (3, False, 4, 3, 0.6),  # gram (H < p^2)
    (3, False, 3, 12, 0.5),  # tensor (H > p^2)
    (4, True, 3, 4, 0.5),
    (2, True, 5, 3, 0.6),
]


class ConformanceFailure(AssertionError):
    """A CP backend does not do what the contract asks."""


def _problem(case, method="adaptive", seed=0, **kw) -> CPProblem:
    nu, sym, p, H, sigma = case
    integ = Integrator("euler", dt=1e-3) if method == "euler" else Integrator("adaptive", rtol=1e-11)
    return CPProblem(
        p=p, H=H, sigma=sigma, nu=nu, symmetric=sym, times=TIMES, seed=seed, integrator=integ, **kw
    )


def reference(problem: CPProblem) -> np.ndarray:
    """L(t) by the numpy Gram form with scipy's DOP853 at tight tolerances (the reference)."""
    from prismcat_cp.simulator import CPNumpySimulator

    tight = replace(problem, integrator=Integrator("adaptive", rtol=1e-12), formulation="gram")
    return CPNumpySimulator().run([tight])[0].loss


def check_shapes(sim) -> None:
    for case in CASES:
        probs = [_problem(case, seed=s) for s in range(3)]
        out = sim.run(probs)
        if len(out) != 3 or any(np.shape(r.loss) != (len(TIMES),) for r in out):
            raise ConformanceFailure(f"{case}: expected 3 results of {len(TIMES)} losses each")
        if not all(np.all(np.isfinite(r.loss)) for r in out):
            raise ConformanceFailure(f"{case}: non-finite losses")


def check_dense(sim) -> None:
    """L(0) equals the loss built from the full tensor; the first Euler step lowers it by the
    squared gradient norm of the dense loss (finite differences)."""
    for case in CASES:
        prob = _problem(case, "euler")
        U0 = draw(prob)[None]
        dense = gram.dense_loss(U0, prob.nu)[0]
        got = sim.run([prob])[0].loss0
        if abs(got - dense) > AGREEMENT * max(1.0, dense):
            raise ConformanceFailure(f"{case}: L(0) = {got} but the dense tensor gives {dense}")
        eps, g2 = 1e-6, 0.0
        for idx in np.ndindex(U0.shape):
            up, dn = U0.copy(), U0.copy()
            up[idx] += eps
            dn[idx] -= eps
            g = (gram.dense_loss(up, prob.nu)[0] - gram.dense_loss(dn, prob.nu)[0]) / (2 * eps)
            g2 += g * g
        one = replace(prob, times=(0.0, 1e-6), integrator=Integrator("euler", dt=1e-6))
        drop = (sim.run([one])[0].loss[0] - sim.run([one])[0].loss[1]) / 1e-6
        if abs(drop - g2) > 1e-3 * max(1.0, g2):
            raise ConformanceFailure(f"{case}: first step lowers L at rate {drop:.8g}, |grad L|^2 = {g2:.8g}")


def check_agreement(sim) -> None:
    """Adaptive runs agree with the reference to AGREEMENT (relative to L(0))."""
    for case in CASES:
        prob = _problem(case)
        got, want = sim.run([prob])[0].loss, reference(prob)
        err = float(np.max(np.abs(got - want))) / max(1.0, float(want[0]))
        if err > AGREEMENT * 100:
            raise ConformanceFailure(f"{case}: differs from the reference by {err:.3g} (relative)")


def check_batched_seeds(sim) -> None:
    """A batch of seeds gives each seed's own run, and different seeds differ."""
    for case in CASES:
        probs = [_problem(case, "euler", seed=s) for s in (0, 1, 2)]
        batch = [r.loss for r in sim.run(probs)]
        alone = [sim.run([p])[0].loss for p in probs]
        if any(
            np.max(np.abs(a - b)) > 1e-12 * max(1.0, float(np.max(np.abs(b))))
            for a, b in zip(batch, alone, strict=True)
        ):
            raise ConformanceFailure(f"{case}: seeds run together differ from seeds run alone")
        if np.allclose(batch[0], batch[1]):
            raise ConformanceFailure(f"{case}: seeds 0 and 1 give the same run")


def check_divergence(sim) -> None:
    """A step far beyond stability is reported as SimulationError, not returned as numbers."""
    prob = replace(_problem(CASES[0], "euler"), sigma=2.0, integrator=Integrator("euler", dt=5.0))
    try:
        sim.run([prob])
    except SimulationError:
        return
    raise ConformanceFailure("an exploding Euler run was not reported as SimulationError")


def check_float32(sim) -> None:
    """float32 runs are computed in float32: close to float64, yet not equal to it."""
    case = CASES[0]
    p64 = _problem(case, "euler")
    p32 = replace(p64, dtype="float32")
    a, b = sim.run([p64])[0].loss, sim.run([p32])[0].loss
    err = float(np.max(np.abs(a - b))) / max(1.0, float(a[0]))
    if err > FLOAT32_AGREEMENT:
        raise ConformanceFailure(f"float32 differs from float64 by {err:.3g} (relative)")
    if np.array_equal(a, b):
        raise ConformanceFailure("float32 run equals the float64 one bit for bit: not computed in float32")


CHECKS = {
    "shapes": check_shapes,
    "dense": check_dense,
    "agreement": check_agreement,
    "batched_seeds": check_batched_seeds,
    "divergence": check_divergence,
    "float32": check_float32,
}


def check_cp_simulator(sim) -> dict[str, str]:
    """Every check on ``sim``; the failures by name (empty: it conforms)."""
    failures = {}
    for name, check in CHECKS.items():
        try:
            check(sim)
        except ConformanceFailure as exc:
            failures[name] = str(exc)
        except Exception as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
    return failures
