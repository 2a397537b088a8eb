"""One Markdown page per catalogue entry: formulas as mathematics (printed from the expression AST
by :mod:`prismcat.formulas.latex`), its cell on the prism, exponents, parameters, clock,
convergence claim, references and, given a validation's records, its evidence."""

from __future__ import annotations

import html
import re
from typing import Any

from prismcat.catalog.references import ARXIV, THEORY, THEORY_MENTION
from prismcat.formulas.latex import entry_latex, latex_symbol, text_latex, to_latex
from prismcat.text import escape_prose
from prismcat.validation.design import point_label


def reference_link(ref: str, depth: int = 1) -> str:
    """A reference as a Markdown link: arXiv ids to arxiv.org, theory headings to their page."""
    up = "../" * depth
    if m := ARXIV.match(ref):
        return f"[{ref}](https://arxiv.org/abs/{m.group('id')})"
    if m := THEORY.match(ref):
        return _theory_link(m, up)
    return f"<code>{html.escape(ref)}</code>"


def _theory_link(m: re.Match, up: str) -> str:
    anchor = f"#{m.group('anchor')}" if m.group("anchor") else ""
    return f"[{m.group(0).removeprefix('docs/')}]({up}theory/{m.group('page')}{anchor})"


def linkify(text: str, depth: int = 1) -> str:
    """Theory headings named in prose (``docs/theory/free.md#free-edges``) as links."""
    return THEORY_MENTION.sub(lambda m: _theory_link(m, "../" * depth), text)


def _display(tex: str) -> str:
    return f"\n$$\n{tex}\n$$\n"


def prose(text: str, depth: int = 1) -> str:
    """Catalogue prose as Markdown for a page (:func:`prismcat.text.escape_prose`), with the theory
    headings it names linked."""
    return escape_prose(text, lambda plain: linkify(plain, depth))


def _status_line(record: dict[str, Any]) -> list[str]:
    """A results.json record's verdict as an HTML block (not Markdown: every field of a results file
    is plain text, escaped)."""
    e = html.escape
    profile = record.get("settings", {}).get("profile", "?")
    lines = [f"<p><strong>Validation: {e(record['status'])}</strong> ({e(str(profile))} profile).</p>"]
    if record.get("message"):
        lines.append(f"<blockquote><p>{e(record['message'])}</p></blockquote>")
    heads = "".join(f"<li>{e(loss)}: {e(line)}</li>" for loss, line in record.get("headline", {}).items())
    if heads:
        lines.append(f"<ul>{heads}</ul>")
    for point in record.get("points", []):  # the design's further parameter points
        heads = "".join(f"<li>{e(loss)}: {e(line)}</li>" for loss, line in point.get("headline", {}).items())
        where = point_label(point["parameters"])
        lines.append(f"<p>At {e(where)}: <strong>{e(point['status'])}</strong></p><ul>{heads}</ul>")
    rows = "".join(
        f"<tr><td>{e(c['checker'])}</td><td>{e(c['status'])}</td><td>{e(c['message'])}</td></tr>"
        for c in record["checks"]
    )
    if rows:
        lines.append(
            f"<table><thead><tr><th>check</th><th>status</th><th>message</th></tr></thead>{rows}</table>"
        )
    return ["", "\n".join(lines), ""]


def entry_page(entry: Any, record: dict[str, Any] | None = None, figure: str | None = None) -> str:
    """The Markdown of ``entry``'s page; ``record`` is its results.json record, ``figure`` the file
    name of its evidence figure (next to the page), ``entry.id + '-prism.png'`` its prism picture."""
    spec = entry.spec
    tex = entry_latex(entry)
    exps = ", ".join(f"{latex_symbol(k)} \\sim N^{{{v:g}}}" for k, v in entry.exponents.items())
    out = [
        f"# {prose(spec.title)} {{#{entry.id}}}",
        "",
        prose(spec.summary),
        "",
        f"![the {entry.cell.id} cell on the {entry.geometry.cell_word}]({entry.id}-prism.png)"
        "{ width=320 align=right }",
        "",
        "| | |",
        "|---|---|",
        f"| entry | `{entry.id}` |",
        f"| model | {prose(entry.family.title)} (`{entry.family.name}`"
        + (f", {prose(entry.geometry.title)})" if entry.geometry.key != "prism" else ")")
        + " |",
        f"| cell | `{entry.cell.id}` ({entry.cell.kind}) |",
        f"| scaling | ${exps}$ |",
        f"| clock | ${tex['clock']}$ |",
        "",
    ]
    if spec.parameters:
        out += ["## Parameters", "", "| parameter | definition | default | range |", "|---|---|---|---|"]
        for name, p in spec.parameters.items():
            low, high = p.range
            out.append(f"| `{name}` | ${tex['parameters'][name]}$ | {p.default:g} | [{low:g}, {high:g}] |")
        out.append("")
    out += ["## Limits", ""]
    for loss, item in tex["losses"].items():
        out.append(f"### {loss.capitalize()} loss")
        if "display" in item:
            out.append(_display(item["display"]))
        if item.get("note"):
            out.append(f"{prose(item['note'])}\n")
        if item.get("convergence"):
            out.append(f"Finite-size error: ${item['convergence']}$.\n")
    for note in tex.get("notation", []):
        out.append(f"- ${note}$")
    conv = spec.convergence
    out += ["", "## Convergence claim", ""]
    small = (
        conv.in_
        if isinstance(conv.in_, str)
        else f"{conv.in_.train} (train), {conv.in_.population} (population)"
    )
    small_tex = to_latex(small) if isinstance(conv.in_, str) else text_latex(small)
    rate = f"$\\varepsilon^{{{conv.rate:g}}}$"
    out.append(f"The distance to the limit decays like {rate} with $\\varepsilon = {small_tex}$.")
    if conv.note:
        out.append(f"\n{prose(conv.note)}")
    if spec.notes:
        out += ["", "## Notes", "", prose(spec.notes)]
    if spec.references:
        out += ["", "## References", ""] + [f"- {reference_link(r)}" for r in spec.references]
    if record is not None:
        out += ["", "## Validation evidence", "", *_status_line(record)]
        if figure:
            out += ["", f"![validation evidence for {entry.id}]({figure})"]
    return "\n".join(out) + "\n"


def index_page(catalog: Any, records: dict[str, dict[str, Any]]) -> str:
    """The catalogue's table, each entry linking to its page."""
    lines = [
        "# The catalogue",
        "",
        f"{len(catalog)} entries: the autoencoder's, one per cell of the prism, and those of every "
        "other installed model family, one table per geometry."
        + (" Status from the given validation." if records else ""),
    ]
    for geometry, entries in catalog.by_geometry().items():
        family = entries[0].family
        lines += [
            "",
            f"## {prose(family.title)}: {prose(geometry.title)}",
            "",
            "| entry | cell | kind | clock | train | population | status |",
            "|---|---|---|---|---|---|---|",
        ]
        for e in entries:
            kinds = e.formula_kinds
            status = prose(records.get(e.id, {}).get("status", "-"))
            lines.append(
                f"| [{e.id}]({e.id}.md) | {e.cell.id} | {e.cell.kind} | `{e.clock_name}` | "
                f"{kinds.get('train') or 'absent'} | {kinds.get('population') or 'absent'} | {status} |"
            )
    return "\n".join(lines) + "\n"
