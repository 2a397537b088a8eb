"""The ``prismcat`` command line: parses arguments, calls the Python API, prints.

Exit codes: 0 success, 1 a check or lint failed, 2 bad usage or input (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from prismcat.errors import Interrupted, PrismcatError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def parse_times(text: str) -> np.ndarray:
    """``T0:T1:COUNT`` (inclusive linspace) or a comma-separated list of times."""
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            t0, t1, count = float(parts[0]), float(parts[1]), int(parts[2])
            if not 1 <= count <= 100_000 or not (np.isfinite(t0) and np.isfinite(t1)) or t1 < t0:
                raise ValueError
            return np.linspace(t0, t1, count)
        values = np.array([float(x) for x in text.split(",") if x.strip()])
        if values.size == 0 or not np.all(np.isfinite(values)):
            raise ValueError
        return values
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad times '{text}': use T0:T1:COUNT (T0 <= T1, 1 <= COUNT <= 100000) or a list like 0,0.5,1"
        ) from None


def parse_assignment(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        number = float(value)
        if not np.isfinite(number):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --set '{text}': use NAME=VALUE with a finite number") from None
    return name.strip(), number


def _catalog(args: argparse.Namespace, check_values: bool = False):
    from prismcat.catalog import load_catalog

    cat = load_catalog(args.catalog, check_values=check_values)
    if cat.problems and not getattr(args, "quiet_problems", False):
        print(
            f"warning: {len(cat.problems)} problem(s) in the catalogue (run 'prismcat lint'):",
            file=sys.stderr,
        )
        for p in cat.problems[:5]:
            print(f"  {p}", file=sys.stderr)
    return cat


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


# -- commands -------------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    cat = _catalog(args)
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
        _print_json({"entries": items, "problems": [_problem_json(p) for p in cat.problems]})
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
    print(_table(rows, ["id", "geometry", "cell", "kind", "train", "population"]))
    print(f"\n{len(items)} entries")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    entry = _catalog(args).get(args.id)
    info = entry.describe()
    if args.latex:
        from prismcat.formulas.latex import entry_latex, latex_document

        if args.json:
            _print_json(entry_latex(entry))
        else:
            print(latex_document(entry))
        return EXIT_OK
    if args.json:
        _print_json(info)
        return EXIT_OK
    s = entry.spec
    x = entry.geometry.coordinates(entry.exponents)
    print(f"{entry.id}: {s.title}")
    print(f"  file:     {entry.file}")
    if entry.family.name != "autoencoder":
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


def _problem_json(p) -> dict[str, Any]:
    from prismcat.errors import format_path

    loc = p.location
    return {
        "file": loc.file,
        "line": loc.line,
        "column": loc.column,
        "path": format_path(loc.path),
        "message": p.message,
    }


def cmd_lint(args: argparse.Namespace) -> int:
    from prismcat.budget import Limits
    from prismcat.catalog import load_catalog
    from prismcat.catalog.loader import catalog_files
    from prismcat.catalog.references import check_references, is_packaged
    from prismcat.settings import default_max_memory
    from prismcat.validation.feasibility import feasibility_problems

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
        _print_json(
            {
                "ok": not problems and not missing,
                "entries": list(cat.entries),
                "problems": [_problem_json(p) for p in problems],
                "warnings": [_problem_json(p) for p in warnings],
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
    entry = _catalog(args).get(args.id)
    overrides = dict(args.set or [])
    pred = entry.predict(args.times, overrides)
    if args.json:
        _print_json(pred.to_json())
        return EXIT_OK
    print(f"{entry.id} at " + ", ".join(f"{k}={v:g}" for k, v in pred.parameters.items()))
    qt, qp = pred.quantities["train"], pred.quantities["population"] or "(absent)"
    print(f"train: {qt}    population: {qp}")
    rows = [
        [f"{t:.6g}", f"{tr:.10g}", "-" if pred.population is None else f"{pred.population[i]:.10g}"]
        for i, (t, tr) in enumerate(zip(pred.t, pred.train, strict=True))
    ]
    print(_table(rows, [pred.clock, "train", "population"]))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from prismcat.catalog import entry_json_schema

    _print_json(entry_json_schema())
    return EXIT_OK


def cmd_cells(args: argparse.Namespace) -> int:
    from prismcat.families import families, get_family

    cat = _catalog(args)
    chosen = [get_family(args.model)] if args.model else list(families().values())
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
        _print_json(
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
        print(_table(rows, ["cell", "kind", f"({', '.join(family.sizes)})", "entries"]))
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from prismcat.simulation import Integrator, Problem, load_problem_npz, simulate

    integ = Integrator(method=args.integrator, dt=args.dt, rtol=args.rtol, atol=args.atol, clock=args.clock)
    settings = dict(
        seed=args.seed,
        integrator=integ,
        dtype=args.dtype,
        formulation=args.formulation,
        spectrum=args.spectrum,
    )
    if args.problem is not None:
        given = [f"--{s}" for s in ("d", "k", "n", "sigma2") if getattr(args, s) is not None]
        if given:
            raise PrismcatError(f"{', '.join(given)}: the sizes come from the arrays in {args.problem}")
        problem = load_problem_npz(args.problem, args.times, **settings)
    else:
        missing = [f"--{s}" for s in ("d", "k", "n", "sigma2") if getattr(args, s) is None]
        if missing:
            raise PrismcatError(f"missing {', '.join(missing)} (or give --problem FILE.npz)")
        problem = Problem(
            d=args.d, k=args.k, n=args.n, sigma2=args.sigma2, times=tuple(args.times), **settings
        )
    result = simulate(problem, backend=_backend(args), max_memory=args.max_memory)[0]
    if args.json:
        _print_json(result.to_json())
        return EXIT_OK
    info = result.info
    print(
        f"d={problem.d} k={problem.k} n={problem.n} sigma2={problem.sigma2:g} seed={problem.seed}: "
        f"{info['backend']}, {info['integrator']}, {info['formulation']}, "
        f"{info['evals']} evaluations"
    )
    rows = [
        [f"{t:.6g}", f"{a:.10g}", f"{b:.10g}"]
        for t, a, b in zip(result.t, result.train, result.population, strict=True)
    ]
    print(_table(rows, ["t", "L_train/d", "L_pop/d"]))
    if result.spectrum is not None:
        print("spectrum of W^T W at the end:", np.array2string(result.spectrum, precision=6))
    return EXIT_OK


def cmd_where(args: argparse.Namespace) -> int:
    from prismcat.api import where, where_family

    if args.model != "autoencoder":
        return _where_family(args, where_family)
    missing = [f"--{s}" for s in ("d", "k", "n", "sigma2") if getattr(args, s) is None]
    if missing:
        raise PrismcatError(f"missing {', '.join(missing)} (the autoencoder's sizes)")
    placement = where(
        args.d,
        args.k,
        args.n,
        args.sigma2,
        catalog=_catalog(args),
        t_max=args.t_max,
        points=args.points,
        top=args.top,
        simulate_run=args.simulate,
        backend=_backend(args),
        seed=args.seed,
    )
    point, cands, sim = placement.point, placement.candidates, placement.simulation
    best = placement.best
    if _figure_or_json(args, placement):
        return EXIT_OK
    r = point.ratios
    print(
        f"gamma = k/d = {r['gamma']:.4g}, alpha = n/d = {r['alpha']:.4g}, "
        f"a = sigma2 d = {r['a']:.4g}, u = sigma2 k = {r['u']:.4g}"
    )
    print(_toward(placement.strength))
    rows = []
    for c in cands:
        dist = " / ".join(f"{c.distance[x]:.3g}" for x in ("train", "population") if x in c.distance) or "-"
        warn = ("out of range: " + ", ".join(c.out_of_range) + ". ") if c.out_of_range else ""
        rows.append([c.entry.id, f"{c.score:.2f}", dist, (warn + c.note)[:70]])
    print(_table(rows, ["candidate", "score", "distance to run" if sim else "distance", "note"]))
    if best is not None:
        print(f"best description of this run: {best.entry.id}")
    if args.figure:
        print(f"figure: {args.figure}")
    return EXIT_OK


def _figure_or_json(args: argparse.Namespace, placement: Any) -> bool:
    """Write ``--figure``; print ``--json`` and say so (the caller is then done)."""
    if args.figure:
        from prismcat.files import write_atomic

        write_atomic(args.figure, placement.png())
    if args.json:
        _print_json(placement.to_json())
    return bool(args.json)


def _toward(strength: dict[str, float]) -> str:
    far = ", ".join(f"{f} {v:.2f}" for f, v in strength.items() if v > 0) or "nothing extreme"
    return f"toward (nats): {far}"


def _where_family(args: argparse.Namespace, where_family) -> int:
    sizes = dict(args.size or [])
    structure = {}
    for text in args.structure or []:
        key, eq, value = text.partition("=")
        if not eq:
            raise PrismcatError(f"--structure {text!r} is not KEY=VALUE")
        structure[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value.strip()
    placement = where_family(
        args.model,
        sizes,
        structure,
        catalog=_catalog(args),
        t_max=args.t_max,
        points=args.points,
        top=args.top,
        simulate_run=args.simulate,
        backend=None if args.backend == "numpy" else args.backend,
        seed=args.seed,
    )
    if _figure_or_json(args, placement):
        return EXIT_OK
    point = placement.point
    print(
        f"{point.family.name} {point.geometry.title}: "
        + ", ".join(f"{k} = {v:g}" for k, v in point.sizes.items())
    )
    print(_toward(placement.strength))
    rows = []
    for c in placement.candidates:
        dist = f"{c.distance['train']:.3g}" if "train" in c.distance else "-"
        rows.append([c.entry.id, c.entry.cell.id, f"{c.score:.2f}", dist, c.note[:60]])
    print(
        _table(
            rows, ["candidate", "cell", "score", "distance to run" if args.simulate else "distance", "note"]
        )
    )
    best = placement.best
    if best is not None:
        print(f"best description of this run: {best.entry.id}")
    return EXIT_OK


def cmd_backends(args: argparse.Namespace) -> int:
    from prismcat.simulation import backends

    items = backends()
    if args.json:
        _print_json(items)
        return EXIT_OK
    rows = [
        [
            b["name"],
            b["family"],
            "yes" if b["available"] else "no",
            b["reason"],
            b["runs"],
            b["options"] or "-",
            b["description"],
        ]
        for b in items
    ]
    print(_table(rows, ["backend", "family", "usable", "detail", "runs", "options", "description"]))
    if not any(b["available"] for b in items):
        print(
            "\nno usable simulator backend: reinstall prismcat (numpy ships with it), or see "
            "'prismcat plugins' for one that failed to load",
            file=sys.stderr,
        )
    return EXIT_OK


def _run_options(args: argparse.Namespace):
    """The run's settings from the command line, checked before anything else happens."""
    from prismcat.settings import RunOptions

    return RunOptions(
        backend=args.backend,
        options=_backend_options(args),
        profile=args.profile,
        dtype=getattr(args, "dtype", "float64"),
        seed_offset=args.seed_offset,
        seeds_per_task=getattr(args, "seeds_per_task", None),
        jobs=args.jobs,
        timeout=args.task_timeout,
        max_memory=args.max_memory,
        progress=not args.no_progress,
    )


