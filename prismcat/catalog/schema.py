"""The catalogue entry schema (pydantic v2; unknown keys are errors).

Formula specs come from the registered formula kinds, so the entry model is built from the kind
registry (a tagged union discriminated by ``kind``); ``prismcat schema`` prints its JSON Schema.
"""

import itertools
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, Discriminator, Field, Tag, create_model, field_validator, model_validator

from prismcat.formulas.base import Expr, FormulaKind, Int, Num, Spec
from prismcat.formulas.expr import MAX_HELPERS
from prismcat.settings import DEFAULT_FAMILY, ProfileName
from prismcat.text import Prose

ID_PATTERN = r"^[a-z0-9][a-z0-9+\-]*$"
# ids that name the site's own pages (entries/<id>.md sits beside entries/index.md)
RESERVED_IDS = frozenset({"index"})
RESERVED = frozenset({"t", "N", "pi"})  # plus the family's sizes and observables (see the loader)

Exponent = Annotated[Num, Field(ge=-100, le=100, description="Exponent of N (size ~ N**exponent).")]


Scaling = Annotated[
    dict[str, Exponent],
    Field(description="How each size of the entry's model family grows with N: size ~ N**exponent."),
]


class Parameter(Spec):
    """A ratio held fixed along the limit: a range the formula claims (validation spreads its points
    over it), or one fixed ``value`` (e.g. ``gamma: {definition: k / d, value: 2}``)."""

    definition: Expr = Field(description="A monomial in the family's sizes, e.g. k / d.")
    default: Num | None = Field(None, description="The value used when none is given (default: value).")
    range: tuple[Num, Num] | None = Field(
        None, description="Allowed values [low, high] of the limit formula."
    )
    value: Num | None = Field(None, description="A fixed value: the formula is claimed at this value only.")
    description: Prose | None = None

    @model_validator(mode="before")
    @classmethod
    def _fixed(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("value") is not None:
            clash = [k for k in ("default", "range") if data.get(k) is not None]
            if clash:
                raise ValueError(f"a fixed value excludes {' and '.join(clash)}")
            return {**data, "default": data["value"], "range": (data["value"], data["value"])}
        return data

    @model_validator(mode="after")
    def _default_in_range(self) -> "Parameter":
        if self.range is None or self.default is None:
            raise ValueError("give a default and a range, or a fixed value")
        lo, hi = self.range
        if self.value is None and not lo < hi:
            raise ValueError(f"range must be [low, high] with low < high, got [{lo}, {hi}]")
        if not lo <= self.default <= hi:
            raise ValueError(f"default {self.default} lies outside range [{lo}, {hi}]")
        return self

    @property
    def fixed(self) -> bool:
        return self.value is not None


class Clock(Spec):
    """The limit's time variable: its name in formulas and its definition from model time t."""

    name: str = Field("t", pattern=r"^[A-Za-z][A-Za-z0-9]*$")
    definition: Expr = Field("t", description="Affine in model time t, e.g. t / alpha.")


class AbsentLoss(Spec):
    """A loss with no clean limit on this clock; ``absent`` states why."""

    absent: Prose = Field(min_length=1)


class PerLoss(Spec):
    """Different small quantities for the two losses (e.g. a deterministic 1/N train error and a
    1/sqrt(d k) population spread)."""

    train: Expr
    population: Expr


def _next_exceeds_rate(spec):
    """A next-order exponent must exceed the leading one."""
    if spec.next is not None and not spec.next > spec.rate:
        raise ValueError(f"next ({spec.next:g}) must exceed rate ({spec.rate:g})")
    return spec


class MeanCorrection(Spec):
    """How the seed-mean curve approaches the limit, where it differs from a single run's error
    (e.g. a run's error is its 1/sqrt(d k) spread, the mean's only the O(k/d) bias)."""

    in_: Expr = Field(alias="in", description="The small quantity of the seed-mean's bias.")
    rate: Num = Field(1, gt=0, le=10)
    next: Num | None = Field(None, gt=0, le=10, description="A next-order exponent in the same quantity.")
    note: Prose | None = None

    @model_validator(mode="after")
    def _orders(self):
        return _next_exceeds_rate(self)


class Convergence(Spec):
    """Expected approach to the limit: error ~ C * eps**rate with eps = ``in``."""

    rate: Num = Field(gt=0, le=10)
    in_: Expr | PerLoss = Field(
        alias="in", description="The small quantity eps, an expression of sizes and parameters."
    )
    next: Num | None = Field(
        None,
        gt=0,
        le=10,
        description="Exponent of the next-order correction in the same eps, fitted along with the "
        "leading one by the extrapolation (needs one more rung).",
    )
    mean: MeanCorrection | None = Field(
        None,
        description="The seed-mean's own expansion, used by the infinite-size extrapolation "
        "(default: in, rate and next above).",
    )
    note: Prose | None = None

    @model_validator(mode="after")
    def _orders(self):
        return _next_exceeds_rate(self)


class Tolerance(Spec):
    """Allowed distance to the limit at the largest size, as a fraction of the quantity's scale."""

    train: Num = Field(gt=0, le=10)
    population: Num | None = Field(None, gt=0, le=10)


class Scale(Spec):
    """The size of each quantity over the window, which relative errors are fractions of
    (default: sup |limit|; declare it for a quantity that crosses or nears zero)."""

    train: Num | None = Field(None, gt=0)
    population: Num | None = Field(None, gt=0)


class Achievable(Spec):
    """The resolution an entry can reach, where it cannot meet the default targets in any sensible
    budget; validation checks that this run reaches it."""

    quick: Num | None = Field(None, gt=0, le=1, description="Relative formula error resolved (quick).")
    thorough: Num | None = Field(None, gt=0, le=1, description="Relative formula error resolved (thorough).")
    rate: Num | None = Field(None, gt=0, le=10, description="Error in the convergence rate resolved.")
    extrapolate: bool = Field(
        True,
        description="false: the ladder cannot support an infinite-size extrapolation or a rate at all "
        "(e.g. a 1/ln a approach); those checks are skipped, saying why, and the other checks judge.",
    )
    reason: Prose = Field(min_length=10, description="Why the default targets are out of reach.")


Statistic = Literal["mean_curve", "mean_error"]


class Profile(Spec):
    """Overrides of the validation settings for a named profile (quick, thorough)."""

    ladder: list[Num] | None = Field(None, min_length=2)
    base: dict[str, Num] | None = None
    seeds: Int | None = Field(None, ge=1, le=256)
    tolerance: Tolerance | None = None
    points: Int | None = Field(None, ge=2, le=2001)


class Validation(Spec):
    """Overrides of the designed experiment (see :mod:`prismcat.validation.design_rule`): every field
    left out is chosen by the design from the entry's own formula, scaling and convergence claim."""

    ladder: list[Num] | None = Field(
        None, min_length=2, description="Values of N; sizes follow the scaling exponents (default: designed)."
    )
    base: dict[str, Num] = Field(
        default_factory=dict,
        description="Prefactors of sizes not fixed by the ratios (size = base * N**e; default 1).",
    )
    parameters: dict[str, float] = Field(
        default_factory=dict,
        description="Pin the one parameter point to validate at (default: points designed over the ranges).",
    )
    seeds: Int | None = Field(
        None, ge=1, le=256, description="Seeds per rung (default: designed from a pilot's noise)."
    )
    start: Num | None = Field(
        None, ge=0, description="Window start, in the entry's clock (default: designed)."
    )
    horizon: Num | None = Field(
        None, gt=0, description="Window end, in the entry's clock (default: designed)."
    )
    points: Int = Field(31, ge=2, le=2001)
    statistic: Statistic = Field(
        "mean_error",
        description="mean_curve: sup over time of |seed-mean curve - limit|; "
        "mean_error: mean over seeds of sup over time of |curve - limit|.",
    )
    tolerance: Tolerance | None = Field(
        None,
        description="A distance to the limit at the largest size (default: none; the extrapolation judges).",
    )
    scale: Scale = Field(default_factory=Scale)
    resolution: Achievable | None = None
    nested: bool = Field(
        False,
        description="Common random numbers: every size's data are sub-blocks of the largest size's "
        "draw (same seed), so successive sizes differ by their systematic change, not by noise.",
    )
    integrator: Literal["adaptive", "rk4", "euler"] = "adaptive"
    dt: Num | None = Field(
        None, gt=0, description="Step of the rk4 or euler integrator, on the entry's clock."
    )
    profiles: dict[ProfileName, Profile] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _window(self) -> "Validation":
        if self.horizon is not None and not self.horizon > (self.start or 0.0):
            raise ValueError(f"horizon {self.horizon} must exceed start {self.start}")
        if self.ladder is not None and any(not v > 0 for v in self.ladder):
            raise ValueError("ladder values must be positive")
        return self

    @field_validator("ladder")
    @classmethod
    def _increasing(cls, ladder: list[float] | None) -> list[float] | None:
        if ladder is not None and any(b <= a for a, b in itertools.pairwise(ladder)):
            raise ValueError("ladder must be strictly increasing")
        return ladder


class Approach(Spec):
    """A variable pushed to its extreme: its values in order, and the small quantity it makes."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    values: list[Num] = Field(min_length=2)
    small: Expr = Field(description="The quantity that tends to 0 along the values, e.g. 1 / A.")


class Relation(Spec):
    """This entry as a limit of a higher-dimensional neighbour (an edge of a face, a vertex of an
    edge): the neighbour's formula, evaluated at ``parameters`` while ``approach`` goes to its
    extreme and transformed by ``train``/``population`` (with F its value, F0 its value at clock
    0), must converge to this entry's formula on this entry's validation window."""

    entry: str = Field(description="Id of the neighbouring entry (or, with exact: true, any entry).")
    parameters: dict[str, Expr] = Field(description="The neighbour's parameters from ours and the approach.")
    approach: Approach | None = Field(
        None, description="The variable pushed to its extreme (omit for an exact relation)."
    )
    exact: bool = Field(
        False,
        description="The two entries are the same curve under the parameter map (no approach): "
        "checked to round-off on a grid of parameter values, across model families too.",
    )
    train: Expr = "F"
    population: Expr | None = "F"
    clock: Expr | None = Field(
        None, description="The neighbour's clock as an expression of ours (default: the same)."
    )
    rate: Num | None = Field(
        None, gt=0, description="Expected rate in 'small' (see policy.RELATION_RATE_SLACK)."
    )
    tolerance: Num = Field(gt=0, description="Allowed distance at the last approach value.")
    grid: dict[str, list[Num]] = Field(
        default_factory=dict,
        description="exact relations: values of our parameters to check at (default: the validation point).",
    )
    note: Prose | None = None

    @model_validator(mode="after")
    def _approach_or_exact(self) -> "Relation":
        if self.exact == (self.approach is not None):
            raise ValueError("a relation has an approach, or is exact: true (not both, not neither)")
        if self.grid and not self.exact:
            raise ValueError("grid is for exact relations (an approach checks along its values)")
        return self


def _not_reserved(entry_id: str) -> str:
    if entry_id in RESERVED_IDS:
        raise ValueError(f"'{entry_id}' is reserved (it names a page of the site); choose another id")
    return entry_id


def _formula_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("kind")
        return kind if isinstance(kind, str) else None
    return getattr(value, "kind", None)


def _population_tag(value: Any) -> str:
    if isinstance(value, dict):
        return "absent" if "absent" in value else "loss"
    return "absent" if isinstance(value, AbsentLoss) else "loss"


def build_entry_model(kinds: dict[str, FormulaKind]) -> type[Spec]:
    """The entry model for the registered formula kinds."""
    members = tuple(Annotated[k.spec, Tag(name)] for name, k in kinds.items())
    formula_type = Annotated[
        Union[members],  # noqa: UP007 - a runtime-built tuple of members
        Discriminator(
            _formula_tag,
            custom_error_type="unknown_formula_kind",
            custom_error_message=f"'kind' must be one of: {', '.join(kinds)}",
        ),
    ]
    loss = create_model(
        "Loss",
        __base__=Spec,
        __doc__="A normalised loss quantity and its limit formula.",
        quantity=(Expr, Field(description="Normalised finite-size quantity, e.g. L_train / d.")),
        formula=(formula_type, ...),
        description=(Prose | None, None),
    )
    population = Annotated[
        Annotated[loss, Tag("loss")] | Annotated[AbsentLoss, Tag("absent")],
        Discriminator(_population_tag),
    ]
    losses = create_model(
        "Losses",
        __base__=Spec,
        train=(loss, ...),
        population=(
            population | None,
            Field(None, description="Omitted only where the family has no population loss."),
        ),
    )
    return create_model(
        "Entry",
        __base__=Spec,
        __doc__="One regime of the prism catalogue.",
        id=(Annotated[str, AfterValidator(_not_reserved)], Field(pattern=ID_PATTERN, max_length=120)),
        model=(
            str,
            Field(DEFAULT_FAMILY, description="The model family (prismcat families lists them)."),
        ),
        structure=(
            dict[str, int | str],
            Field(default_factory=dict, description="The family's structural choices, e.g. nu, symmetry."),
        ),
        title=(Prose, Field(min_length=1, max_length=200)),
        summary=(Prose, Field(min_length=1, max_length=2000, description="A short description.")),
        cell=(
            str,
            Field(description="Canonical cell id in the family's geometry, e.g. large-data+mean-field."),
        ),
        scaling=(Scaling, ...),
        parameters=(dict[str, Parameter], Field(default_factory=dict)),
        where=(
            dict[str, Expr],
            Field(default_factory=dict, max_length=MAX_HELPERS, description="Helpers of the parameters."),
        ),
        clock=(Clock, Field(default_factory=Clock)),
        losses=(losses, ...),
        convergence=(Convergence, ...),
        references=(list[Prose], Field(default_factory=list)),
        notes=(Prose | None, None),
        validation=(Validation, Field(default_factory=Validation)),
        consistency=(list[Relation], Field(default_factory=list)),
        consistency_exemptions=(
            dict[str, Prose],
            Field(
                default_factory=dict,
                description="Adjacent entries with no consistency relation, and why (e.g. different clocks).",
            ),
        ),
    )
