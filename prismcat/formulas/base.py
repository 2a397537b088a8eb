"""What every formula kind shares: the spec base model, the compile context, located field
errors, and named spectral integrals (used by the spectral-integral and ODE kinds)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from prismcat.errors import EvaluationError, ExpressionError, PathItem
from prismcat.formulas.expr import MAX_HELPERS, Compiled, HelperError, Scope
from prismcat.formulas.measures import Measure, Quadrature


def _number_to_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return value


Expr = Annotated[
    str,
    BeforeValidator(_number_to_text),
    Field(
        min_length=1, description="An expression of the safe expression language (at most 2000 characters)."
    ),
]


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value


# A name a formula introduces (a state, an integral, a family variable): an identifier
Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]

# Numbers in catalogue files: YAML's true/false are not numbers (pydantic would read them as 1/0).
Num = Annotated[float, BeforeValidator(_no_bool)]
Int = Annotated[int, BeforeValidator(_no_bool)]


class Spec(BaseModel):
    """Base of every catalogue model: unknown keys are errors, NaN/inf are rejected."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class FormulaSpec(Spec):
    """Base of a formula kind's spec; ``kind`` is the discriminator."""

    kind: str
    where: dict[str, Expr] = Field(
        default_factory=dict, max_length=MAX_HELPERS, description="Named helper expressions."
    )


class FieldError(ExpressionError):
    """An error at ``path`` inside a formula spec (``offset``: position inside that string)."""

    def __init__(self, path: Sequence[PathItem], message: str, offset: int | None = None):
        super().__init__(message, "", offset)
        self.path = tuple(path)


@dataclass(frozen=True)
class FormulaContext:
    """Names a formula may use: the entry's parameters, its clock variable and entry helpers.

    ``values`` (e.g. the entry's defaults), when given, are parameter values at which a kind
    checks, while preparing, what only values can show (split points inside the bounds)."""

    parameters: Sequence[str]
    clock: str = "t"
    helpers: Mapping[str, str] = field(default_factory=dict)
    measures: Mapping[str, MeasureKind] = field(default_factory=dict)
    values: Mapping[str, float] | None = None

    def key(self) -> dict[str, Any]:
        """What of the context, besides the compiled expressions, determines a formula's numbers."""
        return {"clock": self.clock, "parameters": list(self.parameters)}

    def scope(self, spec: FormulaSpec, extra: Sequence[str] = (), with_clock: bool = True) -> Scope:
        """The formula's scope: clock, parameters, ``extra`` variables and all helpers."""
        clash = set(spec.where) & set(self.helpers)
        if clash:
            name = sorted(clash)[0]
            raise FieldError(("where", name), f"helper '{name}' is already defined by the entry")
        names = [self.clock] if with_clock else []
        try:
            return Scope([*extra, *names, *self.parameters], {**self.helpers, **spec.where})
        except HelperError as exc:
            raise FieldError(("where", exc.helper), exc.message) from None


def compile_at(
    scope: Scope,
    text: str,
    path: Sequence[PathItem],
    helper_paths: Mapping[str, tuple] | None = None,
) -> Compiled:
    """Compile ``text``; errors become :class:`FieldError` at ``path`` (or at the helper)."""
    try:
        return scope.compile(text)
    except HelperError as exc:
        where = (helper_paths or {}).get(exc.helper, ("where", exc.helper))
        raise FieldError(where, exc.message, exc.offset) from None
    except ExpressionError as exc:
        raise FieldError(path, exc.message, exc.offset) from None


def check_helpers(scope: Scope, spec: FormulaSpec) -> None:
    """Compile every local helper once so unused-but-broken helpers are reported too."""
    for name in spec.where:
        try:
            scope.helper(name)
        except ExpressionError as exc:
            raise FieldError(("where", getattr(exc, "helper", name)), exc.message, exc.offset) from None


