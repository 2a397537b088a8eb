"""How the core's objects look in a notebook: HTML and Markdown for entries, predictions,
simulations, validations and placements, and plots that return their matplotlib axes.

The core never imports this module: it asks the registry for a view by name
(``registry().view("entry.html")``) and :mod:`prismcat.views` registers these functions as the
built-in views. Every HTML display passes through the allow-list (:mod:`prismcat.safehtml`).
matplotlib is imported only when a plot is asked for.
"""

from __future__ import annotations

import base64
import csv
import html
from pathlib import Path
from typing import Any

import numpy as np

from prismcat.figures import cell_png, where_png
from prismcat.formulas.latex import entry_latex
from prismcat.mathml import MathError, mathml
from prismcat.safehtml import sanitize
from prismcat.status import COLOURS
from prismcat.text import escape_prose
from prismcat.validation.design import default_window


class Html(str):
    """A string that is already HTML, built by prismcat (every other string is escaped)."""


def badge(status: str) -> Html:
    colour = COLOURS.get(status, COLOURS["skip"])
    return Html(
        f"<span style='color:white;background:{colour};padding:0 0.4em;border-radius:3px'>"
        f"{html.escape(status)}</span>"
    )


def table_html(rows: list[list[str]], header: list[str]) -> str:
    """An HTML table; cells are escaped unless they are :class:`Html`."""

    def cell(x: str) -> str:
        return x if isinstance(x, Html) else html.escape(str(x))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def table_markdown(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "/") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def png_html(data: bytes, alt: str, width: int | None = None) -> str:
    size = f" width='{width}'" if width else ""
    return (
        f"<img alt='{html.escape(alt)}'{size} src='data:image/png;base64,{base64.b64encode(data).decode()}'>"
    )


def entry_html(entry: Any) -> str:
    """An entry: title, summary, its cell on a small prism, parameters, its limits as MathML."""
    spec = entry.spec
    tex = entry_latex(entry)
    e = html.escape
    parts = [
        f"<h3>{e(spec.title)} <code>{e(entry.id)}</code></h3>",
        png_html(cell_png(entry), f"{entry.cell.id} on the {entry.geometry.cell_word}", 220),
        f"<p>{e(spec.summary)}</p>",
        f"<p>cell <code>{e(entry.cell.id)}</code> ({e(entry.cell.kind)}); clock {mathml(tex['clock'])}; "
        "scaling " + ", ".join(f"{e(k)} ~ N<sup>{v:g}</sup>" for k, v in entry.exponents.items()) + "</p>",
    ]
    rows = [
        [name, Html(mathml(tex["parameters"][name])), f"{p.default:g}", f"[{p.range[0]:g}, {p.range[1]:g}]"]
        for name, p in spec.parameters.items()
    ]
    if rows:
        parts.append(table_html(rows, ["parameter", "definition", "default", "range"]))
    parts.append(limits_html(entry, tex, notes=True))
    return sanitize("".join(parts), data_images=True)


def limits_html(entry: Any, tex: dict[str, Any] | None = None, notes: bool = False) -> str:
    """Each loss's limit as MathML (its LaTeX source if a formula cannot be converted) and, with
    ``notes``, the reason a loss has none; for the notebook displays and the HTML report."""
    out = []
    for loss, item in (tex or entry_latex(entry))["losses"].items():
        if item.get("kind") and "display" in item:
            try:
                math = mathml(item["display"], display=True, where=entry.id)
            except MathError:
                math = f"<pre>{html.escape(item['display'])}</pre>"
            out.append(f"<div class='formula'><span class='small'>{html.escape(loss)}</span>{math}</div>")
        elif notes and item.get("note"):
            out.append(f"<p><b>{html.escape(loss)}</b>: {html.escape(item['note'])}</p>")
    return "".join(out)


def entry_markdown(entry: Any) -> str:
    tex = entry_latex(entry)
    lines = [
        f"### {escape_prose(entry.spec.title)} (`{entry.id}`, {entry.cell.kind} `{entry.cell.id}`)",
        "",
        escape_prose(entry.spec.summary),
        "",
    ]
    for loss, item in tex["losses"].items():
        if item.get("kind") and "display" in item:
            lines += [f"**{loss}**", "", f"$$\n{item['display']}\n$$", ""]
    return "\n".join(lines)


def prediction_html(pred: Any) -> str:
    """A prediction: its parameters and a few rows of its curves."""
    idx = np.unique(np.linspace(0, pred.t.size - 1, min(pred.t.size, 6)).round().astype(int))
    rows = [
        [
            f"{pred.t[i]:.4g}",
            f"{pred.train[i]:.6g}",
            "-" if pred.population is None else f"{pred.population[i]:.6g}",
        ]
        for i in idx
    ]
    head = f"<p>{html.escape(repr(pred))}</p>"
    return sanitize(head + table_html(rows, [pred.clock, "train", "population"]))


def simresult_html(res: Any) -> str:
    i = res.info
    return sanitize(
        f"<p>{html.escape(repr(res))}</p><p>"
        + html.escape(f"{i.get('backend')}, {i.get('integrator')}, {i.get('formulation')}, ")
        + f"{i.get('evals')} evaluations</p>"
    )


def entry_result_html(res: Any) -> str:
    e = html.escape
    rows = [[c["checker"], badge(c["status"]), c["message"]] for c in res.record["checks"]]
    lines = "".join(f"<p><b>{e(k)}</b>: {e(v)}</p>" for k, v in res.headline.items())
    return sanitize(
        f"<h4>{e(res.id)} {badge(res.status)}</h4>{lines}" + table_html(rows, ["check", "status", "message"])
    )


