"""The validation commands: validate (the report) and power (which errors the checks catch)."""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path

from prismcat import api
from prismcat.cli.arguments import run_arguments, run_options
from prismcat.cli.output import EXIT_FAIL, EXIT_OK, EXIT_USAGE, cache_notes, catalog, print_json, table
from prismcat.errors import PrismcatError
from prismcat.report.write import report_folder
from prismcat.validation.cache import DiskCache
from prismcat.validation.executors import check_executor, make_executor
from prismcat.validation.power import DEFAULT_DELTA


def cmd_validate(args: argparse.Namespace) -> int:
    options = run_options(args)
    check_executor(args.executor, args.workers)
    cat = catalog(args)
    api.check_backend(cat, args.ids or None, options)
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
    for note in cache_notes(v.cache):
        print(f"warning: {note}", file=sys.stderr)
    rows = [[r.entry.id, r.entry.cell.id, r.status, _points(r)] for r in v.runs]
    print(table(rows, ["entry", "cell", "status", "parameter points"]))
    for r in v.runs:
        if r.status != "pass":  # the whole reason, one finding per line
            print(f"\n{r.entry.id} ({r.status}):")
            for part in findings(r.message):
                print(textwrap.fill(part, width=110, initial_indent="  ", subsequent_indent="    "))
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


def findings(message: str) -> list[str]:
    """A run's message split at its top-level "; " (not inside parentheses), one finding each."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(message):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and message.startswith("; ", i):
            parts.append(message[start:i])
            start = i + 2
    return [*parts, message[start:]]


def _points(run) -> str:
    return " | ".join(p.settings.where() for p in run.all_points())


def cmd_power(args: argparse.Namespace) -> int:
    options = run_options(args)
    if not 0 < args.delta < 1:
        raise PrismcatError(f"--delta must lie in (0, 1), not {args.delta}")
    cat = catalog(args)
    for i in args.ids:
        cat.get(i)  # raises with a suggestion
    api.check_backend(cat, args.ids or None, options)
    executor = make_executor(args.executor, None, None, options.timeout, options.jobs)
    try:
        report = api.power(
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
        print_json(report.to_json())
    else:
        print(report.table())
    return EXIT_OK if report.ok else EXIT_FAIL


def cmd_plan(args: argparse.Namespace) -> int:
    options = run_options(args)
    cat = catalog(args)
    for i in args.ids:
        cat.get(i)  # raises with a suggestion
    result = api.plan(
        args.ids or None,
        catalog=cat,
        cache=DiskCache(None if args.no_cache else args.cache_dir),
        **options.to_json(),
    )
    if args.json:
        print_json(result.to_json())
    else:
        print(result.table())
    return EXIT_OK if not result.problems else EXIT_FAIL


def add_commands(add) -> None:
    """The validation subcommands, through ``add(name, function, help, json_flag=True)``."""
    p = add(
        "validate",
        cmd_validate,
        "validate entries against simulation; write report.html, report.md and results.json",
        json_flag=False,
    )
    p.add_argument("ids", nargs="*", help="entry ids (default: all)")
    run_arguments(p)
    p.add_argument("--report", type=Path, default=Path("report"), metavar="DIR")
    p.add_argument(
        "--scheduler", default=None, metavar="tcp://HOST:PORT", help="Dask scheduler (else a local cluster)"
    )
    p.add_argument("--workers", type=int, default=None, help="local Dask cluster size (default: --jobs)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace report files in --report that prismcat did not write (by default it refuses)",
    )
    p = add(
        "power",
        cmd_power,
        "perturb each formula by +-delta (amplitude per loss, clock) and report which checks catch it",
    )
    p.add_argument("ids", nargs="*", help="entry ids (default: all with a formula)")
    p.add_argument(
        "--delta",
        type=float,
        default=DEFAULT_DELTA,
        help=f"relative size of each perturbation (default {DEFAULT_DELTA:g})",
    )
    run_arguments(p)
    p = add(
        "plan",
        cmd_plan,
        "print each entry's designed experiment (points, window, ladder, seeds), its cost and resolution; "
        "simulate nothing",
    )
    p.add_argument("ids", nargs="*", help="entry ids (default: all)")
    run_arguments(p)
