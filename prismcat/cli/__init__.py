"""The ``prismcat`` command line: parses arguments, calls the Python API, prints.

The commands come in groups, each a module with an ``add_commands(add)``:
:mod:`~prismcat.cli.catalogue` (list, show, lint, predict, schema, cells),
:mod:`~prismcat.cli.simulate` (simulate, backends, where), :mod:`~prismcat.cli.validate`
(validate, power), :mod:`~prismcat.cli.publish` (regimes, site) and
:mod:`~prismcat.cli.housekeeping` (plugins, cache); the argument types and option groups they
share are in :mod:`~prismcat.cli.arguments`.

Exit codes: 0 success, 1 a check or lint failed, 2 bad usage or input (message on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from prismcat.cli import catalogue, housekeeping, publish, simulate, validate
from prismcat.cli.arguments import common_options
from prismcat.cli.output import EXIT_FAIL, EXIT_OK, EXIT_USAGE, plugin_warnings
from prismcat.errors import Interrupted, PrismcatError

GROUPS = (catalogue, simulate, validate, publish, housekeeping)
__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit code 2)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="prismcat", description=__doc__.splitlines()[0], parents=[common_options(False)])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    common = common_options(True)

    def add(
        name: str, fn: Callable[[argparse.Namespace], int], help_: str, json_flag: bool = True
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, parents=[common])
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
        p.set_defaults(func=fn)
        return p

    for group in GROUPS:
        group.add_commands(add)
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
            plugin_warnings()
