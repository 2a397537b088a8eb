"""ODE system: named state variables, right-hand sides (which may use spectral integrals of the
state), initial values and an output expression; solved by :mod:`prismcat.formulas.integrate`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field

from prismcat.errors import EvaluationError
from prismcat.formulas.base import (
    CompiledIntegral,
    Expr,
    FieldError,
    FormulaContext,
    FormulaKind,
    FormulaSpec,
    IntegralSpec,
    Name,
    Num,
    PreparedFormula,
    check_helpers,
    compile_at,
    compile_integral,
    full,
)
from prismcat.formulas.cache import SOLUTIONS
from prismcat.formulas.expr import Compiled, evaluating
from prismcat.formulas.integrate import SolverError, integrate
from prismcat.formulas.latex.entry import Eq

Method = Literal["DOP853", "RK45", "Radau", "BDF", "LSODA"]


class OdeSpec(FormulaSpec):
    """d state/d clock = rhs, state(start) = initial; the curve is ``expression`` of the state."""

    kind: Literal["ode"]
    state: dict[Name, Expr] = Field(description="State variables and their initial values.", min_length=1)
    rhs: dict[Name, Expr] = Field(description="Right-hand side of each state variable.")
    integrals: dict[Name, IntegralSpec] = Field(
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
            name: compile_integral(s, base, ("integrals", name), ctx.measures, dynamic, ctx.values)
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
        self.key = json.dumps(
            {
                "kind": "ode",
                **ctx.key(),
                "state": {n: self.initial[n].key for n in self.names},
                "rhs": {n: self.rhs[n].key for n in self.names},
                "integrals": {n: i.key for n, i in self.integrals.items()},
                "start": self.start.key,
                "solver": [self.method, self.rtol, self.atol],
            }
        )

    def _env(self, params: Mapping[str, float], quads: dict, t, y) -> dict:
        env = {**params, self.clock: t, **dict(zip(self.names, y, strict=True))}
        for name, integral in self.integrals.items():
            env[name] = integral.evaluate(env, quads[name])
        return env

    def solve(self, params: Mapping[str, float], times: np.ndarray) -> dict:
        """Environment (state and integrals as arrays over ``times``) of the solution."""
        static = {k: np.float64(v) for k, v in params.items()}
        quads = {n: i.quadrature(static) for n, i in self.integrals.items()}
        t0 = float(self.start(static))
        y0 = np.array([float(self.initial[n](static)) for n in self.names])
        if np.any(times < t0):
            raise EvaluationError(f"times before the start {self.clock} = {t0:g} of the ODE")
        grid = np.unique(times)
        try:
            with evaluating("the ODE right-hand side"):
                states = integrate(self._rhs(static, quads), t0, y0, grid, self.method, self.rtol, self.atol)
        except SolverError as exc:
            raise EvaluationError(
                f"ODE solver ({self.method}) failed near {self.clock} = {exc.t:.6g}: {exc.reason}"
            ) from None
        return self._env(static, quads, times.copy(), states[:, np.searchsorted(grid, times)])

    def _rhs(self, static: dict, quads: dict) -> Callable[[float, np.ndarray], np.ndarray]:
        """d state / d clock with the parameters and quadrature nodes folded in."""
        integrals = [
            (name, i.integrand.bind({**static, i.over: quads[name].nodes}).fn, quads[name].weights)
            for name, i in self.integrals.items()
        ]
        rhs = [self.rhs[n].bind(static).fn for n in self.names]
        names, clock = self.names, self.clock

        def fun(t: float, y: np.ndarray) -> np.ndarray:
            env = dict(zip(names, y, strict=True))
            env[clock] = np.float64(t)
            for name, integrand, weights in integrals:
                env[name] = weights @ full(integrand(env), weights.shape)
            return np.array([float(r(env)) for r in rhs])

        return fun


class OdeFormula(PreparedFormula):
    kind = "ode"

    def __init__(self, system: OdeSystem, expression: Compiled):
        self.system = system
        self.expression = expression

    def evaluate(self, params: Mapping[str, float], times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        env = SOLUTIONS.get(self.system.key, params, times, lambda: self.system.solve(params, times))
        return np.broadcast_to(self.expression(env), times.shape).astype(float, copy=True)


def prepare(spec: OdeSpec, ctx: FormulaContext) -> OdeFormula:
    system = OdeSystem(spec, ctx)
    return OdeFormula(system, compile_at(system.full_scope, spec.expression, ("expression",)))


def latex(p: Any, spec: OdeSpec) -> tuple[str, list[Eq]]:
    """The output, with the system: each state's equation and initial value, and the integrals."""
    clock = p.sym(p.clock)
    start = p.tex(spec.start)
    eqs = [Eq(r"\frac{d" + p.sym(n) + "}{d" + clock + "}", p.tex(spec.rhs[n])) for n in spec.state]
    eqs += [Eq(f"{p.sym(n)}({start})", p.tex(v)) for n, v in spec.state.items()]
    eqs += [Eq(p.sym(name), p.integral(i)) for name, i in spec.integrals.items()]
    return p.tex(spec.expression), eqs


KIND = FormulaKind(
    "ode", OdeSpec, prepare, "An ODE system (DOP853), right-hand sides may hold integrals.", latex=latex
)
