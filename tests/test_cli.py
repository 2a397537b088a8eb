"""The command line: every command, its JSON output and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from prismcat.cli import main

from .conftest import CATALOG


def run(capsys, *argv):
    code = main([*argv, "--catalog", str(CATALOG)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_json(capsys, catalog):
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0
    data = json.loads(out)
    ids = [e["id"] for e in data["entries"]]
    assert {"large-data", "small-data", "mean-field", "narrow-latent", "free"} <= set(ids)
    mf = next(e for e in data["entries"] if e["id"] == "mean-field")
    assert mf["cell"] == "mean-field"
    assert mf["formula_kinds"] == {"train": "spectral_integral", "population": "spectral_integral"}


def test_list_table_and_show(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and "narrow-latent" in out and "entries" in out
    code, out, _ = run(capsys, "show", "small-data")
    assert code == 0
    assert "tau = t * d / n" in out and "ode_family" in out and "x_alpha=-1" in out
    code, out, _ = run(capsys, "show", "small-data", "--json")
    info = json.loads(out)
    assert info["scaling"] == {"d": 1.0, "k": 1.0, "n": 0.0, "sigma2": -1.0}
    assert info["cell_kind"] == "face"


def test_show_unknown_id_suggests(capsys):
    code, _, err = run(capsys, "show", "mean-feld")
    assert code == 2
    assert "no entry 'mean-feld'" in err and "did you mean 'mean-field'" in err


def test_predict_json_matches_python_api(capsys, catalog):
    code, out, _ = run(
        capsys,
        "predict",
        "mean-field",
        "--set",
        "u=0.25",
        "--set",
        "alpha=0.5",
        "--times",
        "0:2:5",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"id", "t", "train", "population"}
    assert data["t"] == [0.0, 0.5, 1.0, 1.5, 2.0]
    pred = catalog.get("mean-field").predict(np.linspace(0, 2, 5), {"u": 0.25, "alpha": 0.5})
    np.testing.assert_array_equal(data["train"], pred.train)
    np.testing.assert_array_equal(data["population"], pred.population)
    assert data["train"][0] == pytest.approx(0.5 * 0.75**2)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["predict", "mean-field", "--set", "u=50000"], "lies outside its range"),
        (["predict", "mean-field", "--set", "beta=1"], "unknown parameter 'beta'"),
        (["predict", "interior"], "no closed-form limit"),
        (["predict", "free", "--times", "0:1:3"], "not finite"),
    ],
)
def test_predict_errors_are_messages_not_tracebacks(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("bad", ["1:0:5", "0:1:0", "0:1", "a:b:c", "0,nan", ""])
def test_bad_times_are_usage_errors(capsys, bad):
    with pytest.raises(SystemExit) as info:
        main(["predict", "mean-field", "--times", bad])
    assert info.value.code == 2
    assert "bad times" in capsys.readouterr().err


def test_lint_ok_and_failing(capsys, tmp_path):
    code, out, _ = run(capsys, "lint")
    assert code == 0 and out.startswith("ok:")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (CATALOG / "faces" / "mean-field.yaml")
        .read_text()
        .replace("exp(4 * lam * t)", "exp(4 * lamda * t)", 1)
    )
    code, out, _ = run(capsys, "lint", str(bad))
    assert code == 1
    assert "losses.train.formula.where.D: unknown name 'lamda'" in out
    code, out, _ = run(capsys, "lint", str(bad), "--json")
    data = json.loads(out)
    assert data["ok"] is False
    assert data["problems"][0]["path"] == "losses.train.formula.where.D"
    assert data["problems"][0]["line"] > 1


def test_schema_is_json(capsys):
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert json.loads(out)["title"] == "prismcat catalogue entry"


def test_cells_lists_all_21(capsys):
    code, out, _ = run(capsys, "cells", "--json", "--model", "autoencoder")
    assert code == 0
    assert len(json.loads(out)) == 21


def test_console_script_runs():
    """The installed entry point works as a subprocess (what users and scripts call)."""
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "prismcat.cli",
            "predict",
            "large-data",
            "--times",
            "0,1",
            "--json",
            "--catalog",
            str(CATALOG),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["train"][0] == pytest.approx(0.375)
