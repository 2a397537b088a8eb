"""A family of ODEs over a contour or spectral variable, coupled through integrals of the family.

One member ODE d G(s)/d clock = rhs(s, G(s), couplings, scalars) per point s of the domain; the
couplings are integrals of the family over the domain: for a contour (an ellipse around a real
interval) c = Re (1/2 pi i) oint f(s, G(s)) ds by the trapezoid rule (exponentially accurate for
analytic G), for a measure c = Int f(s, G(s)) d mu(s). Optional scalar states accumulate integrals
in time. This is how the small-data face's moment hierarchy is closed exactly (Riccati family).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from prismcat.errors import EvaluationError
from prismcat.formulas.base import (
    Expr,
    FieldError,
    FormulaContext,
    FormulaKind,
    FormulaSpec,
    Int,
    IntegralSpec,
    MeasureRef,
    Name,
    Num,
    PreparedFormula,
    Spec,
    check_helpers,
    compile_at,
    compile_integral,
    full,
)
from prismcat.formulas.cache import SOLUTIONS
from prismcat.formulas.dag import commutes_with_conjugation
from prismcat.formulas.expr import evaluating
from prismcat.formulas.integrate import SolverError, integrate
from prismcat.formulas.kinds.ode import Method
from prismcat.formulas.latex.entry import Eq


class ContourSpec(Spec):
    """An ellipse with foci at ``around``; its leftmost point is ``margin`` left of the interval."""

    around: tuple[Expr, Expr]
    margin: Expr = "0.5"
    nodes: Int | None = Field(None, ge=16, le=4096, description="Trapezoid nodes (default from the ellipse).")


class DomainSpec(Spec):
    """Exactly one of: a contour in the complex plane, or a spectral measure."""

    contour: ContourSpec | None = None
    measure: MeasureRef | None = None

    @model_validator(mode="after")
    def _one(self) -> DomainSpec:
        if (self.contour is None) == (self.measure is None):
            raise ValueError("give exactly one of 'contour' or 'measure'")
        return self


class ScalarSpec(Spec):
    initial: Expr
    rhs: Expr


class OdeFamilySpec(FormulaSpec):
    """d member(over)/d clock = rhs; couplings integrate the family; scalars accumulate."""

    kind: Literal["ode_family"]
    over: Name = Field("s", description="The family variable.")
    member: Name = Field("G", description="Name of one member's state.")
    domain: DomainSpec
    initial: Expr = Field(description="Initial member value as an expression of the family variable.")
    rhs: Expr
    couplings: dict[Name, Expr] = Field(description="name: integrand f(over, member); value = its integral.")
    scalars: dict[Name, ScalarSpec] = Field(default_factory=dict)
    expression: Expr
    method: Method = "DOP853"
    rtol: Num = Field(1e-10, gt=0, lt=1)
    atol: Num = Field(1e-13, gt=0, lt=1)


def ellipse(lo: float, hi: float, margin: float, nodes: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoid nodes s_m and weights w_m with sum w_m f(s_m) ~ (1/2 pi i) oint f ds."""
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo and margin > 0):
        raise EvaluationError(f"bad contour: around [{lo}, {hi}] with margin {margin}")
    centre, radius = 0.5 * (lo + hi), 0.5 * (hi - lo)
    eta = min(0.6, math.acosh(1.0 + margin / radius))
    n = nodes or max(64, 4 * math.ceil(40.0 / eta / 4))
    z = eta + 1j * 2 * np.pi * (np.arange(n) + 0.5) / n
    return centre + radius * np.cosh(z), radius * np.sinh(z) / n