class PreparedFormula:
    """A compiled formula: ``evaluate(params, times)`` returns the limit curve at ``times``."""

    kind: str = ""

    def evaluate(self, params: Mapping[str, float], times: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class FormulaKind:
    """A kind of limit formula, registered through the ``register_formula_kinds`` hook."""

    name: str
    spec: type[FormulaSpec]
    prepare: Callable[[FormulaSpec, FormulaContext], PreparedFormula]
    description: str = ""
    has_limit: bool = True
    # how the limit reads in LaTeX: latex(printer, spec) -> (limit, equations), printed with a
    # prismcat.formulas.latex.EntryPrinter (None: the spec's ``expression``, else the kind's name)
    latex: Callable[[Any, Any], tuple[str, list[Any]]] | None = None


@dataclass(frozen=True)
class MeasureKind:
    """A named measure family (e.g. ``marchenko_pastur``) with its expression-valued arguments."""

    name: str
    arguments: tuple[str, ...]
    build: Callable[..., Measure]
    description: str = ""
    # how d mu(x) reads in LaTeX: latex(printer, arguments, variable) -> text (None: generic)
    latex: Callable[[Any, Any, str], str | None] | None = None


# -- named spectral integrals --------------------------------------------------------------
MeasureRef = dict[str, dict[str, Expr]]


class IntegralSpec(Spec):
    """Int integrand d mu(over), optionally restricted to [lower, upper] and split at points."""

    measure: MeasureRef = Field(
        description="One measure: {marchenko_pastur: {ratio: 1 / alpha}} or {point_mass: {at: 1}}."
    )
    over: Name = Field("lam", description="Name of the integration variable.")
    integrand: Expr
    lower: Expr | None = Field(None, description="Lower limit of the continuous part.")
    upper: Expr | None = Field(None, description="Upper limit of the continuous part.")
    split: list[Expr] = Field(default_factory=list, description="Extra quadrature breakpoints (jumps).")
    atom: Literal["include", "exclude"] = Field(
        "include", description="Whether atoms (MP's mass at 0) count when inside the limits."
    )


@dataclass
class CompiledIntegral:
    """A spectral integral whose measure arguments, limits and integrand are compiled."""

    measure: MeasureKind
    arguments: dict[str, Compiled]
    over: str
    integrand: Compiled
    lower: Compiled | None
    upper: Compiled | None
    split: list[Compiled]
    include_atoms: bool

    @property
    def key(self) -> str:
        """Canonical text of everything that determines the integral's value."""
        return json.dumps(
            {
                "measure": self.measure.name,
                "arguments": {k: c.key for k, c in self.arguments.items()},
                "over": self.over,
                "integrand": self.integrand.key,
                "lower": None if self.lower is None else self.lower.key,
                "upper": None if self.upper is None else self.upper.key,
                "split": [c.key for c in self.split],
                "atoms": self.include_atoms,
            },
            sort_keys=True,
        )

    def quadrature(self, env: Mapping[str, Any]) -> Quadrature:
        """The quadrature rule at parameter values ``env`` (limits must be scalars here)."""
        args = {k: _scalar(c(env), f"measure argument '{k}'") for k, c in self.arguments.items()}
        measure = self.measure.build(**args)
        lo = None if self.lower is None else _scalar(self.lower(env), "lower limit")
        hi = None if self.upper is None else _scalar(self.upper(env), "upper limit")
        points = [_scalar(s(env), "split point") for s in self.split]
        bad = _outside(points, lo, hi)
        if bad is not None:
            text = self.split[bad].text
            raise EvaluationError(f"split point {bad} ('{text}') = {_outside_message(points[bad], lo, hi)}")
        edges = [lo, *sorted(points), hi]
        pieces = []
        for i in range(len(edges) - 1):
            a, b = edges[i], edges[i + 1]
            if a is not None and b is not None and b <= a:
                continue
            # Atoms belong to the piece that contains them exactly once: to the first piece
            # whose closed range holds them, and pieces after a split start just above it.
            piece = measure.quadrature(a, b, include_atoms=self.include_atoms and i == _atom_piece(edges))
            pieces.append(piece)
        nodes = np.concatenate([p.nodes for p in pieces]) if pieces else np.empty(0)
        weights = np.concatenate([p.weights for p in pieces]) if pieces else np.empty(0)
        return Quadrature(nodes, weights)

    def check_split(self, values: Mapping[str, float] | None, path: Sequence[PathItem]) -> None:
        """Raise a :class:`FieldError` at the first split point outside [lower, upper], for the
        points and limits that are constant or depend on ``values`` only."""
        env = {k: np.float64(v) for k, v in (values or {}).items()}
        lo, hi = (_known(c, env) for c in (self.lower, self.upper))
        points = [np.nan if p is None else p for p in (_known(c, env) for c in self.split)]
        bad = _outside(points, lo, hi)  # an unknown (nan) point is never outside
        if bad is not None:
            raise FieldError((*path, "split", bad), f"split point {_outside_message(points[bad], lo, hi)}")

    def evaluate(self, env: Mapping[str, Any], quad: Quadrature | None = None) -> np.ndarray:
        """Integral value, broadcast over the shape of the non-integration variables in ``env``."""
        quad = quad or self.quadrature(env)
        extra = max((np.ndim(v) for v in env.values()), default=0)
        lam = quad.nodes.reshape(quad.nodes.shape + (1,) * extra)
        values = self.integrand({**env, self.over: lam})
        values = np.broadcast_to(values, np.broadcast_shapes(np.shape(values), lam.shape))
        return quad.integrate(values)


def _known(compiled: Compiled | None, env: Mapping[str, Any]) -> float | None:
    """The scalar value of ``compiled`` if ``env`` holds all its variables and it evaluates."""
    if compiled is None or not compiled.variables <= env.keys():
        return None
    try:
        return _scalar(compiled(env), "limit")
    except EvaluationError:
        return None  # reported where the formula is evaluated


def _outside(points: Sequence[float], lo: float | None, hi: float | None) -> int | None:
    """Index of the first point below ``lo`` or above ``hi`` (a missing limit bounds nothing)."""
    for i, p in enumerate(points):
        if (lo is not None and p < lo) or (hi is not None and p > hi):
            return i
    return None


def _outside_message(point: float, lo: float | None, hi: float | None) -> str:
    if lo is not None and point < lo:
        side = f"below the lower limit {lo:.6g}"
    else:
        side = f"above the upper limit {hi:.6g}"
    return f"{point:.6g} lies {side}: split points must lie within [lower, upper], they never widen it"


def _atom_piece(edges: list[float | None]) -> int:
    """Index of the piece whose range contains 0 (where MP's atom lives)."""
    for i in range(len(edges) - 1):
        a, b = edges[i], edges[i + 1]
        if (a is None or a <= 0.0) and (b is None or b >= 0.0):
            return i
    return -1


def full(values: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` broadcast to ``shape`` (itself when it has that shape already: solver loops)."""
    return values if np.shape(values) == shape else np.broadcast_to(values, shape)


def _scalar(value: Any, what: str) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise EvaluationError(f"{what} must not depend on time or on the integration variable")
    return float(np.real(arr.reshape(-1)[0]))


def compile_integral(
    spec: IntegralSpec,
    scope: Scope,
    path: Sequence[PathItem],
    measures: Mapping[str, MeasureKind],
    dynamic: Sequence[str] = (),
    values: Mapping[str, float] | None = None,
) -> CompiledIntegral:
    """Compile one :class:`IntegralSpec`; errors are located under ``path``.

    ``dynamic`` names (time, ODE state) may appear in the integrand but not in the measure's
    arguments, the limits or the split points, which fix the quadrature rule. Split points
    outside [lower, upper] are errors at their item when constant or computable from ``values``.
    """
    path = tuple(path)
    if len(spec.measure) != 1:
        raise FieldError(
            (*path, "measure"),
            "give exactly one measure, e.g. {marchenko_pastur: {ratio: 1 / alpha}}",
        )
    ((mname, margs),) = spec.measure.items()
    kind = measures.get(mname)
    if kind is None:
        known = ", ".join(sorted(measures))
        raise FieldError((*path, "measure", mname), f"unknown measure '{mname}' (known: {known})")
    missing = [a for a in kind.arguments if a not in margs]
    extra = [a for a in margs if a not in kind.arguments]
    if missing or extra:
        bad = extra[0] if extra else None
        msg = (
            f"unknown argument '{bad}' of {mname} (allowed: {', '.join(kind.arguments)})"
            if bad
            else f"{mname} needs argument(s): {', '.join(missing)}"
        )
        raise FieldError((*path, "measure", mname, *([bad] if bad else [])), msg)
    if spec.over in scope.variables or spec.over in scope.helpers:
        raise FieldError((*path, "over"), f"integration variable '{spec.over}' clashes with an existing name")

    def static(text: str, where: tuple) -> Compiled:
        compiled = compile_at(scope, text, where)
        moving = sorted(set(compiled.variables) & set(dynamic))
        if moving:
            raise FieldError(where, f"must not depend on {', '.join(moving)} (it fixes the quadrature rule)")
        return compiled

    args = {a: static(margs[a], (*path, "measure", mname, a)) for a in kind.arguments}
    inner = scope.extend([spec.over])
    limits = {
        key: None if getattr(spec, key) is None else static(getattr(spec, key), (*path, key))
        for key in ("lower", "upper")
    }
    split = [static(s, (*path, "split", i)) for i, s in enumerate(spec.split)]
    integral = CompiledIntegral(
        measure=kind,
        arguments=args,
        over=spec.over,
        integrand=compile_at(inner, spec.integrand, (*path, "integrand")),
        lower=limits["lower"],
        upper=limits["upper"],
        split=split,
        include_atoms=spec.atom == "include",
    )
    integral.check_split(values, path)
    return integral


def require_finite(
    values: np.ndarray, what: str, times: np.ndarray | None = None, clock: str = "t"
) -> np.ndarray:
    """Raise :class:`EvaluationError` naming the first time where ``values`` is not finite."""
    values = np.asarray(values)
    bad = ~np.isfinite(values)
    if np.any(bad):
        idx = int(np.argmax(bad.reshape(-1)))
        where = ""
        if times is not None and np.size(times) == values.size:
            where = f" at {clock} = {np.asarray(times).reshape(-1)[idx]:.6g}"
        raise EvaluationError(f"{what} is not finite ({values.reshape(-1)[idx]}){where}")
    return values