def cmd_validate(args: argparse.Namespace) -> int:
    from prismcat import api
    from prismcat.validation.cache import DiskCache
    from prismcat.validation.executors import check_executor, make_executor

    options = _run_options(args)
    check_executor(args.executor, args.workers)
    cat = _catalog(args)
    api.check_backend(cat, args.ids or None, options)
    from prismcat.report.write import report_folder

    folder = report_folder(args.report, len(args.ids) if args.ids else len(cat), args.overwrite)
    executor = make_executor(args.executor, args.scheduler, args.workers, options.timeout, options.jobs)
    try:
        result = api.validate(
            args.ids or None,
            catalog=cat,
            cache=DiskCache(None if args.no_cache else args.cache_dir),
            executor=executor,
            **options.to_json(),
        )
    finally:
        executor.close()
    v = result.validation
    for note in _cache_notes(v.cache):
        print(f"warning: {note}", file=sys.stderr)
    rows = [[r.entry.id, r.entry.cell.id, r.status, r.message] for r in v.runs]
    print(_table(rows, ["entry", "cell", "status", "reason"]))
    counts = {s: sum(r.status == s for r in v.runs) for s in ("pass", "fail", "error")}
    print(
        f"\n{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors "
        f"({v.seconds:.1f} s, cache {v.cache['hits']} hits)"
    )
    t0 = time.perf_counter()
    try:
        paths = result.write_report(folder.path, cat, overwrite=args.overwrite)
    except OSError as exc:
        kept = "nothing was cached" if args.no_cache else "the simulations are cached: rerun to write it"
        print(f"error: could not write the report to {folder.path}: {exc} ({kept})", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"report: {paths['html']}, {paths['markdown']}, {paths['json']} "
        f"(written in {time.perf_counter() - t0:.2f} s)"
    )
    if cat.problems:
        print(f"note: {len(cat.problems)} catalogue file(s) with problems were not validated (prismcat lint)")
    return EXIT_OK if v.ok and not cat.problems else EXIT_FAIL


