"""The catalogue's commands: list, show, lint, predict, schema, cells."""

from __future__ import annotations

import argparse
from pathlib import Path

from prismcat.budget import Limits
from prismcat.catalog import entry_json_schema, load_catalog
from prismcat.catalog.loader import catalog_files
from prismcat.catalog.references import check_references, is_packaged
from prismcat.cli.arguments import limit_arguments, parse_assignment, parse_times
from prismcat.cli.output import EXIT_FAIL, EXIT_OK, catalog, print_json, problem_json, table
from prismcat.formulas.latex import entry_latex, latex_document
from prismcat.registry import registry
from prismcat.settings import DEFAULT_FAMILY, default_max_memory
from prismcat.validation.feasibility import feasibility_problems


def cmd_list(args: argparse.Namespace) -> int:
    cat = catalog(args)
    items = [
        {
            "id": e.id,
            "model": e.family.name,
            "geometry": e.geometry.key,
            "cell": e.cell.id,
            "cell_kind": e.cell.kind,
            "formula_kinds": e.formula_kinds,
            "file": e.file,
        }
        for e in cat
    ]
    if args.json:
        print_json({"entries": items, "problems": [problem_json(p) for p in cat.problems]})
        return EXIT_OK
    rows = [
        [
            i["id"],
            i["geometry"],
            i["cell"],
            i["cell_kind"],
            i["formula_kinds"]["train"] or "-",
            i["formula_kinds"]["population"] or "absent",
        ]
        for i in items
    ]
    print(table(rows, ["id", "geometry", "cell", "kind", "train", "population"]))
    print(f"\n{len(items)} entries")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    entry = catalog(args).get(args.id)
    info = entry.describe()
    if args.latex:
        if args.json:
            print_json(entry_latex(entry))
        else:
            print(latex_document(entry))
        return EXIT_OK
    if args.json:
        print_json(info)
        return EXIT_OK
    s = entry.spec
    x = entry.geometry.coordinates(entry.exponents)
    print(f"{entry.id}: {s.title}")
    print(f"  file:     {entry.file}")
    if entry.family.name != DEFAULT_FAMILY:
        print(f"  model:    {entry.family.name} ({entry.family.title}), {entry.geometry.title}")
    print(f"  cell:     {entry.cell.id} ({entry.cell.kind}); {x}")
    print("  scaling:  " + ", ".join(f"{k} ~ N^{v:g}" for k, v in entry.exponents.items()))
    print(f"  clock:    {s.clock.name} = {s.clock.definition}")
    for name, p in s.parameters.items():
        print(
            f"  param:    {name} = {p.definition}  default {p.default:g}, "
            f"range [{p.range[0]:g}, {p.range[1]:g}]"
        )
    for name, text in s.where.items():
        print(f"  where:    {name} = {text}")
    for loss in ("train", "population"):
        ls = getattr(s.losses, loss)
        if hasattr(ls, "absent"):
            print(f"  {loss}: absent ({ls.absent})")
            continue
        print(f"  {loss}: {ls.quantity} -> [{ls.formula.kind}]")
        for key, value in ls.formula.model_dump(exclude={"kind"}, exclude_defaults=True).items():
            print(f"      {key}: {value}")
    c = s.convergence
    small = c.in_ if isinstance(c.in_, str) else f"{c.in_.train} (train), {c.in_.population} (population)"
    nxt = f" + C2 ({small})^{c.next:g}" if c.next is not None else ""
    print(f"  convergence: error ~ ({small})^{c.rate:g}{nxt}")
    if c.mean is not None:
        print(f"  seed mean:   bias ~ ({c.mean.in_})^{c.mean.rate:g}")
    r = s.validation.resolution
    if r is not None:
        what = ", ".join(
            f"{k} {v:g}" for k, v in (("quick", r.quick), ("thorough", r.thorough), ("rate", r.rate)) if v
        )
        print(f"  declared resolution: {what or 'not extrapolated'} ({r.reason})")
    print(f"  summary:  {s.summary}")
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    files = catalog_files(args.paths) if args.paths else None
    missing = [f for f in (files or []) if not f.exists()]
    cat = load_catalog(args.catalog, check_values=True, files=files)
    problems = list(cat.problems)
    limits = Limits(args.max_memory or default_max_memory())
    for entry in cat:  # the validation plan: memory and step budgets of every rung
        problems += feasibility_problems(entry, limits)
    # references that do not resolve: errors in the packaged catalogue, warnings in a user's
    unresolved = check_references(cat)
    strict = is_packaged(args.catalog, files)
    warnings = [] if strict else unresolved
    problems += unresolved if strict else []
    if args.json:
        print_json(
            {
                "ok": not problems and not missing,
                "entries": list(cat.entries),
                "problems": [problem_json(p) for p in problems],
                "warnings": [problem_json(p) for p in warnings],
            }
        )
    else:
        for p in problems:
            print(p)
        for p in warnings:
            print(f"warning: {p}")
        n_files = (
            len(files) if files is not None else len(cat.entries) + len({p.location.file for p in problems})
        )
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        print(
            f"{status}: {len(cat.entries)} valid entr{'y' if len(cat.entries) == 1 else 'ies'} "
            f"in {n_files} file(s)"
        )
    return EXIT_FAIL if problems or missing else EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
    entry = catalog(args).get(args.id)
    overrides = dict(args.set or [])
    pred = entry.predict(args.times, overrides)
    if args.json:
        print_json(pred.to_json())
        return EXIT_OK
    print(f"{entry.id} at " + ", ".join(f"{k}={v:g}" for k, v in pred.parameters.items()))
    qt, qp = pred.quantities["train"], pred.quantities["population"] or "(absent)"
    print(f"train: {qt}    population: {qp}")
    rows = [
        [f"{t:.6g}", f"{tr:.10g}", "-" if pred.population is None else f"{pred.population[i]:.10g}"]
        for i, (t, tr) in enumerate(zip(pred.t, pred.train, strict=True))
    ]
    print(table(rows, [pred.clock, "train", "population"]))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    print_json(entry_json_schema())
    return EXIT_OK


