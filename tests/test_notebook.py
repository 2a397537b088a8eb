"""docs/notebook.ipynb runs from top to bottom in a real kernel (nbclient), so it cannot rot; its
outputs are not committed. Also the displays and typed results the notebook relies on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import prismcat

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebook.ipynb"


def test_the_notebook_is_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.slow
def test_the_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="the notebook extra is not installed")
    nbclient = pytest.importorskip("nbclient", reason="the notebook extra is not installed")
    pytest.importorskip("ipykernel", reason="the notebook extra is not installed")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [
        o["data"]["text/html"]
        for o in outputs
        if o.output_type == "execute_result" and "text/html" in o.get("data", {})
    ]
    assert any("<math" in h for h in html)  # the entry displays its formulas
    assert any("prismcat validation" in h and "pass" in h for h in html)  # the validation table
    assert (tmp_path / "overlay.png").is_file()


def test_displays_and_typed_results(tmp_path):
    entry = prismcat.load_catalog().get("large-data+mean-field")
    assert (
        repr(entry) == "<Entry large-data+mean-field: Large data and mean-field (edge large-data+mean-field)>"
    )
    page = entry._repr_html_()
    assert "<math" in page and "data:image/png;base64" in page and "<table>" in page
    assert "$$" in entry._repr_markdown_()
    pred = entry.predict(np.linspace(0, 1, 5), {"u": 0.5})
    assert "Prediction large-data+mean-field" in repr(pred) and "<table>" in pred._repr_html_()
    csv = tmp_path / "run.csv"
    csv.write_text("t,loss\n0,0.1\n0.5,0.05\n")
    ax = entry.plot({"u": 0.5}, observed=csv)
    assert [line.get_label() for line in ax.get_lines()][-1] == "observed"


@pytest.mark.slow
def test_validate_returns_what_results_json_holds(tmp_path):
    res = prismcat.validate("large-data+mean-field", cache=tmp_path / "cache", progress=False, jobs=1)
    assert res.ok and len(res) == 1 and res["large-data+mean-field"].status == "pass"
    paths = res.write_report(tmp_path / "report")
    assert json.loads(paths["json"].read_text()) == json.loads(json.dumps(res.to_json()))
    assert "pass" in res._repr_html_() and "| large-data+mean-field |" in res._repr_markdown_()
    assert res["large-data+mean-field"].plot().get_title().startswith("large-data+mean-field")
    with pytest.raises(KeyError, match="no entry 'nope'"):
        res["nope"]


def test_where_returns_a_placement():
    placement = prismcat.where(64, 1024, 128, 1 / 2048, t_max=2.0, points=11)
    data = placement.to_json()
    assert data["best_fit"] is None and placement.best is None  # no run to compare with
    assert [c["id"] for c in data["candidates"]] == [c.entry.id for c in placement.candidates]
    assert data["candidates"][0]["id"] == "mean-field"
    assert "<table>" in placement._repr_html_() and placement.plot().get_lines()


@pytest.mark.slow
def test_an_interrupted_validation_keeps_what_it_simulated_and_resumes(tmp_path):
    """The kernel's stop button raises KeyboardInterrupt in the running call: the finished
    simulations stay in the cache and the same call then resumes from them."""
    from prismcat.errors import Interrupted
    from prismcat.validation.executors import InProcessExecutor

    class StopAfterTwo(InProcessExecutor):
        def map(self, fn, tasks):
            for i, outcome in enumerate(super().map(fn, tasks)):
                if i == 2:
                    raise KeyboardInterrupt
                yield outcome

    cache = tmp_path / "cache"
    with pytest.raises(Interrupted, match="2 of 20 simulation tasks finished and kept in the cache"):
        prismcat.validate("large-data+mean-field", cache=cache, executor=StopAfterTwo(), progress=False)
    res = prismcat.validate(
        "large-data+mean-field", cache=cache, executor=InProcessExecutor(), progress=False
    )
    # two designed parameter points x five rungs x two blocks of seeds (12 = 8 + 4)
    assert res.ok and res.validation.cache["hits"] == 2 and res.validation.cache["misses"] == 18
