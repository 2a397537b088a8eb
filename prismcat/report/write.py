"""Writes ``results.json``, ``report.md`` and a self-contained ``report.html`` (figures embedded)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from prismcat import figures
from prismcat.display import limits_html
from prismcat.files import OutputFolder
from prismcat.prism_drawing import LEGEND, cell_status
from prismcat.safehtml import sanitize
from prismcat.status import COLOURS
from prismcat.validation.design import given_fields, point_label
from prismcat.validation.outcome import Validation
from prismcat.validation.records import to_records


def results_json(records: dict[str, Any]) -> str:
    return json.dumps(records, indent=1, allow_nan=False) + "\n"


def write_report(
    v: Validation, catalog: Any, out_dir: str | Path, *, workers: int | None = None, overwrite: bool = False
) -> dict[str, Path]:
    """Write the three report files of a validation into ``out_dir`` (each atomically); return
    their paths."""
    return write_records(to_records(v), catalog, out_dir, workers=workers, overwrite=overwrite)


REPORT_FILES = {"json": "results.json", "markdown": "report.md", "html": "report.html"}
# how the report files of a prismcat from before the folder marker begin (they may be replaced)
LEGACY = {
    "results.json": b'"prismcat_version"',
    "report.md": b"# prismcat validation report",
    "report.html": b"<title>prismcat validation report</title>",
}


def report_bytes(entries: int) -> int:
    """A generous estimate of the report's size on disk (measured: 0.2 MB an entry), to check the
    folder's free space before a run."""
    return 10_000_000 + 500_000 * entries


def report_folder(path: str | Path, entries: int, overwrite: bool = False) -> OutputFolder:
    """The report's folder, checked (before a run, and again before writing): a folder this process
    can write, with room for the report, where no file of the user's would be replaced unless
    ``overwrite`` (see :class:`prismcat.files.OutputFolder`)."""
    folder = OutputFolder(path, "report", overwrite=overwrite)
    folder.check(REPORT_FILES.values(), needed=report_bytes(entries), legacy=LEGACY)
    return folder