class OdeFamily(PreparedFormula):
    kind = "ode_family"

    def __init__(self, spec: OdeFamilySpec, ctx: FormulaContext):
        self.spec, self.clock = spec, ctx.clock
        self.couplings = list(spec.couplings)
        self.scalars = list(spec.scalars)
        names = [spec.over, spec.member, *self.couplings, *self.scalars]
        if len(set(names)) != len(names):
            raise FieldError(
                ("couplings",), "family variable, member, couplings and scalars need distinct names"
            )
        global_names = [*self.couplings, *self.scalars]
        static = ctx.scope(spec, with_clock=False)
        member_scope = ctx.scope(spec, extra=[spec.over, spec.member, *global_names])
        coupling_scope = ctx.scope(spec, extra=[spec.over, spec.member, *self.scalars])
        top = ctx.scope(spec, extra=global_names)
        self.initial = compile_at(static.extend([spec.over]), spec.initial, ("initial",))
        self.rhs = compile_at(member_scope, spec.rhs, ("rhs",))
        self.coupling_fns = {
            c: compile_at(coupling_scope, f, ("couplings", c)) for c, f in spec.couplings.items()
        }
        self.scalar_init = {
            k: compile_at(static, s.initial, ("scalars", k, "initial")) for k, s in spec.scalars.items()
        }
        self.scalar_rhs = {k: compile_at(top, s.rhs, ("scalars", k, "rhs")) for k, s in spec.scalars.items()}
        self.expression = compile_at(top, spec.expression, ("expression",))
        domain = spec.domain
        if domain.contour is not None:
            c = domain.contour
            self.contour = [
                compile_at(static, x, ("domain", "contour", "around", i)) for i, x in enumerate(c.around)
            ]
            self.margin = compile_at(static, c.margin, ("domain", "contour", "margin"))
            self.measure = None
        else:
            self.contour = None
            probe = IntegralSpec(measure=domain.measure, integrand="0")
            self.measure = compile_integral(probe, static, ("domain",), ctx.measures)
        check_helpers(member_scope, spec)
        self.key = self._key(ctx)
        family = frozenset([spec.over, spec.member])
        self.real_family = all(
            commutes_with_conjugation(c, family)
            for c in [self.initial, self.rhs, *self.coupling_fns.values()]
        )

    def _key(self, ctx: FormulaContext) -> str:
        """Canonical text of what determines the family's states (not the output expression)."""
        spec = self.spec
        domain = (
            {"measure": self.measure.key}
            if self.measure is not None
            else {
                "contour": [c.key for c in self.contour],
                "margin": self.margin.key,
                "nodes": spec.domain.contour.nodes,
            }
        )
        return json.dumps(
            {
                "kind": "ode_family",
                **ctx.key(),
                "names": [spec.over, spec.member],
                "domain": domain,
                "initial": self.initial.key,
                "rhs": self.rhs.key,
                "couplings": {c: f.key for c, f in self.coupling_fns.items()},
                "scalars": {k: [self.scalar_init[k].key, self.scalar_rhs[k].key] for k in self.scalars},
                "solver": [spec.method, spec.rtol, spec.atol],
            }
        )

    def _domain(self, params: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray, bool, int]:
        """Nodes, weights, whether a contour, and how many members one node stands for. A real
        family (every member equation commutes with conjugation, so G(conj s) = conj G(s)) on a
        contour keeps the upper half: Re sum w f over conjugate pairs is 2 Re of the sum over
        one of each, and DOP853 counts each member twice, so it takes the same steps."""
        if self.contour is None:
            quad = self.measure.quadrature(params)
            return quad.nodes, quad.weights, False, 1
        lo, hi = (float(np.real(c(params))) for c in self.contour)
        s, w = ellipse(lo, hi, float(self.margin(params)), self.spec.domain.contour.nodes)
        if self.real_family and self.spec.method == "DOP853" and s.size % 2 == 0:
            half = s.size // 2  # node m and node n - 1 - m are conjugates, m < n/2 above the axis
            return s[:half], 2 * w[:half], True, 2
        return s, w, True, 1

    def _couple(self, env: dict, s: np.ndarray, w: np.ndarray, member: np.ndarray, contour: bool) -> dict:
        out = {}
        shape = (-1,) + (1,) * (member.ndim - 1)
        for name, fn in self.coupling_fns.items():
            vals = np.broadcast_to(
                fn({**env, self.spec.over: s.reshape(shape), self.spec.member: member}),
                member.shape,
            )
            total = np.tensordot(w, vals, axes=(0, 0))
            out[name] = np.real(total) if contour else total
        return out

    def evaluate(self, params: Mapping[str, float], times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        env = SOLUTIONS.get(self.key, params, times, lambda: self.solve(params, times))
        with np.errstate(all="ignore"):
            values = np.real(self.expression(env))
        return np.broadcast_to(values, times.shape).astype(float, copy=True)

    def solve(self, params: Mapping[str, float], times: np.ndarray) -> dict:
        """Scalars and couplings as arrays over ``times`` (what the output expression reads)."""
        static = {k: np.float64(v) for k, v in params.items()}
        s, w, contour, pairs = self._domain(static)
        g0 = full(np.asarray(self.initial({**static, self.spec.over: s}), dtype=complex), s.shape)
        y0 = np.concatenate([g0, [complex(self.scalar_init[k](static)) for k in self.scalars]])
        grid = np.unique(times)
        if grid[0] < 0:
            raise EvaluationError(f"{self.clock} must be >= 0 for an ODE family")
        try:
            with evaluating("the ODE family's right-hand side"):
                fun = self._rhs(static, s, w, contour)
                counts = np.concatenate([np.full(s.size, float(pairs)), np.ones(len(self.scalars))])
                ys = integrate(fun, 0.0, y0, grid, self.spec.method, self.spec.rtol, self.spec.atol, counts)
        except SolverError as exc:
            raise EvaluationError(
                f"ODE family solver failed near {self.clock} = {exc.t:.6g}: {exc.reason}"
            ) from None
        ys = ys[:, np.searchsorted(grid, times)]
        n = s.size
        env = {**static, self.clock: times.copy(), **dict(zip(self.scalars, np.real(ys[n:]), strict=True))}
        env.update(self._couple(env, s, w, ys[:n], contour))
        return env

    def _rhs(self, static: dict, s: np.ndarray, w: np.ndarray, contour: bool) -> Callable:
        """d (members, scalars) / d clock with the parameters and the domain folded in."""
        over, member, clock, scalars = self.spec.over, self.spec.member, self.clock, self.scalars
        local = {**static, over: s}
        couplings = [(name, fn.bind(local).fn) for name, fn in self.coupling_fns.items()]
        rhs = self.rhs.bind(local).fn
        scalar_rhs = [self.scalar_rhs[k].bind(static).fn for k in scalars]
        n = s.size

        def fun(t: float, y: np.ndarray) -> np.ndarray:
            env = {clock: np.float64(t), member: y[:n], **dict(zip(scalars, y[n:].real, strict=True))}
            for name, fn in couplings:
                total = w @ full(fn(env), w.shape)
                env[name] = total.real if contour else total
            dg = full(rhs(env), w.shape)
            if not scalars:
                return dg.astype(complex, copy=False)
            return np.concatenate([dg, [complex(f(env)) for f in scalar_rhs]])

        return fun


def prepare(spec: OdeFamilySpec, ctx: FormulaContext) -> OdeFamily:
    return OdeFamily(spec, ctx)


def latex(p: Any, spec: OdeFamilySpec) -> tuple[str, list[Eq]]:
    """The output, with the family's equation and initial value, the couplings (contour or
    measure integrals), the scalars, and the contour."""
    clock, over, member = p.sym(p.clock), p.sym(spec.over), p.sym(spec.member)
    eqs = [
        Eq(r"\frac{\partial " + member + r"}{\partial " + clock + "}", p.tex(spec.rhs)),
        Eq(f"{member}({over}, 0)", p.tex(spec.initial)),
    ]
    contour = spec.domain.contour
    for name, f in spec.couplings.items():
        if contour is not None:
            value = r"\operatorname{Re} \frac{1}{2 \pi i} \oint_{\Gamma} " + p.integrand(f) + r" \, d" + over
        else:
            dmu, _ = p.measure(spec.domain.measure, spec.over)
            value = r"\int " + p.integrand(f) + r" \, " + dmu
        eqs.append(Eq(p.sym(name), value))
    for name, scalar in spec.scalars.items():
        eqs.append(Eq(r"\frac{d" + p.sym(name) + "}{d" + clock + "}", p.tex(scalar.rhs)))
        eqs.append(Eq(f"{p.sym(name)}(0)", p.tex(scalar.initial)))
    if contour is not None:
        lo, hi = contour.around
        through = p.tex(f"({lo}) - ({contour.margin})")
        eqs.append(
            Eq(
                r"\Gamma",
                rf"\text{{ellipse with foci }} {p.tex(lo)} \text{{ and }} {p.tex(hi)}"
                rf"\text{{, through }} {through}",
                ":",
            )
        )
    return p.tex(spec.expression), eqs


KIND = FormulaKind(
    "ode_family",
    OdeFamilySpec,
    prepare,
    "A family of ODEs over a contour or spectral variable coupled through integrals of the family.",
    latex=latex,
)
