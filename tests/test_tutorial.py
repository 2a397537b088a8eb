"""docs/adding-a-regime.md: its example entry and its commands work as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from prismcat.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "adding-a-regime.md"


def example(text: str) -> tuple[str, str]:
    m = re.search(r"<!-- example: (\S+) -->\s*```yaml\n(.*?)```", text, re.S)
    assert m, "the tutorial's example block is missing"
    return m.group(1), m.group(2)


@pytest.mark.slow
def test_tutorial_example_lints_predicts_and_validates(tmp_path, capsys, monkeypatch):
    text = DOC.read_text()
    name, body = example(text)
    path = tmp_path / name
    path.parent.mkdir(parents=True)
    path.write_text(body)
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "my-catalog/"]) == 0
    assert "ok: 1 valid entry" in capsys.readouterr().out
    assert (
        main(
            [
                "predict",
                "large-data+mean-field+free-inner",
                "--catalog",
                "my-catalog",
                "--times",
                "0:2:5",
                "--json",
            ]
        )
        == 0
    )
    pred = json.loads(capsys.readouterr().out)
    assert pred["train"][2] == 0.5 / 5**2  # s = 1: 1 / (2 (1 + 4)^2)
    assert main(["validate", "--catalog", "my-catalog", "--report", "my-report", "--no-progress"]) == 0
    results = json.loads((tmp_path / "my-report" / "results.json").read_text())
    assert results["entries"][0]["status"] == "pass"
    # the located error the tutorial quotes
    path.write_text(body.replace("0.5 / (1 + 4 * s)**2}", "0.5 / (1 + 4 * ss)**2}", 1))
    assert main(["lint", "my-catalog/"]) == 1
    quoted = re.search(r"`(my-catalog/ld-mf-fr-inner\.yaml:\d+:\d+: losses[^`]*)`", text).group(1)
    assert quoted in capsys.readouterr().out


def test_commands_in_the_tutorial_exist():
    text = DOC.read_text()
    for cmd in re.findall(r"^prismcat (\w+)", text, re.M):
        assert cmd in {"lint", "predict", "validate", "cells", "plan"}, cmd
