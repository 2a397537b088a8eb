"""The jax backend (CPU or GPU): the full contract, because it compiles whole loops with jit
(``lax.fori_loop``, divergence detected inside the loop) and runs diffrax's Dopri8; the
arithmetic is still prismcat's shared kernels.

jax is imported lazily. float64 needs ``jax_enable_x64``, which this backend switches on when it
first runs (a process-wide jax setting).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from prismcat.optional import missing
from prismcat.simulation import kernels as K
from prismcat.simulation.base import (
    Integrated,
    SimulationError,
    Simulator,
    blowup_threshold,
    divergence_message,
)
from prismcat.simulation.plan import FORMULATIONS, Prepared


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def _flow(prepared: Prepared, arrays: dict):
    """(rhs, losses, size) as functions of (state, arrays) for jit (arrays are traced inputs)."""
    import jax.numpy as jnp

    d, n, form = prepared.d, prepared.problem.n, prepared.formulation

    def diag(P):
        return jnp.diagonal(P, axis1=-2, axis2=-1)

    if form == "eigen-p":
        return (
            lambda P, a: K.p_rhs(P, a["L"], a["D"]),
            lambda P, a: K.p_losses(P, a["lam"], diag, d),
            lambda P, a: K.p_size(P, diag),
        )

    if form == "eigen-ak":

        def cat(x, y):
            return jnp.concatenate([x, y], axis=-2)

        return (
            lambda Y, a: K.ak_rhs(Y, a["lam"], n, cat),
            lambda Y, a: K.ak_losses(Y, a["lam"], n, a["trS"], d, diag),
            lambda Y, a: K.ak_size(Y, n, diag),
        )

    def apply(W, a):
        if form == "eigen-w":
            return K.apply_eigen(a["lam"])(W)
        if form == "covariance-w":
            return K.apply_covariance(a["S"])(W)
        return K.apply_data(a["X"], n)(W)

    return (
        lambda W, a: K.w_rhs(W, apply(W, a)),
        lambda W, a: K.w_losses(W, apply(W, a), a["trS"], d),
        lambda W, a: K.w_size(W),
    )


class JaxSimulator(Simulator):
    name = "jax"
    description = "JAX (CPU/GPU): jit-compiled Euler, RK4, diffrax Dopri8"
    formulations = FORMULATIONS
    cost_model = True

    def available(self) -> tuple[bool, str]:
        why = missing(("jax", "diffrax"))
        if why:
            return False, why
        jax = _jax()
        return True, f"jax {jax.__version__} on {jax.default_backend()}"

    def fingerprint(self) -> dict[str, str]:
        import diffrax
        import jaxlib

        jax = _jax()
        device = jax.devices()[0]
        return {
            "jax": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "diffrax": diffrax.__version__,
            "device": f"{device.platform}:{getattr(device, 'device_kind', '')}",
        }

    def integrate(self, prepared: Prepared) -> Integrated:
        jax = _jax()
        import jax.numpy as jnp

        dtype = jnp.float32 if prepared.problem.dtype == "float32" else jnp.float64
        arrays = {"trS": jnp.asarray(prepared.trS, dtype=dtype)}
        for key in ("lam", "S", "X"):
            value = getattr(prepared, key)
            if value is not None:
                arrays[key] = jnp.asarray(value, dtype=dtype)
        if prepared.formulation == "eigen-p":
            arrays["L"], arrays["D"] = K.p_constants(arrays["lam"], jnp.eye(prepared.d, dtype=dtype))
        rhs, losses, size = _flow(prepared, arrays)
        y0 = jnp.asarray(prepared.state0, dtype=dtype)
        if prepared.integrator.method == "adaptive":
            states, evals, steps = self._adaptive(jax, prepared, rhs, y0, arrays)
        else:
            states, evals, steps = self._fixed(jax, prepared, rhs, size, y0, arrays)
        curve = jax.jit(jax.vmap(losses, in_axes=(0, None)))(states, arrays)
        train = np.asarray(curve[0], dtype=float).T
        pop = np.asarray(curve[1], dtype=float).T
        return Integrated(train, pop, np.asarray(states[-1], dtype=float), evals=evals, steps=steps)

    @staticmethod
    def _fixed(jax, prepared, rhs, size, y0, arrays):
        import jax.numpy as jnp
        from jax import lax

        counts, hs = prepared.intervals()
        euler = prepared.integrator.method == "euler"
        limit = blowup_threshold(prepared)

        def step(y, h):
            return K.rk_step(lambda x: rhs(x, arrays), y, h, euler)

        @partial(jax.jit, static_argnums=())
        def advance(y, h, m):
            def body(i, carry):
                y, bad = carry
                y = step(y, h)
                s = size(y, arrays)
                broken = jnp.logical_or(~jnp.all(jnp.isfinite(s)), jnp.any(s > limit))
                bad = jnp.where(jnp.logical_and(broken, bad < 0), i, bad)
                return y, bad

            return lax.fori_loop(0, m, body, (y, jnp.array(-1)))

        y, t, states = y0, 0.0, []
        for m, h in zip(counts, hs, strict=True):
            y, bad = advance(y, jnp.asarray(h, dtype=y0.dtype), jnp.asarray(int(m)))
            bad = int(bad)
            if bad >= 0:
                t_bad = t + (bad + 1) * float(h)
                raise SimulationError(
                    divergence_message(
                        t_bad,
                        prepared.integrator.dt,
                        prepared.rate,
                        "non-finite or exploding weights",
                    ),
                    t_bad,
                    float(h),
                )
            t += float(m) * float(h)
            states.append(y)
        steps = int(counts.sum())
        return jnp.stack(states), steps * (1 if euler else 4), steps

    @staticmethod
    def _adaptive(jax, prepared, rhs, y0, arrays):
        import diffrax
        import jax.numpy as jnp

        c = prepared.log_clock
        times = prepared.times
        grid = np.log1p(c * times) if c else times

        def field(s, y, a):
            out = rhs(y, a)
            return out * ((jnp.expm1(s) + 1.0) / c) if c else out

        integ = prepared.integrator

        @jax.jit
        def solve(y0, a):
            return diffrax.diffeqsolve(
                diffrax.ODETerm(field),
                diffrax.Dopri8(),
                t0=0.0,
                t1=float(grid[-1]),
                dt0=None,
                y0=y0,
                args=a,
                saveat=diffrax.SaveAt(ts=jnp.asarray(grid, dtype=y0.dtype)),
                stepsize_controller=diffrax.PIDController(
                    rtol=integ.rtol, atol=integ.atol, step_ts=jnp.asarray(grid, dtype=y0.dtype)
                ),
                max_steps=min(integ.max_steps, 1_000_000),
                throw=False,
            )

        sol = solve(y0, arrays)
        if int(sol.result._value) != 0 or not bool(jnp.all(jnp.isfinite(sol.ys))):
            raise SimulationError(
                f"the adaptive integrator (diffrax Dopri8) failed: {diffrax.RESULTS[sol.result]}"
                if hasattr(diffrax, "RESULTS")
                else "the adaptive integrator (diffrax Dopri8) failed"
            )
        stats = sol.stats
        steps = int(stats.get("num_accepted_steps", 0))
        evals = int(stats.get("num_steps", steps)) * 12
        return sol.ys, evals, steps
