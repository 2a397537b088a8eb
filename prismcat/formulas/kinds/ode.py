"""ODE system: named state variables, right-hand sides (which may use spectral integrals of the
state), initial values and an output expression; solved with scipy's solve_ivp."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Literal

import numpy as np
from pydantic import Field
from scipy.integrate import solve_ivp

from prismcat.errors import EvaluationError
from prismcat.formulas.base import (
    CompiledIntegral,
    Expr,
    FieldError,
    FormulaContext,
    FormulaKind,
    FormulaSpec,
    IntegralSpec,
    Num,
    PreparedFormula,
    check_helpers,
    compile_at,
    compile_integral,
)
from prismcat.formulas.expr import Compiled

# Solutions shared by the formulas (train, population) that use the same system.
_SOLUTIONS: OrderedDict = OrderedDict()

Method = Literal["DOP853", "RK45", "Radau", "BDF", "LSODA"]


class OdeSpec(FormulaSpec):
    """d state/d clock = rhs, state(start) = initial; the curve is ``expression`` of the state."""

    kind: Literal["ode"]
    state: dict[str, Expr] = Field(description="State variables and their initial values.", min_length=1)
    rhs: dict[str, Expr] = Field(description="Right-hand side of each state variable.")
    integrals: dict[str, IntegralSpec] = Field(
        default_factory=dict, description="Named spectral integrals, usable in rhs and expression."
    )
    expression: Expr = Field(description="The limit curve as an expression of state, integrals, clock.")
    start: Expr = Field("0", description="Clock value where the initial values hold.")
    method: Method = "DOP853"
    rtol: Num = Field(1e-11, gt=0, lt=1)
    atol: Num = Field(1e-13, gt=0, lt=1)


class OdeSystem:
    """The compiled system shared by every output expression of one spec."""

    def __init__(self, spec: OdeSpec, ctx: FormulaContext):
        self.clock = ctx.clock
        self.names = list(spec.state)
        if set(spec.rhs) != set(spec.state):
            missing = [n for n in spec.state if n not in spec.rhs]
            extra = [n for n in spec.rhs if n not in spec.state]
            where = ("rhs", extra[0]) if extra else ("rhs",)
            what = f"no state variable '{extra[0]}'" if extra else f"missing rhs for {', '.join(missing)}"
            raise FieldError(where, what)
        dynamic = [self.clock, *self.names]
        base = ctx.scope(spec, extra=self.names)
        self.integrals: dict[str, CompiledIntegral] = {
            name: compile_integral(s, base, ("integrals", name), ctx.measures, dynamic=dynamic)
            for name, s in spec.integrals.items()
        }
        full = base.extend(list(self.integrals))
        init_scope = ctx.scope(spec, with_clock=False)
        self.initial = {n: compile_at(init_scope, spec.state[n], ("state", n)) for n in self.names}
        self.rhs = {n: compile_at(full, spec.rhs[n], ("rhs", n)) for n in self.names}
        self.start = compile_at(init_scope, spec.start, ("start",))
        self.full_scope = full
        check_helpers(full, spec)
        self.method, self.rtol, self.atol = spec.method, spec.rtol, spec.atol
        self.key = json.dumps(spec.model_dump(exclude={"expression"}), sort_keys=True)

    def _env(self, params: Mapping[str, float], quads: dict, t, y) -> dict:
        env = {**params, self.clock: t, **dict(zip(self.names, y, strict=True))}
        for name, integral in self.integrals.items():
            env[name] = integral.evaluate(env, quads[name])
        return env

    def solve(self, params: Mapping[str, float], times: np.ndarray) -> dict:
        """Environment (state and integrals as arrays over ``times``) of the solution."""
        quads = {n: i.quadrature(params) for n, i in self.integrals.items()}
        t0 = float(self.start(params))
        y0 = np.array([float(self.initial[n](params)) for n in self.names])
        if np.any(times < t0):
            raise EvaluationError(f"times before the start {self.clock} = {t0:g} of the ODE")

        def fun(t: float, y: np.ndarray) -> np.ndarray:
            env = self._env(params, quads, t, y)
            with np.errstate(all="ignore"):
                return np.array([float(self.rhs[n](env)) for n in self.names])

        grid = np.unique(times)
        if grid[-1] > t0:
            sol = solve_ivp(
                fun,
                (t0, grid[-1]),
                y0,
                method=self.method,
                t_eval=grid,
                rtol=self.rtol,
                atol=self.atol,
            )
            if sol.status != 0 or not np.all(np.isfinite(sol.y)):
                reached = sol.t[-1] if sol.t.size else t0
                raise EvaluationError(
                    f"ODE solver ({self.method}) failed near {self.clock} = {reached:.6g}: {sol.message}"
                )
            states = sol.y
        else:
            states = y0[:, None] * np.ones((1, grid.size))
        idx = np.searchsorted(grid, times)
        return self._env(params, quads, times, states[:, idx])


class OdeFormula(PreparedFormula):
    kind = "ode"

    def __init__(self, system: OdeSystem, expression: Compiled):
        self.system = system
        self.expression = expression

    def evaluate(self, params: Mapping[str, float], times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        key = (self.system.key, tuple(sorted(params.items())), times.tobytes())
        env = _SOLUTIONS.get(key)
        if env is None:
            env = self.system.solve(params, times)
            _SOLUTIONS[key] = env
            while len(_SOLUTIONS) > 32:
                _SOLUTIONS.popitem(last=False)
        return np.broadcast_to(self.expression(env), times.shape).astype(float, copy=True)


def prepare(spec: OdeSpec, ctx: FormulaContext) -> OdeFormula:
    system = OdeSystem(spec, ctx)
    return OdeFormula(system, compile_at(system.full_scope, spec.expression, ("expression",)))


KIND = FormulaKind("ode", OdeSpec, prepare, "An ODE system (solve_ivp), right-hand sides may hold integrals.")
