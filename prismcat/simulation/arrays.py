"""The short simulator contract: bring an array library, prismcat brings the loop.

An :class:`ArraySimulator` must implement two methods, :meth:`~ArraySimulator.asarray` (numpy to
your arrays, in the problem's dtype) and :meth:`~ArraySimulator.to_numpy`. prismcat builds the
formulation's flow from :mod:`prismcat.simulation.kernels` (written with ``@``, ``.mT``,
elementwise arithmetic and ``.sum``, which numpy, torch, jax.numpy and cupy share), runs the
fixed-step loop with a divergence check after every step, runs the adaptive method (scipy's
DOP853 on the host, in the log clock s = log(1 + c t) when the flow is stiff) and assembles the
output. A backend may override:

- :meth:`~ArraySimulator.diagonal` and :meth:`~ArraySimulator.concat`, which unlock the ``eigen-p``
  and ``eigen-ak`` formulations (declare them in ``formulations``);
- :meth:`~ArraySimulator.stepper`, to replace one step (minibatch SGD does);
- :meth:`~ArraySimulator.adaptive`, to use the library's own adaptive solver (torch does);
- :meth:`~ArraySimulator.flow`, e.g. for a fused right-hand side.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from prismcat.simulation import kernels as K
from prismcat.simulation.base import (
    Integrated,
    SimulationError,
    Simulator,
    blowup_threshold,
    divergence_message,
)
from prismcat.simulation.plan import STAGES, Prepared

Array = Any
Step = Callable[[Array, float], Array]


@dataclass
class Flow:
    """The formulation's vector field, its per-dimension (train, population) losses and a size
    (Tr W^T W or Tr P, one per batch element) whose blow-up means divergence."""

    rhs: Callable[[Array], Array]
    losses: Callable[[Array], tuple[Array, Array]]
    size: Callable[[Array], Array]


class ArraySimulator(Simulator):
    """A backend that only converts arrays (see the module doc). Must implement ``asarray`` and
    ``to_numpy``; everything else has a default."""

    @abc.abstractmethod
    def asarray(self, a: np.ndarray, dtype: str) -> Array:
        """``a`` (a numpy array) as this library's array of ``dtype`` ('float64' or 'float32'),
        on the backend's device."""

    @abc.abstractmethod
    def to_numpy(self, x: Array) -> np.ndarray:
        """``x`` back on the host as a numpy array."""

    def diagonal(self, x: Array) -> Array:
        """The diagonal of each matrix of a batch (B, d, d) -> (B, d); needed by eigen-p, eigen-ak."""
        raise NotImplementedError(f"backend '{self.name}' has no diagonal(): it cannot run eigen-p/eigen-ak")

    def concat(self, a: Array, b: Array) -> Array:
        """``a`` and ``b`` stacked along the row axis (-2); needed by eigen-ak."""
        raise NotImplementedError(f"backend '{self.name}' has no concat(): it cannot run eigen-ak")

    def p_rhs(self, lam: Array, dtype: str) -> Callable[[Array], Array]:
        """The P-flow's right-hand side in the eigenbasis of S (override to reuse buffers)."""
        L, D = K.p_constants(lam, self.asarray(np.eye(lam.shape[-1]), dtype))
        return lambda P: K.p_rhs(P, L, D)

    def flow(self, prepared: Prepared) -> Flow:
        """The negotiated formulation's :class:`Flow`, on this backend's arrays."""
        dtype = prepared.problem.dtype
        d, n = prepared.d, prepared.problem.n
        trS = self.asarray(prepared.trS, dtype)
        form = prepared.formulation
        if form == "eigen-p":
            lam = self.asarray(prepared.lam, dtype)
            return Flow(
                self.p_rhs(lam, dtype),
                lambda P: K.p_losses(P, lam, self.diagonal, d),
                lambda P: K.p_size(P, self.diagonal),
            )
        if form == "eigen-ak":
            lam = self.asarray(prepared.lam, dtype)
            return Flow(
                lambda Y: K.ak_rhs(Y, lam, n, self.concat),
                lambda Y: K.ak_losses(Y, lam, n, trS, d, self.diagonal),
                lambda Y: K.ak_size(Y, n, self.diagonal),
            )
        if form == "eigen-w":
            apply = K.apply_eigen(self.asarray(prepared.lam, dtype))
        elif form == "covariance-w":
            apply = K.apply_covariance(self.asarray(prepared.S, dtype))
        else:
            apply = K.apply_data(self.asarray(prepared.X, dtype), n)
        return Flow(lambda W: K.w_rhs(W, apply(W)), lambda W: K.w_losses(W, apply(W), trS, d), K.w_size)

    def stepper(self, prepared: Prepared, flow: Flow) -> Step:
        """One fixed step ``y -> y_next`` of size ``h`` (Euler or RK4); must return a new array."""
        euler = prepared.integrator.method == "euler"
        return lambda y, h: K.rk_step(flow.rhs, y, h, euler)

    def adaptive(self, prepared: Prepared, flow: Flow, y0: Array) -> tuple[list[Array], int, int]:
        """(state at each output time, evaluations, steps) of the adaptive method: scipy's DOP853
        on the host, every right-hand side evaluated by this backend in the problem's dtype."""
        return host_adaptive(self, prepared, flow.rhs, y0)

    def integrate(self, prepared: Prepared) -> Integrated:
        flow = self.flow(prepared)
        y0 = self.asarray(prepared.state0, prepared.problem.dtype)
        if prepared.integrator.method == "adaptive":
            states, evals, steps = self.adaptive(prepared, flow, y0)
        else:
            states, evals, steps = fixed_steps(self, prepared, flow, y0)
        curves = [flow.losses(y) for y in states]
        train = np.stack([self.to_numpy(c[0]) for c in curves], axis=1).astype(float)
        pop = np.stack([self.to_numpy(c[1]) for c in curves], axis=1).astype(float)
        return Integrated(train, pop, self.to_numpy(states[-1]).astype(float), evals=evals, steps=steps)