def write_records(
    records: dict[str, Any],
    catalog: Any,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the three report files of ``records`` (a validation's ``results.json`` content, e.g.
    :func:`prismcat.validation.runner.to_records` or a saved file) into ``out_dir``, each
    atomically and listed in the folder's marker; return their paths. ``workers``: processes
    drawing the figures (see :func:`prismcat.figures.entry_pngs`). Everything is rendered
    before the first file is written."""
    folder = report_folder(out_dir, len(records["entries"]), overwrite)
    texts = {
        "json": results_json(records),
        "markdown": markdown(records),
        "html": html_report(records, catalog, workers=workers),
    }
    return {key: folder.write(REPORT_FILES[key], text) for key, text in texts.items()}


def _last_errors(rec: dict[str, Any], loss: str) -> str:
    if not rec["sizes"] or loss not in rec["sizes"][-1]["errors"]:
        return "-"
    stat = rec["settings"].get("statistic", "mean_curve")
    return f"{rec['sizes'][-1]['errors'][loss][stat]:.3g}"


def _rates(rec: dict[str, Any]) -> str:
    """The fitted rates of the first check that reports one (see CheckResult.rate)."""
    for c in rec["checks"]:
        rates = c.get("rate") or {}
        parts = [f"{rates[loss]['fitted_rate']:.2f}" for loss in ("train", "population") if loss in rates]
        if parts:
            declared = next(iter(rates.values())).get("declared_rate")
            return f"{' / '.join(parts)} (declared {declared:g})"
    return "-"


def _headline(rec: dict[str, Any], sep: str) -> str:
    """Each loss's headline, at every parameter point of the design (labelled where there are
    several): a formula right at the first point and wrong at the second shows it here."""
    points = [rec, *rec.get("points", [])]
    parts = []
    for point in points:
        lines = [f"{loss}: {line}" for loss, line in point.get("headline", {}).items()]
        if len(points) > 1 and lines:
            lines[0] = f"at {point_label((point.get('settings') or {}).get('parameters', {}))}: {lines[0]}"
        parts += lines
    return sep.join(parts) or "-"


def _last_relative(rec: dict[str, Any], loss: str) -> str:
    """The relative distance at the largest size, from any check that reports one."""
    for c in rec["checks"]:
        rel = c["details"].get(loss, {}).get("relative") if isinstance(c["details"].get(loss), dict) else None
        if rel is not None:
            return f"{100 * rel:.3g}%"
    return _last_errors(rec, loss)


def markdown(records: dict[str, Any]) -> str:
    s = records["summary"]
    lines = [
        "# prismcat validation report",
        "",
        f"Backend `{records['backend']}`, profile `{records['profile']}`, "
        f"prismcat {records['prismcat_version']}: "
        f"**{s['passed']} passed, {s['failed']} failed, {s['errors']} errors** of {s['total']} entries.",
        "",
        "| entry | cell | status | formula vs the infinite-size extrapolation "
        "| error at largest N (train / pop) "
        "| fitted rate (train / pop) | checks |",
        "|---|---|---|---|---|---|---|",
    ]
    for rec in records["entries"]:
        checks = ", ".join(f"{c['checker']} {c['status']}" for c in rec["checks"]) or "-"
        errs = f"{_last_relative(rec, 'train')} / {_last_relative(rec, 'population')}"
        extra = _headline(rec, "; ")
        lines.append(
            f"| {rec['id']} | {rec['cell']} | {rec['status']} | {extra} | {errs} | {_rates(rec)} | {checks} |"
        )
    bad = [r for r in records["entries"] if r["status"] != "pass"]
    if bad:
        lines += ["", "## Problems", ""]
        lines += [f"- **{r['id']}** ({r['status']}): {r['message']}" for r in bad]
    return "\n".join(lines) + "\n"


CSS = """
.formula{margin:0.5em 0;overflow-x:auto}.formula .small{margin-right:1em}
mtd[columnalign="left"]{text-align:left}mtd[columnalign="right"]{text-align:right}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1150px;
color:#222}
table{border-collapse:collapse;margin:0.6em 0;font-size:0.9em}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.pass{color:#2e9e44;font-weight:bold}.fail{color:#d62728;font-weight:bold}
.error{color:#ff8c00;font-weight:bold}.skip{color:#888}section{border-top:2px solid #ddd;margin-top:1.5em}
img{max-width:100%}code{background:#f5f5f5;padding:0 3px}.small{font-size:0.85em;color:#555}
"""


def _img(data: bytes | None, alt: str) -> str:
    if data is None:
        return ""
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _status(s: str) -> str:
    known = s if s in ("pass", "fail", "error", "skip") else "skip"
    return f'<span class="{known}">{html.escape(s)}</span>'


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return html.escape(str(v))

    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _checks_table(checks: list[dict[str, Any]]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(c['checker'])}</td><td>{_status(c['status'])}</td><td>{e(c['message'])}</td></tr>"
        for c in checks
    )
    return f"<table><tr><th>check</th><th>status</th><th>reason</th></tr>{rows}</table>" if rows else ""


def design_html(rec: dict[str, Any]) -> str:
    """The experiment each parameter point ran and why (what the design chose, what was given)."""
    e = html.escape
    rows = []
    for st in [rec["settings"], *(p["settings"] for p in rec.get("points", []))]:
        if not st:
            continue
        where = point_label(st.get("parameters", {}))
        ladder = ", ".join(f"{x:g}" for x in st.get("ladder", []))
        vis = st.get("visibility")
        given = given_fields(st.get("designed", []), bool(st.get("parameters")))
        why = "<br>".join(e(w) for w in st.get("why", [])) or "-"
        rows.append(
            f"<tr><td>{e(where)}</td><td>[{st.get('start', 0):g}, {st.get('horizon', 0):g}]</td>"
            f"<td>{e(ladder)}</td><td>{st.get('seeds', '-')}</td>"
            f"<td>{'-' if vis is None else f'{vis:.2f}'}</td><td>{e(', '.join(given) or 'none')}</td>"
            f"<td class='small'>{why}</td></tr>"
        )
    if not rows:
        return ""
    head = (
        "<tr><th>parameter point</th><th>window</th><th>ladder N</th><th>seeds</th>"
        "<th>clock visibility</th><th>given by the entry</th><th>why (the design rule)</th></tr>"
    )
    return f"<p class='small'>The experiment:</p><table>{head}{''.join(rows)}</table>"


def _figure_job(rec: dict[str, Any], catalog: Any) -> figures.Job:
    entry = catalog.entries.get(rec["id"])
    clock = entry.clock_name if entry else "t"
    quantities = {loss: entry.spec_quantity(loss) for loss in ("train", "population")} if entry else {}
    return rec, clock, quantities


def html_report(records: dict[str, Any], catalog: Any, *, workers: int | None = None) -> str:
    """The self-contained HTML report (figures embedded as PNG); ``workers`` as for
    :func:`prismcat.figures.entry_pngs`."""
    statuses = {r["id"]: r["status"] for r in records["entries"]}
    pictures = []
    for geometry, entries in catalog.by_geometry().items():
        cell_entries: dict[str, list[str]] = {}
        for e in entries:
            cell_entries.setdefault(e.cell.id, []).append(e.id)
        marks = cell_status(statuses, cell_entries, geometry.cells())
        title = (
            "The prism, coloured by validation status"
            if geometry.key == "prism"
            else f"The {geometry.title}, coloured by validation status"
        )
        pictures.append(
            _img(
                figures.geometry_png(geometry, marks, title),
                f"{'prism' if geometry.key == 'prism' else geometry.title} coloured by status",
            )
        )
    pngs = figures.entry_pngs([_figure_job(rec, catalog) for rec in records["entries"]], workers=workers)
    e = html.escape
    s = records["summary"]
    parts = [
        "<h1>prismcat validation report</h1>",
        f"<p>Backend <code>{e(records['backend'])}</code>, "
        f"profile <code>{e(records['profile'])}</code>, "
        f"prismcat {e(records['prismcat_version'])}: <b>{s['passed']} passed, {s['failed']} failed, "
        f"{s['errors']} errors</b> of {s['total']} entries "
        f"<span class='small'>(wall time {records['timing']['total_s']:.1f} s)</span>.</p>",
        *pictures,
        "<p class='small'>Faces are the filled areas, edges the lines, vertices the dots (on a Pareto "
        "polygon of another model family: its edges and vertices, the interior filled); green: all "
        "entries of that cell pass, red: one fails, orange: one could not be evaluated, grey: no entry.</p>",
        "<h2>Summary</h2><p class='small'>Per entry and loss: how far the formula lies from the "
        "infinite-size curve extrapolated from the ladder (the entry's declared correction fitted "
        "seed by seed), in % of the quantity's scale, and the resolution: the smallest relative "
        "formula error (its amplitude, or its clock's time scale) this run detects with 80% "
        "probability. Errors at the largest size are in % of the scale.</p>"
        "<table><tr><th>entry</th><th>cell</th><th>status</th>"
        "<th>formula vs the infinite-size extrapolation</th>"
        "<th>error at largest N<br>(train / pop)</th><th>fitted rate</th><th>reason</th></tr>",
    ]
    for rec in records["entries"]:
        errs = f"{_last_relative(rec, 'train')} / {_last_relative(rec, 'population')}"
        parts.append(
            f"<tr><td><a href='#{e(rec['id'])}'>{e(rec['id'])}</a></td><td>{e(rec['cell'])}</td>"
            f"<td>{_status(rec['status'])}</td>"
            f"<td class='small'>{e(_headline(rec, '; '))}</td>"
            f"<td>{e(errs)}</td><td>{e(_rates(rec))}</td>"
            f"<td class='small'>{e(rec['message'])}</td></tr>"
        )
    parts.append("</table>")
    for rec, image in zip(records["entries"], pngs, strict=True):
        parts.append(f"<section id='{e(rec['id'])}'><h2>{e(rec['id'])}: {e(rec['title'])}</h2>")
        parts.append(
            f"<p>Cell <code>{e(rec['cell'])}</code> ({e(rec['cell_kind'])}), "
            f"file <code>{e(str(rec['file']))}</code>. "
            f"Status {_status(rec['status'])}.</p>"
        )
        entry = catalog.entries.get(rec["id"])
        parts.append(limits_html(entry) if entry is not None else "")
        for loss, line in rec.get("headline", {}).items():
            parts.append(f"<p><b>{e(loss)}</b>: {e(line)}</p>")
        if rec["message"]:
            parts.append(f"<p class='small'>{e(rec['message'])}</p>")
        parts.append(design_html(rec))
        parts.append(_checks_table(rec["checks"]))
        for point in rec.get("points", []):
            parts.append(
                f"<p><b>At {e(point_label(point['parameters']))}</b>: {_status(point['status'])}</p>"
            )
            for loss, line in point.get("headline", {}).items():
                parts.append(f"<p class='small'><b>{e(loss)}</b>: {e(line)}</p>")
            parts.append(_checks_table(point["checks"]))
        for c in rec["checks"]:
            if c["table"]:
                parts.append(f"<p class='small'>{e(c['checker'])}:</p>" + _table(c["table"]))
        parts.append(_img(image, f"curves of {rec['id']}"))
        parts.append("</section>")
    colours = ", ".join(f"{k} {COLOURS[k]}" for k in LEGEND)
    parts.append(f"<p class='small'>Status colours: {colours}.</p>")
    head = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>prismcat validation report</title>"
        f"<style>{CSS}</style></head><body>"
    )
    return head + sanitize("\n".join(parts), data_images=True) + "\n</body></html>"
