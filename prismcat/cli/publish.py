"""The publishing commands: regimes (the regimes table) and site (the documentation site)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prismcat.cli.output import EXIT_OK, catalog
from prismcat.files import write_atomic
from prismcat.report.regimes import regimes_markdown
from prismcat.site import build_site
from prismcat.validation.records import load_results


def cmd_regimes(args: argparse.Namespace) -> int:
    cat = catalog(args)
    results = load_results(args.results) if args.results else None
    text = regimes_markdown(cat, results)
    if args.output:
        write_atomic(args.output, text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_site(args: argparse.Namespace) -> int:
    index = build_site(args.output, results=args.results, catalog=catalog(args), overwrite=args.overwrite)
    print(f"site: {index} (serve it with: python -m http.server -d {args.output})")
    return EXIT_OK


# -- wiring ---------------------------------------------------------------------------------


def add_commands(add) -> None:
    """The publishing subcommands, through ``add(name, function, help, json_flag=True)``."""
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
