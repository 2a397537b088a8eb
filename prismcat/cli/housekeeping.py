"""The housekeeping commands: plugins (what is installed and why one failed) and cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from prismcat.cli.arguments import parse_duration
from prismcat.cli.output import EXIT_OK, print_json, table
from prismcat.plugins import plugin_report
from prismcat.settings import DEFAULT_CACHE_DIR
from prismcat.validation.cache import DiskCache


def cmd_plugins(args: argparse.Namespace) -> int:
    items = [p.to_json() for p in plugin_report()]
    if args.json:
        print_json(items)
        return EXIT_OK
    rows = []
    for p in items:
        what = "; ".join(f"{hook}: {', '.join(names)}" for hook, names in p["registers"].items() if names)
        version = f"{p['distribution']} {p['version']}" if p["distribution"] else "-"
        supports = "-" if p["source"] == "builtin" else (p["supports"] or "undeclared")
        rows.append([p["name"], p["source"], version, supports, "ok" if p["ok"] else "FAILED", what or "-"])
    print(table(rows, ["plugin", "source", "package", "prismcat", "status", "registers"]))
    for p in items:
        for err in p["errors"]:
            print(f"{p['name']}: {err}")
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    cache = DiskCache(args.cache_dir)
    if args.action == "info":
        info = cache.info()
        if args.json:
            print_json(info)
        else:
            print(
                f"{info['root']}: {info['files']} file(s), {info['bytes'] / 1e6:.1f} MB"
                + (f", oldest {info['oldest']}, newest {info['newest']}" if info["files"] else "")
            )
        return EXIT_OK
    gone = cache.clear(args.older_than)
    if args.json:
        print_json(gone)
    else:
        print(f"removed {gone['files']} file(s), {gone['bytes'] / 1e6:.1f} MB from {args.cache_dir}")
    return EXIT_OK


def add_commands(add) -> None:
    """The housekeeping subcommands, through ``add(name, function, help, json_flag=True)``."""
    add("plugins", cmd_plugins, "list every plugin: version, what it registers, or why it failed to load")
    p = add("cache", cmd_cache, "the simulation cache: 'info' (size) or 'clear' (delete)")
    p.add_argument("action", choices=["info", "clear"])
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, metavar="DIR")
    p.add_argument(
        "--older-than",
        type=parse_duration,
        default=None,
        metavar="AGE",
        help="clear: only files not used for this long (e.g. 7d, 12h, 30m, 90s)",
    )
