"""Loading catalogue entries: YAML -> pydantic model -> semantic checks -> :class:`Entry`.

Every problem is reported as ``file:line:column: field.path: message``; problems in one file never
stop the others from loading (a :class:`Catalog` keeps both its entries and its problems).
"""

from __future__ import annotations

import hashlib
import json
import os
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pydantic

from prismcat.catalog.entry import LOSSES, CompiledRelation, Entry
from prismcat.catalog.schema import RESERVED, AbsentLoss, build_entry_model
from prismcat.catalog.source import MAX_FILE_BYTES, SourceDoc, parse_yaml, read_yaml
from prismcat.errors import (
    CatalogError,
    EvaluationError,
    ExpressionError,
    Location,
    PathItem,
    PrismcatError,
    Problem,
)
from prismcat.files import printable, read_bounded
from prismcat.formulas.base import FieldError, FormulaContext
from prismcat.formulas.expr import Compiled, HelperError, Scope
from prismcat.plugins import formula_kinds, measures
from prismcat.prism import exact
from prismcat.scaling import Monomial, canonical_mismatch, monomial


def entry_model() -> type[pydantic.BaseModel]:
    """The entry model for the formula kinds registered right now."""
    kinds = formula_kinds()
    return _entry_model(tuple((name, kind.spec) for name, kind in kinds.items()))


@lru_cache(maxsize=8)
def _entry_model(kinds: tuple) -> type[pydantic.BaseModel]:
    registry = formula_kinds()
    return build_entry_model({name: registry[name] for name, _ in kinds})


def entry_json_schema() -> dict[str, Any]:
    schema = entry_model().model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "prismcat catalogue entry"
    return schema


# -- pydantic errors -> located problems ----------------------------------------------------
def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _tags(tp: Any) -> dict[str, Any]:
    """Members of a tagged union by tag."""
    out = {}
    for member in typing.get_args(_unwrap(tp)):
        for meta in getattr(member, "__metadata__", ()):
            if isinstance(meta, pydantic.Tag):
                out[meta.tag] = typing.get_args(member)[0]
    return out


def _allowed_keys(model: type[pydantic.BaseModel], loc: tuple) -> list[str] | None:
    """Field names (aliases) of the model that sits at pydantic location ``loc``."""
    tp: Any = model
    for el in loc:
        tp = _unwrap(tp)
        tags = _tags(tp)
        if el in tags:
            tp = tags[el]
            continue
        if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
            fld = next((f for n, f in tp.model_fields.items() if el in (n, f.alias)), None)
            if fld is None:
                return None
            tp = fld.annotation
            continue
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is dict:
            tp = args[1]
        elif origin in (list, tuple):
            tp = args[0]
        elif args:  # Optional / plain union: first model member
            tp = next((a for a in args if a is not type(None)), args[0])
        else:
            return None
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next((a for a in typing.get_args(tp) if a is not type(None)), tp)
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return None


