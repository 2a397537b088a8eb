"""Options that exist both before and after the command mean the same wherever they are written."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from prismcat.cli import build_parser, main

REQUIRED = {  # the least each command needs to parse
    "show": ["mean-field"],
    "predict": ["mean-field"],
    "where": ["--d", "8", "--k", "2", "--n", "16", "--sigma2", "0.1"],
    "cache": ["info"],
}


def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def global_options() -> list[str]:
    """Every option of the top-level parser (besides --help)."""
    return [a.option_strings[0] for a in build_parser()._actions if a.option_strings and a.dest != "help"]


def test_the_global_options_are_the_ones_tested():
    assert global_options() == ["--catalog", "--debug"]
    assert len(commands()) >= 13


@pytest.mark.parametrize("command", commands())
def test_catalog_and_debug_work_before_and_after_the_command(command):
    parser = build_parser()
    rest = REQUIRED.get(command, [])
    for argv in (
        ["--catalog", "my-cat", "--debug", command, *rest],
        [command, *rest, "--catalog", "my-cat", "--debug"],
        ["--debug", command, *rest, "--catalog", "my-cat"],
        ["--catalog", "my-cat", command, "--debug", *rest],
    ):
        args = parser.parse_args(argv)
        assert args.catalog == Path("my-cat"), argv
        assert args.debug is True, argv
    args = parser.parse_args([command, *rest])
    assert args.catalog is None and args.debug is False
    # written twice, the later one wins, as for any option
    args = parser.parse_args(["--catalog", "a", command, *rest, "--catalog", "b"])
    assert args.catalog == Path("b")


def test_catalog_before_the_command_is_used(small, capsys):
    assert main(["--catalog", str(small), "list"]) == 0
    before = capsys.readouterr().out
    assert main(["list", "--catalog", str(small)]) == 0
    after = capsys.readouterr().out
    assert before == after and "2 entries" in before


def test_debug_before_the_command_shows_the_traceback(small, monkeypatch):
    from prismcat.cli import catalogue

    def boom(args):
        raise RuntimeError("bug")

    monkeypatch.setattr(catalogue, "cmd_list", boom)
    assert main(["--catalog", str(small), "list"]) == 3  # rebuilt parser picks up the patched command
    with pytest.raises(RuntimeError, match="bug"):
        main(["--debug", "--catalog", str(small), "list"])