def cmd_power(args: argparse.Namespace) -> int:
    from prismcat.api import check_backend, power
    from prismcat.validation.cache import DiskCache
    from prismcat.validation.executors import make_executor

    options = _run_options(args)
    if not 0 < args.delta < 1:
        raise PrismcatError(f"--delta must lie in (0, 1), not {args.delta}")
    cat = _catalog(args)
    for i in args.ids:
        cat.get(i)  # raises with a suggestion
    check_backend(cat, args.ids or None, options)
    executor = make_executor(args.executor, None, None, options.timeout, options.jobs)
    try:
        report = power(
            args.ids or None,
            catalog=cat,
            delta=args.delta,
            cache=DiskCache(None if args.no_cache else args.cache_dir),
            executor=executor,
            **options.to_json(),
        )
    finally:
        executor.close()
    if args.json:
        _print_json(report.to_json())
    else:
        print(report.table())
    return EXIT_OK if report.ok else EXIT_FAIL


def _cache_notes(stats: dict[str, Any]) -> list[str]:
    notes = []
    rejected = stats.get("rejected") or []
    if rejected:
        notes.append(f"{len(rejected)} cache file(s) were unusable and recomputed, e.g. {rejected[0]}")
    if stats.get("write_error"):
        notes.append(stats["write_error"])
    return notes