def _data_path(data: Any, loc: tuple) -> tuple[PathItem, ...]:
    """Drop union tags from a pydantic location so it names a place in the YAML data."""
    path: list[PathItem] = []
    cur = data
    for i, el in enumerate(loc):
        if el in ("loss", "absent") and i + 1 < len(loc) and loc[i + 1] == el:
            continue  # the population's union tag before the field of the same name
        in_dict = isinstance(cur, dict) and el in cur
        in_list = isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur)
        if in_dict or in_list:
            path.append(el)
            cur = cur[el]
        elif (
            isinstance(cur, dict) and i + 1 < len(loc) and (el == cur.get("kind") or el in ("loss", "absent"))
        ):
            continue  # a union tag
        else:
            path.append(el)
            cur = None
    return tuple(path)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pydantic_problems(
    exc: pydantic.ValidationError, doc: SourceDoc, model: type[pydantic.BaseModel]
) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = _data_path(doc.data, loc)
        etype, msg = err["type"], err["msg"]
        at_key = False
        if etype == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            msg = f"unknown key '{path[-1]}'" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
            if any(ch in str(path[-1]) for ch in "()*/+"):
                msg += "; an expression with a comma inside a {...} flow mapping must be quoted"
            at_key = True
        elif etype == "missing":
            msg = f"missing required field '{path[-1]}'"
        elif etype == "union_tag_not_found" or (
            etype == "unknown_formula_kind"
            and isinstance(err.get("input"), dict)
            and "kind" not in err["input"]
        ):
            msg = "missing 'kind' (one of: " + ", ".join(formula_kinds()) + ")"
        elif etype == "unknown_formula_kind" and not isinstance(err.get("input"), dict):
            kinds = ", ".join(formula_kinds())
            msg = f"expected a mapping with a 'kind' (one of: {kinds}), got {_short(err.get('input'))}"
        elif etype == "unknown_formula_kind":
            msg = f"unknown formula kind {_short(err['input'].get('kind'))}; {msg}"
            path = (*path, "kind")
        elif etype == "string_pattern_mismatch" and loc and loc[-1] == "[key]":
            path = path[:-1]
            msg = f"'{path[-1]}' is not a name: start with a letter, then letters, digits or _"
            at_key = True
        elif etype == "too_long" and "max_length" in err.get("ctx", {}):
            ctx = err["ctx"]
            got = f", got {ctx['actual_length']}" if ctx.get("actual_length") is not None else ""
            msg = f"at most {ctx['max_length']} items allowed here{got}"
        else:
            msg = msg.removeprefix("Value error, ")
            if etype.endswith(("_type", "_parsing")) and "input" in err:
                msg += f" (got {_short(err['input'])})"
        problems.append(Problem(doc.locate(path, at_key=at_key), msg))
    return problems


# -- semantic checks ------------------------------------------------------------------------
class _Collector:
    """Collects located problems for one document."""

    def __init__(self, doc: SourceDoc):
        self.doc = doc
        self.problems: list[Problem] = []

    def add(
        self,
        path: Iterable[PathItem],
        message: str,
        offset: int | None = None,
        at_key: bool = False,
    ) -> None:
        problem = Problem(self.doc.locate(tuple(path), offset, at_key), message)
        if problem not in self.problems:  # a broken helper is met again by each helper using it
            self.problems.append(problem)

    def compile(
        self, scope: Scope, text: str, path: tuple, helper_root: tuple = ("where",)
    ) -> Compiled | None:
        try:
            return scope.compile(text)
        except HelperError as exc:
            self.add((*helper_root, exc.helper), exc.message, exc.offset)
        except ExpressionError as exc:
            self.add(path, exc.message, exc.offset)
        return None


def _check_parameters(spec: Any, family: Any, out: _Collector) -> dict[str, Monomial]:
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


def _check_family(spec: Any, out: _Collector):
    """The entry's family, structure and geometry; None where one of them is wrong (reported)."""
    from prismcat.families import families

    found = families()
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


def _check_cell(spec: Any, family: Any, geometry: Any, out: _Collector):
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


def _check_clock(spec: Any, scope: Scope, family: Any, out: _Collector) -> Compiled | None:
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
    out = _Collector(doc)
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
    ctx = FormulaContext(params, spec.clock.name, dict(spec.where), measures(), values=defaults)
    kinds = formula_kinds()
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
    entry = Entry(
        spec, cell, ratios, clock, quantities, formulas, eps, doc, absent, relations, mean_eps,
        family=family, structure=structure, geometry=geometry,
    )  # fmt: skip
    if check_values:
        _smoke_test(entry, out)
        if out.problems:
            raise CatalogError(out.problems)
    return entry


def _compile_relation(index: int, rel: Any, scope: Scope, clock: str, out: _Collector) -> CompiledRelation:
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