def cmd_cells(args: argparse.Namespace) -> int:
    cat = catalog(args)
    found = registry()
    chosen = [found.family(args.model)] if args.model else list(found.families.values())
    out = []
    for family in chosen:
        for structure in family.structures():
            geometry = family.geometry(structure)
            by_cell = cat.by_cell(geometry.key)
            rows = []
            for cell in geometry.cells():
                ids = [e.id for e in by_cell.get(cell.id, [])]
                exps = geometry.representative(cell)
                rows.append([cell.id, cell.kind, "(" + ", ".join(str(exps[x]) for x in family.sizes) + ")",
                             ", ".join(ids) or "-"])  # fmt: skip
            out.append((family, geometry, rows))
    if args.json:
        print_json(
            [
                {
                    "model": f.name,
                    "geometry": g.key,
                    "cell": r[0],
                    "kind": r[1],
                    "exponents": r[2],
                    "entries": r[3],
                }
                for f, g, rows in out
                for r in rows
            ]
        )
        return EXIT_OK
    for i, (family, geometry, rows) in enumerate(out):
        print(("\n" if i else "") + f"{family.name}: {geometry.title}")
        print(table(rows, ["cell", "kind", f"({', '.join(family.sizes)})", "entries"]))
    return EXIT_OK


def add_commands(add) -> None:
    """The catalogue's subcommands, through ``add(name, function, help, json_flag=True)``."""
    add("list", cmd_list, "list the catalogue's entries: id, cell, formula kinds")
    p = add("show", cmd_show, "show one entry: exponents, parameters, formulas, cell")
    p.add_argument("id")
    p.add_argument("--latex", action="store_true", help="print the entry's formulas as LaTeX (for papers)")
    p = add("lint", cmd_lint, "validate catalogue files; exit 1 with located messages")
    p.add_argument("paths", nargs="*", type=Path, help="files or directories (default: the whole catalogue)")
    limit_arguments(p)
    p = add("predict", cmd_predict, "evaluate an entry's limit curves on its own clock")
    p.add_argument("id")
    p.add_argument(
        "--set",
        action="append",
        type=parse_assignment,
        metavar="NAME=VALUE",
        help="parameter value (repeatable)",
    )
    p.add_argument("--times", type=parse_times, default=parse_times("0:3:31"), metavar="T0:T1:COUNT")
    add("schema", cmd_schema, "print the JSON Schema of a catalogue entry", json_flag=False)
    p = add(
        "cells", cmd_cells, "list the cells of each family's geometry (the prism's 21, ...) and their entries"
    )
    p.add_argument("--model", default=None, help="only this model family")