def validation_html(res: Any) -> str:
    rows, header = res.table()
    rows = [[r[0], r[1], badge(r[2]), r[3]] for r in rows]
    head = f"<p><b>prismcat validation</b>: {html.escape(res.summary())}</p>"
    return sanitize(head + table_html(rows, header))


def validation_markdown(res: Any) -> str:
    rows, header = res.table()
    return f"**prismcat validation**: {res.summary()}\n\n" + table_markdown(rows, header)


def placement_html(place: Any) -> str:
    return sanitize(
        f"<p>{html.escape(place.headline())}</p>"
        + table_html(place.rows(), ["candidate", "score", "distance", "note"])
        + png_html(placement_png(place), "the run on the prism", 640),
        data_images=True,
    )


def placement_markdown(place: Any) -> str:
    rows = table_markdown(place.rows(), ["candidate", "score", "distance", "note"])
    return place.headline() + "\n\n" + rows


def placement_png(place: Any) -> bytes:
    return where_png(place.point, place.strength, place.candidates, place.t, place.simulation)


# -- plots ------------------------------------------------------------------------------------
def _axes(ax: Any = None):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 3.5))
    return ax


def read_curve(source: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(t, values)`` from a pair of arrays or a CSV file with two columns (a header row is
    skipped): a user's own recorded curve, already on the entry's clock and normalisation."""
    if isinstance(source, str | Path):
        with open(source, newline="") as fh:
            rows = [r for r in csv.reader(fh) if r]
        body = rows[1:] if rows and not _numeric(rows[0]) else rows  # a header row is skipped
        try:
            data = np.array([[float(x) for x in r[:2]] for r in body])
        except ValueError as exc:
            raise ValueError(f"{source}: expected two numeric columns t, value ({exc})") from None
        return data[:, 0], data[:, 1]
    t, values = source
    return np.asarray(t, dtype=float), np.asarray(values, dtype=float)


def _numeric(row: list[str]) -> bool:
    try:
        [float(x) for x in row[:2]]
    except ValueError:
        return False
    return True


def plot_prediction(pred: Any, ax: Any = None, observed: Any = None, label: str | None = None):
    """The limit curves of a :class:`~prismcat.catalog.entry.Prediction`; ``observed`` (arrays or a
    CSV, see :func:`read_curve`) is drawn over them."""
    ax = _axes(ax)
    name = label or pred.id
    ax.plot(pred.t, pred.train, label=f"{name}: train limit")
    if pred.population is not None:
        ax.plot(pred.t, pred.population, "--", label=f"{name}: population limit")
    if observed is not None:
        t, values = read_curve(observed)
        ax.plot(t, values, "k.", ms=4, label="observed")
    ax.set_xlabel(pred.clock)
    ax.set_ylabel(pred.quantities.get("train") or "loss")
    ax.legend(fontsize=8)
    return ax


def plot_record(record: dict[str, Any], loss: str = "train", ax: Any = None):
    """A validated entry: the seed band and mean at each size, and the limit (from results.json)."""
    ax = _axes(ax)
    clock = np.asarray(record["clock"], dtype=float)
    sizes = record["sizes"]
    for i, s in enumerate(sizes):
        c = s["curves"].get(loss)
        if not c:
            continue
        shade = 0.3 + 0.7 * (i + 1) / len(sizes)
        ax.fill_between(clock, c["low"], c["high"], color=(0.2, 0.4, 0.8, 0.15))
        ax.plot(clock, c["mean"], color=(0.1, 0.2, 0.6, shade), lw=1, label=f"N = {s['N']:g}")
    last = sizes[-1]["curves"].get(loss) if sizes else None
    if last and last.get("limit") is not None:
        ax.plot(clock, last["limit"], "k--", lw=1.5, label="limit")
    ax.set_title(f"{record['id']} ({loss}): {record['status']}", fontsize=9)
    ax.legend(fontsize=7)
    return ax


def plot_entry(entry: Any, params: Any = None, times: Any = None, ax: Any = None, observed: Any = None):
    """An entry's limit curves at ``params`` on ``times`` of its clock (default: its validation
    window), with ``observed`` over them."""
    if times is None:
        times = np.linspace(*default_window(entry), 61)
    pred = entry.predict(np.asarray(times, dtype=float), dict(params or {}))
    return plot_prediction(pred, ax, observed)


def plot_simresult(res: Any, ax: Any = None):
    """L_train/d and L_pop/d of a simulated run against model time."""
    ax = _axes(ax)
    ax.plot(res.t, res.train, label="L_train / d")
    ax.plot(res.t, res.population, "--", label="L_pop / d")
    p = res.problem
    ax.set_title(
        f"d={p.d} k={p.k} n={p.n} sigma2={p.sigma2:g} seed={p.seed} ({res.info.get('backend')})",
        fontsize=9,
    )
    ax.set_xlabel("t")
    ax.legend(fontsize=8)
    return ax


def plot_placement(place: Any, ax: Any = None, loss: str = "train"):
    """The candidates' predicted per-dimension losses (and the simulated run, if any)."""
    ax = _axes(ax)
    for c in place.candidates:
        curve = getattr(c, loss)
        if curve is not None:
            ax.plot(place.t, curve, label=f"{c.entry.id} ({c.score:.2f})")
    if place.simulation is not None:
        ax.plot(place.t, place.simulation[loss], "k.", ms=3, label="simulated run")
    ax.set_xlabel("t")
    ax.set_ylabel(f"L_{'train' if loss == 'train' else 'pop'} / d")
    ax.legend(fontsize=7)
    return ax