def _check_relations(cat: Catalog) -> None:
    """Each relation must name an existing, adjacent, higher-dimensional entry and all of its
    parameters."""
    for entry in cat:
        for rel in entry.relations:
            base = ("consistency", rel.index)

            def add(path: tuple, msg: str, entry: Entry = entry) -> None:
                loc = entry.source.locate(path) if entry.source else Location(entry.file, path=path)
                cat.problems.append(Problem(loc, msg))

            other = cat.entries.get(rel.spec.entry)
            if other is None:
                add((*base, "entry"), f"no entry '{rel.spec.entry}' in the catalogue")
                continue
            if rel.spec.exact:
                pass  # the same curve: any entry, any family
            elif not entry.same_geometry(other):
                add(
                    (*base, "entry"),
                    f"'{other.id}' lies in another geometry ({other.family.name} {other.geometry.key}); "
                    "a relation across geometries is exact: true",
                )
            elif not (other.cell.faces < entry.cell.faces and len(entry.cell.faces - other.cell.faces) == 1):
                add(
                    (*base, "entry"),
                    f"'{other.id}' ({other.cell.id}) is not a neighbour one face up from {entry.cell.id}",
                )
            want, got = set(other.spec.parameters), set(rel.spec.parameters)
            if want != got:
                missing, extra = sorted(want - got), sorted(got - want)
                msg = f"parameters must map exactly {', '.join(sorted(want)) or 'nothing'}"
                if missing:
                    msg += f"; missing {', '.join(missing)}"
                if extra:
                    msg += f"; unknown {', '.join(extra)}"
                add((*base, "parameters"), msg)
            has_population = "population" in entry.family.losses
            if (
                rel.spec.population is not None
                and entry.formulas.get("population") is None
                and has_population
            ):
                add(
                    (*base, "population"),
                    "this entry has no population limit; set population: null",
                )
        for other_id in entry.spec.consistency_exemptions:
            other = cat.entries.get(other_id)
            path = ("consistency_exemptions", other_id)
            loc = entry.source.locate(path, at_key=True) if entry.source else Location(entry.file, path=path)
            if other is None:
                cat.problems.append(Problem(loc, f"no entry '{other_id}' in the catalogue"))
            elif not entry.same_geometry(other) or not (
                other.cell.faces < entry.cell.faces and len(entry.cell.faces - other.cell.faces) == 1
            ):
                cat.problems.append(
                    Problem(loc, f"'{other_id}' is not a neighbour one face up from {entry.cell.id}")
                )


def _prepare_formula(fspec: Any, kinds: Mapping[str, Any], ctx: FormulaContext, path: tuple, out: _Collector):
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


def _smoke_test(entry: Entry, out: _Collector) -> None:
    """Evaluate the formulas at the validation point over the validation window."""
    v = entry.spec.validation
    times = np.linspace(v.start, v.horizon, 7)
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


# -- public loading API ---------------------------------------------------------------------
def entry_from_doc(doc: SourceDoc, check_values: bool = False) -> Entry:
    """Validate parsed YAML and build the entry, or raise a located :class:`CatalogError`."""
    model = entry_model()
    try:
        spec = model.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        raise CatalogError(_pydantic_problems(exc, doc, model)) from None
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