def fixed_steps(
    sim: ArraySimulator, prepared: Prepared, flow: Flow, y: Array
) -> tuple[list[Array], int, int]:
    """Steps of at most dt to each output time, checking after every step that the weights stay
    finite and bounded (:func:`~prismcat.simulation.base.blowup_threshold`)."""
    counts, hs = prepared.intervals()
    step = sim.stepper(prepared, flow)
    limit = blowup_threshold(prepared)
    t, states, steps = 0.0, [], 0
    with np.errstate(all="ignore"):
        for m, h in zip(counts, hs, strict=True):
            for _ in range(int(m)):
                y = step(y, float(h))
                t += float(h)
                steps += 1
                s = np.asarray(sim.to_numpy(flow.size(y)))
                finite = bool(np.all(np.isfinite(s)))
                if not finite or bool(np.any(s > limit)):
                    what = "non-finite weights" if not finite else "the weights exploded"
                    raise SimulationError(
                        divergence_message(t, prepared.integrator.dt, prepared.rate, what), t, float(h)
                    )
            states.append(y)
    stages = 1 if prepared.integrator.method == "euler" else 4
    return states, steps * stages, steps


def host_adaptive(
    sim: ArraySimulator, prepared: Prepared, rhs: Callable[[Array], Array], y0: Array
) -> tuple[list[Array], int, int]:
    """scipy's DOP853 carries its state and stage sums in float64; every right-hand side is
    evaluated by the backend on the state rounded to the problem's dtype, so a float32 run
    computes the flow in float32. With a log clock c: dy/ds = (1 + c t) / c * f(y), s = log(1 + c t)."""
    dtype = prepared.problem.dtype
    host0 = np.asarray(sim.to_numpy(y0), dtype=np.float64)
    shape = host0.shape
    times = prepared.times
    c = prepared.log_clock
    grid = np.log1p(c * times) if c else times

    budget = STAGES["adaptive"] * prepared.integrator.max_steps
    count = 0

    def fun(s, y):
        nonlocal count
        count += 1
        if count > budget:
            t = float(np.expm1(s) / c) if c else float(s)
            raise SimulationError(
                f"the adaptive integrator (DOP853) needed more than {budget} evaluations by t = {t:.6g} "
                "(the budget of Integrator.max_steps steps): the flow is stiffer than its estimate",
                t,
                None,
            )
        f = np.asarray(sim.to_numpy(rhs(sim.asarray(y.reshape(shape), dtype))), dtype=np.float64).ravel()
        return (np.expm1(s) + 1.0) / c * f if c else f

    integ = prepared.integrator
    with np.errstate(all="ignore"):
        sol = solve_ivp(
            fun,
            (0.0, float(grid[-1])),
            host0.ravel(),
            method="DOP853",
            t_eval=grid,
            rtol=integ.rtol,
            atol=integ.atol,
        )
    if sol.status != 0 or sol.y.shape[1] != len(grid) or not np.all(np.isfinite(sol.y)):
        s_end = float(sol.t[-1]) if sol.t.size else 0.0
        t_end = float(np.expm1(s_end) / c) if c else s_end
        raise SimulationError(
            f"the adaptive integrator (DOP853) stopped at t = {t_end:.6g}: {sol.message}; "
            "the flow may diverge there, or the tolerances are too tight",
            t_end,
            None,
        )
    states = [sim.asarray(sol.y[:, i].reshape(shape), dtype) for i in range(len(grid))]
    return states, int(sol.nfev), int(sol.t.size)