def cmd_plugins(args: argparse.Namespace) -> int:
    from prismcat.plugins import plugin_report

    items = [p.to_json() for p in plugin_report()]
    if args.json:
        _print_json(items)
        return EXIT_OK
    rows = []
    for p in items:
        what = "; ".join(f"{hook}: {', '.join(names)}" for hook, names in p["registers"].items() if names)
        version = f"{p['distribution']} {p['version']}" if p["distribution"] else "-"
        supports = "-" if p["source"] == "builtin" else (p["supports"] or "undeclared")
        rows.append([p["name"], p["source"], version, supports, "ok" if p["ok"] else "FAILED", what or "-"])
    print(_table(rows, ["plugin", "source", "package", "prismcat", "status", "registers"]))
    for p in items:
        for err in p["errors"]:
            print(f"{p['name']}: {err}")
    return EXIT_OK


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argument type: a whole number in [low, high] (one clear line otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


SIZE = whole_number(1)  # d, k, n


def parse_variance(text: str) -> float:
    """An argument type: a finite number >= 0 (an initialisation variance)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def positive_number(text: str) -> float:
    """An argument type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive, finite number, got {text}")
    return value


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``12h`` or ``7d`` as seconds."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    body, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        value = float(body)
        if not (np.isfinite(value) and value >= 0):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad age '{text}': use e.g. 90s, 30m, 12h or 7d") from None
    return value * units[unit]


def cmd_cache(args: argparse.Namespace) -> int:
    from prismcat.validation.cache import DiskCache

    cache = DiskCache(args.cache_dir)
    if args.action == "info":
        info = cache.info()
        if args.json:
            _print_json(info)
        else:
            print(
                f"{info['root']}: {info['files']} file(s), {info['bytes'] / 1e6:.1f} MB"
                + (f", oldest {info['oldest']}, newest {info['newest']}" if info["files"] else "")
            )
        return EXIT_OK
    gone = cache.clear(args.older_than)
    if args.json:
        _print_json(gone)
    else:
        print(f"removed {gone['files']} file(s), {gone['bytes'] / 1e6:.1f} MB from {args.cache_dir}")
    return EXIT_OK


def cmd_regimes(args: argparse.Namespace) -> int:
    from prismcat.report.regimes import regimes_markdown
    from prismcat.validation.records import load_results

    cat = _catalog(args)
    results = load_results(args.results) if args.results else None
    text = regimes_markdown(cat, results)
    if args.output:
        from prismcat.files import write_atomic

        write_atomic(args.output, text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_site(args: argparse.Namespace) -> int:
    from prismcat.site import build_site

    index = build_site(args.output, results=args.results, catalog=_catalog(args), overwrite=args.overwrite)
    print(f"site: {index} (serve it with: python -m http.server -d {args.output})")
    return EXIT_OK


# -- wiring ---------------------------------------------------------------------------------
def _backend_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend", default="numpy", help="simulator backend: NAME or NAME:KEY=VALUE,... (prismcat backends)"
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a backend option (repeatable), e.g. --backend sgd --option batch_size=8",
    )


def _backend_options(args: argparse.Namespace) -> dict[str, str]:
    """The ``--option KEY=VALUE`` values."""
    from prismcat.simulation.api import parse_spec

    return parse_spec("x:" + ",".join(args.option))[1] if args.option else {}


def _backend(args: argparse.Namespace) -> str:
    """The backend spec of ``--backend`` with the ``--option`` values."""
    from prismcat.simulation.api import with_options

    return with_options(args.backend, _backend_options(args))


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name. The subcommands' copies default
    to SUPPRESS, so ``prismcat --catalog DIR list`` is not undone by ``list``'s own default."""
    common = argparse.ArgumentParser(add_help=False)
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    common.add_argument(
        "--catalog",
        type=Path,
        default=default(None),
        metavar="DIR",
        help="catalogue directory (default: the packaged catalog/)",
    )
    common.add_argument(
        "--debug", action="store_true", default=default(False), help="show tracebacks of unexpected errors"
    )
    return common


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit code 2)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _size(text: str) -> int:
    from prismcat.settings import parse_size

    try:
        return parse_size(text)
    except PrismcatError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _limit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-memory",
        type=_size,
        default=None,
        metavar="SIZE",
        help="memory one simulation task may use, e.g. 4G (default: $PRISMCAT_MAX_MEMORY, else half "
        "of this machine's); a task estimated above it is refused before it starts",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="prismcat", description=__doc__.splitlines()[0], parents=[_common_options(False)])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    common = _common_options(True)

    def add(
        name: str, fn: Callable[[argparse.Namespace], int], help_: str, json_flag: bool = True
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, parents=[common])
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
        p.set_defaults(func=fn)
        return p

    add("list", cmd_list, "list the catalogue's entries: id, cell, formula kinds")
    p = add("show", cmd_show, "show one entry: exponents, parameters, formulas, cell")
    p.add_argument("id")
    p.add_argument("--latex", action="store_true", help="print the entry's formulas as LaTeX (for papers)")
    p = add("lint", cmd_lint, "validate catalogue files; exit 1 with located messages")
    p.add_argument("paths", nargs="*", type=Path, help="files or directories (default: the whole catalogue)")
    _limit_arguments(p)
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
    p = add("simulate", cmd_simulate, "run the finite-size autoencoder and print its loss curves")
    for size, typ in (("d", SIZE), ("k", SIZE), ("n", SIZE), ("sigma2", parse_variance)):
        p.add_argument(f"--{size}", type=typ, default=None)
    p.add_argument(
        "--problem",
        type=Path,
        default=None,
        metavar="FILE.npz",
        help="arrays X (d x n) and W0 (d x k)",
    )
    p.add_argument("--seed", type=whole_number(0), default=0)
    _backend_arguments(p)
    p.add_argument("--integrator", choices=["adaptive", "rk4", "euler"], default="adaptive")
    p.add_argument(
        "--dt", type=positive_number, default=None, help="step of euler/rk4 (euler: the learning rate)"
    )
    p.add_argument("--rtol", type=positive_number, default=None, help="default 1e-10 (float32: 1e-6)")
    p.add_argument("--atol", type=positive_number, default=None, help="default 1e-12 (float32: 1e-8)")
    p.add_argument(
        "--clock",
        choices=["auto", "linear", "log"],
        default="auto",
        help="adaptive: integrate in log(1 + c t)",
    )
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument(
        "--formulation",
        choices=["auto", "data-w", "covariance-w", "eigen-w", "eigen-p"],
        default="auto",
    )
    p.add_argument("--spectrum", action="store_true", help="also report the spectrum of W^T W at the end")
    _limit_arguments(p)
    p.add_argument("--times", type=parse_times, default=parse_times("0:5:51"), metavar="T0:T1:COUNT")
    p = add(
        "where", cmd_where, "place a run on the prism (or its family's geometry) and predict its loss curves"
    )
    for size, typ in (("d", SIZE), ("k", SIZE), ("n", SIZE), ("sigma2", parse_variance)):
        p.add_argument(f"--{size}", type=typ, default=None, help="autoencoder size")
    p.add_argument("--model", default="autoencoder", help="the model family (default: autoencoder)")
    p.add_argument(
        "--size",
        action="append",
        type=parse_assignment,
        metavar="NAME=VALUE",
        help="another family's size, e.g. --size p=32 --size H=1024 --size sigma=0.5",
    )
    p.add_argument(
        "--structure",
        action="append",
        metavar="KEY=VALUE",
        help="another family's structure, e.g. --structure nu=3 --structure symmetry=asym",
    )
    p.add_argument("--t-max", type=positive_number, default=5.0)
    p.add_argument("--points", type=whole_number(2, 100_000), default=51)
    p.add_argument("--top", type=whole_number(1), default=5, help="how many candidate entries")
    p.add_argument("--simulate", action="store_true", help="also run the finite-size model and compare")
    _backend_arguments(p)
    p.add_argument("--seed", type=whole_number(0), default=0)
    p.add_argument("--figure", type=Path, default=None, metavar="FILE.png")
    add("backends", cmd_backends, "list the installed simulator backends and whether each is usable")
    p = add(
        "validate",
        cmd_validate,
        "validate entries against simulation; write report.html, report.md and results.json",
        json_flag=False,
    )
    p.add_argument("ids", nargs="*", help="entry ids (default: all)")
    _backend_arguments(p)
    p.add_argument("--profile", choices=["quick", "thorough"], default="quick")
    p.add_argument("--report", type=Path, default=Path("report"), metavar="DIR")
    p.add_argument("--no-cache", action="store_true", help="recompute everything")
    p.add_argument("--cache-dir", type=Path, default=Path(".prismcat-cache"), metavar="DIR")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--seed-offset", type=int, default=0, help="shift all seeds (robustness check)")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes for the local executor (default: all cores, or $PRISMCAT_JOBS)",
    )
    p.add_argument(
        "--executor",
        choices=["local", "in-process", "dask"],
        default="local",
        help="local: a pool of --jobs processes (default); in-process: one after another; dask: a cluster",
    )
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="simulation precision")
    p.add_argument(
        "--scheduler", default=None, metavar="tcp://HOST:PORT", help="Dask scheduler (else a local cluster)"
    )
    p.add_argument("--workers", type=int, default=None, help="local Dask cluster size (default: --jobs)")
    p.add_argument(
        "--seeds-per-task", type=int, default=None, help="split each size's seeds into tasks of this many"
    )
    _limit_arguments(p)
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace report files in --report that prismcat did not write (by default it refuses)",
    )
    p.add_argument(
        "--task-timeout",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="fail a simulation task or a checker that runs longer (default 900)",
    )
    p = add(
        "power",
        cmd_power,
        "perturb each formula by +-delta (amplitude per loss, clock) and report which checks catch it",
    )
    p.add_argument("ids", nargs="*", help="entry ids (default: all with a formula)")
    p.add_argument(
        "--delta", type=float, default=0.03, help="relative size of each perturbation (default 0.03)"
    )
    _backend_arguments(p)
    p.add_argument("--profile", choices=["quick", "thorough"], default="quick")
    p.add_argument("--no-cache", action="store_true", help="recompute everything")
    p.add_argument("--cache-dir", type=Path, default=Path(".prismcat-cache"), metavar="DIR")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--seed-offset", type=int, default=0, help="shift all seeds")
    p.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="worker processes (default: all cores)"
    )
    p.add_argument("--executor", choices=["local", "in-process", "dask"], default="local")
    p.add_argument("--task-timeout", type=float, default=900.0, metavar="SECONDS")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="simulation precision")
    _limit_arguments(p)
    p = add("regimes", cmd_regimes, "write the regimes table (docs/regimes.md)", json_flag=False)
    p.add_argument("--results", type=Path, default=None, help="a results.json for the status column")
    p.add_argument("--output", type=Path, default=None, metavar="FILE")
    p = add("site", cmd_site, "build the documentation site (needs the docs extra)", json_flag=False)
    p.add_argument("--results", type=Path, default=None, help="a results.json: each entry's evidence")
    p.add_argument("--output", type=Path, default=Path("site"), metavar="DIR")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="build into a folder holding files prismcat did not write (kept; same names replaced)",
    )
    add("schema", cmd_schema, "print the JSON Schema of a catalogue entry", json_flag=False)
    p = add(
        "cells", cmd_cells, "list the cells of each family's geometry (the prism's 21, ...) and their entries"
    )
    p.add_argument("--model", default=None, help="only this model family")
    add("plugins", cmd_plugins, "list every plugin: version, what it registers, or why it failed to load")
    p = add("cache", cmd_cache, "the simulation cache: 'info' (size) or 'clear' (delete)")
    p.add_argument("action", choices=["info", "clear"])
    p.add_argument("--cache-dir", type=Path, default=Path(".prismcat-cache"), metavar="DIR")
    p.add_argument(
        "--older-than",
        type=parse_duration,
        default=None,
        metavar="AGE",
        help="clear: only files not used for this long (e.g. 7d, 12h, 30m, 90s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # a usage error exits here: one line, code 2
    try:
        return int(args.func(args))
    except Interrupted as exc:
        print(str(exc), file=sys.stderr)
        return 130
    except PrismcatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into head
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 3
    finally:
        if args.command != "plugins":
            _plugin_warnings()


def _plugin_warnings() -> None:
    """One line on stderr per plugin that failed to load or register (if plugins were loaded)."""
    from prismcat.plugins import failures, plugin_manager

    if plugin_manager.cache_info().currsize == 0:
        return
    for info in failures():
        pkg = f" ({info.distribution} {info.version})" if info.distribution else ""
        for err in info.errors:
            print(f"warning: plugin '{info.name}'{pkg} {err}; see 'prismcat plugins'", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
