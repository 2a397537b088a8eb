"""What the command line prints: tables, JSON, located problems, the catalogue's warnings, the
cache's notes, and one line per plugin that failed to load."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from prismcat.catalog import load_catalog
from prismcat.errors import format_path
from prismcat.plugins import failures, plugin_manager

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def catalog(args: argparse.Namespace, check_values: bool = False):
    cat = load_catalog(args.catalog, check_values=check_values)
    if cat.problems and not getattr(args, "quiet_problems", False):
        print(
            f"warning: {len(cat.problems)} problem(s) in the catalogue (run 'prismcat lint'):",
            file=sys.stderr,
        )
        for p in cat.problems[:5]:
            print(f"  {p}", file=sys.stderr)
    return cat


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


# -- commands -------------------------------------------------------------------------------


def problem_json(p) -> dict[str, Any]:
    loc = p.location
    return {
        "file": loc.file,
        "line": loc.line,
        "column": loc.column,
        "path": format_path(loc.path),
        "message": p.message,
    }


def cache_notes(stats: dict[str, Any]) -> list[str]:
    notes = []
    rejected = stats.get("rejected") or []
    if rejected:
        notes.append(f"{len(rejected)} cache file(s) were unusable and recomputed, e.g. {rejected[0]}")
    if stats.get("write_error"):
        notes.append(stats["write_error"])
    return notes


def plugin_warnings() -> None:
    """One line on stderr per plugin that failed to load or register (if plugins were loaded)."""
    if plugin_manager.cache_info().currsize == 0:
        return
    for info in failures():
        pkg = f" ({info.distribution} {info.version})" if info.distribution else ""
        for err in info.errors:
            print(f"warning: plugin '{info.name}'{pkg} {err}; see 'prismcat plugins'", file=sys.stderr)