@dataclass
class Catalog:
    """Entries by id, plus every problem found while loading (a bad file never hides the rest)."""

    root: Path | None
    entries: dict[str, Entry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __iter__(self):
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.entries

    def get(self, entry_id: str) -> Entry:
        if entry_id not in self.entries:
            import difflib

            close = difflib.get_close_matches(entry_id, list(self.entries), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            broken = [p for p in self.problems if entry_id in (p.location.file or "")]
            extra = " (its file has problems; run prismcat lint)" if broken else ""
            raise PrismcatError(f"no entry '{entry_id}' in the catalogue{hint}{extra}")
        return self.entries[entry_id]

    def by_cell(self, geometry: str = "prism") -> dict[str, list[Entry]]:
        """Entries by cell id, of one geometry (default: the autoencoder's prism)."""
        out: dict[str, list[Entry]] = {}
        for e in self:
            if e.geometry.key == geometry:
                out.setdefault(e.cell.id, []).append(e)
        return out

    def by_geometry(self) -> dict[Any, list[Entry]]:
        """Entries grouped by the geometry their cells belong to (the prism first)."""
        out: dict[str, tuple[Any, list[Entry]]] = {}
        for e in self:
            out.setdefault(e.geometry.key, (e.geometry, []))[1].append(e)
        return dict(out.values())


def catalog_files(paths: Iterable[str | Path]) -> list[Path]:
    """YAML files named by ``paths`` (directories are searched recursively), sorted."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml") and x.is_file()))
        else:
            files.append(p)
    return files


def load_catalog(
    root: str | Path | None = None,
    check_values: bool = False,
    files: Iterable[str | Path] | None = None,
) -> Catalog:
    """Load every ``*.yaml`` under ``root`` (default: the packaged catalogue).

    Loads are cached in this process on everything they depend on: the content of every file,
    the working directory (file names are shown relative to it) and the registered formula kinds
    and measures; an edited file is always read again. Each call returns its own :class:`Catalog`
    (the entries in it are shared)."""
    from prismcat.paths import default_catalog_dir

    root_path = Path(root) if root is not None else default_catalog_dir()
    if files is None and root is None and not os.environ.get("PRISMCAT_CATALOG"):
        files = catalog_files([d for d in family_catalog_dirs() if d.is_dir()])
    if files is None:
        if not root_path.is_dir():
            return Catalog(
                root_path, problems=[Problem(Location(str(root_path)), "catalogue directory not found")]
            )
        files = catalog_files([root_path])
    paths = tuple(Path(p) for p in files)
    key = _LoadKey(
        root_path,
        check_values,
        tuple((p, _digest(p)) for p in paths),
        str(Path.cwd()),
        tuple(formula_kinds().items()),
        tuple(measures().items()),
        tuple(_families()),
    )
    try:
        cat = _load_cached(key)
    except TypeError:  # a plugin registered something unhashable: no caching
        cat = _load(root_path, check_values, paths)
    return Catalog(cat.root, dict(cat.entries), list(cat.problems))


def family_catalog_dirs() -> list[Path]:
    """The packaged catalogue folders of every installed model family (the autoencoder's first)."""
    from prismcat.families import families

    dirs: list[Path] = []
    for family in families().values():
        try:
            found = [Path(d) for d in family.catalog_dirs()]
        except Exception:  # a broken family plugin loses its catalogue, not the others'
            continue
        dirs += [d for d in found if d not in dirs]
    return dirs


class _LoadKey(typing.NamedTuple):
    """Everything a load depends on."""

    root: Path
    check_values: bool
    files: tuple[tuple[Path, str], ...]  # (path, content digest)
    cwd: str
    kinds: tuple
    measures: tuple
    families: tuple


def _families() -> list[tuple[str, int]]:
    from prismcat.families import families

    return [(name, id(f)) for name, f in families().items()]


def _digest(path: Path) -> str:
    """Content hash of ``path``; a file that cannot be read, or is over the size limit (never
    read), is keyed by the reason and its size and time stamp instead."""
    try:
        return hashlib.blake2b(read_bounded(path, MAX_FILE_BYTES), digest_size=16).hexdigest()
    except PrismcatError as exc:
        try:
            info = path.stat()
            return f"unread: {exc}: {info.st_size} {info.st_mtime_ns}"
        except OSError:
            return f"unread: {exc}"


@lru_cache(maxsize=16)
def _load_cached(key: _LoadKey) -> Catalog:
    return _load(key.root, key.check_values, tuple(path for path, _ in key.files))


def _load(root: Path, check_values: bool, files: tuple[Path, ...]) -> Catalog:
    cat = Catalog(root)
    seen: dict[str, Entry] = {}
    for path in files:
        display = _display(path)
        try:
            entry = load_entry(path, display, check_values)
        except CatalogError as exc:
            cat.problems.extend(exc.problems)
            continue
        if entry.id in seen:
            first = seen[entry.id].source
            loc = entry.source.locate(("id",)) if entry.source else Location(display)
            where = first.locate(("id",)) if first else None
            cat.problems.append(Problem(loc, f"duplicate id '{entry.id}' (already defined at {where})"))
            continue
        seen[entry.id] = entry
    from prismcat.families import families

    order = list(families())
    cat.entries = dict(sorted(seen.items(), key=lambda kv: (kv[1].rank(order), kv[0])))
    _check_relations(cat)
    return cat


def _display(path: Path) -> str:
    """The file name shown in messages: relative to the working directory where it lies below it,
    always printable (a name that is not UTF-8 shows escapes)."""
    try:
        return printable(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return printable(path)
