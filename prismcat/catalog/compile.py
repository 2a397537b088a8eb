"""From a parsed YAML document to an :class:`~prismcat.catalog.entry.Entry`: the pydantic model,
then the checks only values can make (the family, its sizes and structure, the cell against the
exponents, parameters fixed under the scaling, an affine clock, every expression compiled in its
scope, each formula prepared by its kind and, for ``lint``, evaluated over the validation window),
each problem located in the file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pydantic

from prismcat.catalog.entry import LOSSES, CompiledRelation, Entry
from prismcat.catalog.model import entry_model
from prismcat.catalog.problems import Collector, pydantic_problems
from prismcat.catalog.schema import RESERVED, AbsentLoss
from prismcat.catalog.source import SourceDoc, parse_yaml, read_yaml
from prismcat.errors import CatalogError, EvaluationError, ExpressionError, PrismcatError
from prismcat.formulas.base import FieldError, FormulaContext
from prismcat.formulas.expr import Compiled, HelperError, Scope
from prismcat.registry import registry
from prismcat.scaling import Monomial, canonical_mismatch, exact, monomial


def _check_parameters(spec: Any, family: Any, out: Collector) -> dict[str, Monomial]:
    ratios: dict[str, Monomial] = {}
    scaling = {s: exact(spec.scaling[s]) for s in family.sizes}
    reserved = RESERVED | set(family.sizes) | set(family.observables)
    for name, param in spec.parameters.items():
        path = ("parameters", name)
        if name in reserved or name == spec.clock.name or not name.isidentifier() or name.startswith("_"):
            out.add(
                path,
                f"'{name}' cannot name a parameter (reserved or not an identifier)",
                at_key=True,
            )
            continue
        try:
            mono = monomial(param.definition, family.sizes)
        except ExpressionError as exc:
            out.add((*path, "definition"), exc.message, exc.offset)
            continue
        problem = canonical_mismatch(name, mono, family.ratios, family.name)
        if problem:
            out.add((*path, "definition"), problem)
            continue
        growth = mono.growth(scaling)
        if growth != 0:
            out.add(
                (*path, "definition"),
                f"'{name}' = {param.definition} is not fixed under the scaling exponents: "
                f"it grows like N^{growth}",
            )
            continue
        ratios[name] = mono
    return ratios


def _check_family(spec: Any, out: Collector):
    """The entry's family, structure and geometry; None where one of them is wrong (reported)."""
    found = registry().families
    family = found.get(spec.model)
    if family is None:
        known = ", ".join(found) or "none"
        out.add(
            ("model",),
            f"unknown model family '{spec.model}' (installed: {known}; a family comes with its plugin)",
        )
        return None
    try:
        structure = family.structure_of(spec.structure)
    except pydantic.ValidationError as exc:
        for err in exc.errors(include_url=False):
            where = ("structure", *err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(family.Structure.model_fields) if family.Structure else "none"
                msg = f"unknown key '{err['loc'][-1]}' (allowed: {allowed})"
            elif err["type"] == "missing":
                msg = f"missing required field '{err['loc'][-1]}'"
            out.add(
                where if err["type"] != "missing" else ("structure",),
                msg,
                at_key=err["type"] == "extra_forbidden",
            )
        return None
    except ValueError as exc:
        out.add(("structure",), str(exc))
        return None
    sizes = family.sizes
    bad = False
    for name in spec.scaling:
        if name not in sizes:
            out.add(
                ("scaling", name),
                f"unknown size '{name}' (the {family.name} family's sizes: {', '.join(sizes)})",
                at_key=True,
            )
            bad = True
    missing = [s for s in sizes if s not in spec.scaling]
    if missing:
        out.add(("scaling",), f"missing exponent(s) for {', '.join(missing)} (sizes: {', '.join(sizes)})")
        bad = True
    v = spec.validation
    for path, base in [(("validation", "base"), v.base)] + [
        (("validation", "profiles", name, "base"), prof.base) for name, prof in v.profiles.items()
    ]:
        for name in base or {}:
            if name not in sizes:
                out.add((*path, name), f"unknown size '{name}' (sizes: {', '.join(sizes)})", at_key=True)
                bad = True
    if bad:
        return None
    return family, structure, family.geometry(structure)


def _check_cell(spec: Any, family: Any, geometry: Any, out: Collector):
    exps = {s: exact(spec.scaling[s]) for s in family.sizes}
    derived = geometry.cell_of(exps)
    try:
        declared = geometry.parse(spec.cell)
    except ValueError as exc:
        out.add(("cell",), str(exc))
        return derived
    if declared != derived:
        given = ", ".join(f"{spec.scaling[s]:g}" for s in family.sizes)
        out.add(
            ("cell",),
            f"declares cell '{declared.id}' but its exponents ({', '.join(family.sizes)}) = "
            f"({given}) place it in '{derived.id}'",
        )
    return derived


def _check_clock(spec: Any, scope: Scope, family: Any, out: Collector) -> Compiled | None:
    clock = out.compile(scope.extend(["t", *family.sizes]), spec.clock.definition, ("clock", "definition"))
    if clock is None:
        return None
    if spec.clock.name in spec.parameters or spec.clock.name in spec.where:
        out.add(("clock", "name"), f"clock name '{spec.clock.name}' clashes with a parameter or helper")
        return None
    defaults = {k: np.float64(p.default) for k, p in spec.parameters.items()}
    defaults.update({k: np.float64(v) for k, v in family.probe.items()})
    vals = [float(clock({**defaults, "t": np.float64(x)})) for x in (0.0, 1.0, 2.0, 5.0)]
    slope = vals[1] - vals[0]
    affine = all(
        abs((v - vals[0]) - slope * x) <= 1e-9 * (1 + abs(v)) for v, x in zip(vals, (0, 1, 2, 5), strict=True)
    )
    if not (np.all(np.isfinite(vals)) and slope > 0 and affine):
        out.add(
            ("clock", "definition"),
            "the clock must be an increasing affine function of t (e.g. t / alpha)",
        )
        return None
    return clock


def _check_entry(spec: Any, doc: SourceDoc, check_values: bool) -> Entry | None:
    out = Collector(doc)
    placed = _check_family(spec, out)
    if placed is None:
        raise CatalogError(out.problems)
    family, structure, geometry = placed
    for loss in LOSSES:  # a loss the family does not have reads as absent, with the reason
        if loss not in family.losses and getattr(spec.losses, loss) is None:
            why = f"the {family.name} model has no {loss} loss (no data: its one loss is the loss itself)"
            spec = spec.model_copy(
                update={"losses": spec.losses.model_copy(update={loss: AbsentLoss(absent=why)})}
            )
    cell = _check_cell(spec, family, geometry, out)
    ratios = _check_parameters(spec, family, out)
    params = list(spec.parameters)
    try:
        scope = Scope(params, spec.where)
    except HelperError as exc:
        out.add(("where", exc.helper), exc.message)
        return None
    helpers = Scope([spec.clock.name, *params], spec.where)  # they may use the clock: inlined in formulas
    for name in spec.where:
        out.compile(helpers, name, ("where", name))
    clock = _check_clock(spec, scope, family, out)
    defaults = {k: p.default for k, p in spec.parameters.items()}  # where split points are checked
    found = registry()
    ctx = FormulaContext(params, spec.clock.name, dict(spec.where), found.measures, values=defaults)
    kinds = found.formula_kinds
    quantities: dict[str, Compiled | None] = {}
    formulas: dict[str, Any] = {}
    absent: dict[str, str] = {}
    for loss in LOSSES:
        lspec = getattr(spec.losses, loss)
        base = ("losses", loss)
        if loss not in family.losses:
            if not hasattr(lspec, "absent"):
                out.add(base, f"the {family.name} family has no {loss} loss: leave it out", at_key=True)
            quantities[loss], formulas[loss], absent[loss] = None, None, getattr(spec.losses, loss).absent
            continue
        if lspec is None:
            out.add(("losses",), f"missing required field '{loss}'")
            continue
        if hasattr(lspec, "absent"):
            quantities[loss], formulas[loss], absent[loss] = None, None, lspec.absent
            continue
        quantities[loss] = out.compile(
            scope.extend([*family.observables, *family.sizes]), lspec.quantity, (*base, "quantity")
        )
        formulas[loss] = _prepare_formula(lspec.formula, kinds, ctx, (*base, "formula"), out)
    eps_scope = scope.extend(family.sizes)
    conv_in = spec.convergence.in_
    if isinstance(conv_in, str):
        one = out.compile(eps_scope, conv_in, ("convergence", "in"))
        eps = {"train": one, "population": one}
    else:
        eps = {
            loss: out.compile(eps_scope, getattr(conv_in, loss), ("convergence", "in", loss))
            for loss in LOSSES
        }
    mean = spec.convergence.mean
    mean_eps = None if mean is None else out.compile(eps_scope, mean.in_, ("convergence", "mean", "in"))
    for name, value in spec.validation.parameters.items():
        p = spec.parameters.get(name)
        if p is None:
            out.add(("validation", "parameters", name), f"unknown parameter '{name}'", at_key=True)
        elif not p.range[0] <= value <= p.range[1]:
            out.add(
                ("validation", "parameters", name),
                f"{value:g} lies outside the range {list(p.range)}",
            )
    relations = [_compile_relation(i, r, scope, spec.clock.name, out) for i, r in enumerate(spec.consistency)]
    if out.problems:
        raise CatalogError(out.problems)
    used = {
        loss: kinds[f.kind] for loss in LOSSES if (f := getattr(getattr(spec.losses, loss), "formula", None))
    }
    entry = Entry(
        spec, cell, ratios, clock, quantities, formulas, eps, doc, absent, relations, mean_eps,
        family=family, structure=structure, geometry=geometry, kinds=used, measures=found.measures,
    )  # fmt: skip
    if check_values:
        _smoke_test(entry, out)
        if out.problems:
            raise CatalogError(out.problems)
    return entry


def _compile_relation(index: int, rel: Any, scope: Scope, clock: str, out: Collector) -> CompiledRelation:
    """Compile a consistency relation's expressions (the neighbour is checked catalogue-wide)."""
    base = ("consistency", index)
    if rel.approach is None:  # exact: the map of parameters only
        inner = scope
        small = None
    else:
        var = rel.approach.name
        if var in scope.variables or var in scope.helpers or var in ("F", "F0", clock):
            out.add((*base, "approach", "name"), f"approach variable '{var}' clashes with an existing name")
        inner = scope.extend([var])
    params = {k: out.compile(inner, v, (*base, "parameters", k)) for k, v in rel.parameters.items()}
    if rel.approach is not None:
        small = out.compile(inner, rel.approach.small, (*base, "approach", "small"))
    for name in rel.grid:
        if name not in scope.variables:
            out.add((*base, "grid", name), f"'{name}' is not a parameter of this entry", at_key=True)
    transforms = {
        loss: None if text is None else out.compile(inner.extend(["F", "F0"]), text, (*base, loss))
        for loss, text in (("train", rel.train), ("population", rel.population))
    }
    rclock = None if rel.clock is None else out.compile(inner.extend([clock]), rel.clock, (*base, "clock"))
    return CompiledRelation(rel, index, params, small, transforms, rclock)  # type: ignore[arg-type]


def _prepare_formula(fspec: Any, kinds: Mapping[str, Any], ctx: FormulaContext, path: tuple, out: Collector):
    kind = kinds[fspec.kind]
    try:
        return kind.prepare(fspec, ctx)
    except FieldError as exc:
        out.add((*path, *exc.path), exc.message, exc.offset)
    except ExpressionError as exc:
        out.add(path, exc.message, exc.offset)
    except PrismcatError as exc:
        out.add(path, str(exc))
    except Exception as exc:  # a plugin kind's bug must not crash the loader
        out.add(
            path,
            f"formula kind '{fspec.kind}' failed to compile this spec: {type(exc).__name__}: {exc}",
        )
    return None


def _smoke_test(entry: Entry, out: Collector) -> None:
    """Evaluate the formulas at the validation point over the validation window."""
    v = entry.spec.validation
    if v.start is not None:  # a window left to the design starts where the formula is finite
        times = np.linspace(v.start, v.horizon if v.horizon is not None else v.start + 1.0, 7)
    else:
        times = np.geomspace(1e-2, v.horizon if v.horizon is not None else 4.0, 7)
    try:
        point = entry.parameters(v.parameters)
    except PrismcatError as exc:
        out.add(("validation", "parameters"), str(exc))
        return
    for loss in LOSSES:
        formula = entry.formulas[loss]
        if formula is None or formula.kind == "none":
            continue
        try:
            values = formula.evaluate(point, times)
        except EvaluationError as exc:
            out.add(("losses", loss, "formula"), f"cannot be evaluated at the validation point: {exc}")
            continue
        except Exception as exc:
            out.add(("losses", loss, "formula"), f"evaluation failed: {type(exc).__name__}: {exc}")
            continue
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.argmax(bad))
            out.add(
                ("losses", loss, "formula"),
                f"evaluates to {values[i]} at {entry.clock_name} = {times[i]:g} with "
                + ", ".join(f"{k}={x:g}" for k, x in point.items()),
            )


def entry_from_doc(doc: SourceDoc, check_values: bool = False) -> Entry:
    """Validate parsed YAML and build the entry, or raise a located :class:`CatalogError`."""
    model = entry_model()
    try:
        spec = model.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        raise CatalogError(pydantic_problems(exc, doc, model)) from None
    entry = _check_entry(spec, doc, check_values)
    assert entry is not None
    return entry


def load_entry(path: str | Path, display: str | None = None, check_values: bool = False) -> Entry:
    """Load one entry file."""
    return entry_from_doc(read_yaml(Path(path), display), check_values)


def entry_from_data(data: Mapping[str, Any], name: str = "<data>", check_values: bool = False) -> Entry:
    """Build an entry from an already-parsed mapping (Python API); errors name ``name``."""
    text = json.dumps(data, default=str)
    return entry_from_doc(parse_yaml(text, name), check_values)
