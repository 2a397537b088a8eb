"""A catalogue entry's formulas as LaTeX: its clock, parameters, helpers and, per loss, the
quantity, the limit and the equations it refers to.

Each formula kind prints its own limit (``FormulaKind.latex``: the ODE system, the integral, the
contour...) and each measure its own ``d\\mu`` (``MeasureKind.latex``), through the
:class:`EntryPrinter` they are handed; a plugin kind without a printer shows its ``expression``, or
says which kind it is. A model family supplies the symbols of its sizes and observables
(``ModelFamily.symbols``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prismcat.formulas.latex.printer import (
    ADD,
    NOTATION,
    _format_number,
    _Frag,
    _paren,
    _Printer,
    latex_symbol,
)
from prismcat.formulas.latex.terms import parse_term


@dataclass(frozen=True)
class Eq:
    """One printed equation (or relation ``rel``) of an entry's display."""

    lhs: str
    rhs: str
    rel: str = "="

    def line(self) -> str:
        return f"{self.lhs} {self.rel} {self.rhs}" if self.rhs else self.lhs

    def aligned(self) -> str:
        return f"{self.lhs} &{self.rel} {self.rhs}" if self.rhs else "& " + self.lhs


def text_latex(text: str) -> str:
    """``text`` escaped for ``\\text{...}``."""
    special = {
        "\\": r"\textbackslash{}",
        "{": r"\{",
        "}": r"\}",
        "_": r"\_",
        "%": r"\%",
        "&": r"\&",
        "#": r"\#",
        "$": r"\$",
        "^": r"\^{}",
        "~": r"\~{}",
    }
    return "".join(special.get(c, c) for c in text)


class EntryPrinter:
    """Prints one entry's expressions with one term printer (so the notation it needs
    accumulates); what formula kinds and measures print with."""

    def __init__(self, entry: Any, symbols: Mapping[str, str] | None):
        self.entry = entry
        family_symbols = getattr(getattr(entry, "family", None), "symbols", None) or {}
        self.printer = _Printer({**family_symbols, **(symbols or {})})
        self.clock = entry.spec.clock.name
        self.notes: list[str] = []  # notation the measures printed need

    def tex(self, expression: str, inline: bool = False) -> str:
        return self.printer.latex(parse_term(expression), inline)

    def frag(self, expression: str) -> _Frag:
        return self.printer.frag(parse_term(expression))

    def sym(self, name: str) -> str:
        return latex_symbol(name, self.printer.symbols)

    def helpers(self, where: Mapping[str, str]) -> list[Eq]:
        return [Eq(self.sym(name), self.tex(text)) for name, text in where.items()]

    def integrand(self, expression: str) -> str:
        frag = self.frag(expression)
        return _paren(frag).text if frag.prec <= ADD or frag.open_right else frag.text

    def use(self, symbol: str) -> None:
        """Mark a special symbol with a known meaning as used (its line of :data:`NOTATION` is
        printed under the entry: ``mp``, ``point_mass``)."""
        self.printer.used.add(symbol)

    def note(self, text: str) -> None:
        """Add ``text`` to the notation printed under the entry (a plugin measure's meaning)."""
        if text not in self.notes:
            self.notes.append(text)

    def measure(self, measure: Mapping[str, Mapping[str, str]], over: str) -> tuple[str, str]:
        """``d\\mu(x)`` for a measure reference (its kind's printer, else generic), and the name of
        its law (for atoms)."""
        ((name, args),) = measure.items()
        kind = getattr(self.entry, "measures", {}).get(name)
        printed = kind.latex(self, args, over) if kind is not None and kind.latex is not None else None
        if printed is not None:
            return printed, name
        var = self.sym(over)
        inner = ", ".join(f"{text_latex(k)} = {self.tex(v, inline=True)}" for k, v in args.items())
        return r"d\mu_{\text{" + text_latex(name) + "}(" + inner + ")}(" + var + ")", name

    def integral(self, spec: Any) -> str:
        """``\\int_{lower}^{upper} f \\, d\\mu(x)`` for an :class:`~prismcat.formulas.base.IntegralSpec`."""
        dmu, law = self.measure(spec.measure, spec.over)
        var = self.sym(spec.over)
        lower = None if spec.lower is None else self.tex(spec.lower)
        upper = None if spec.upper is None else self.tex(spec.upper)
        exclude = getattr(spec, "atom", "include") == "exclude"
        if lower is not None and upper is not None and not exclude:
            limits = "_{" + lower + "}^{" + upper + "}"
        else:
            conditions = [f"{var} \\ge {lower}"] if lower is not None else []
            conditions += [f"{var} \\le {upper}"] if upper is not None else []
            if exclude:
                conditions.append(f"{var} \\neq 0" if law == "marchenko_pastur" else r"\text{no atoms}")
            limits = "_{" + r",\, ".join(conditions) + "}" if conditions else ""
        return r"\int" + limits + " " + self.integrand(spec.integrand) + r" \, " + dmu

    def formula(self, loss: str, spec: Any) -> tuple[str, list[Eq]]:
        """The limit and its equations, as the formula's kind prints them."""
        kind = getattr(self.entry, "kinds", {}).get(loss)
        if kind is not None and kind.latex is not None:
            return kind.latex(self, spec)
        if isinstance(getattr(spec, "expression", None), str):  # a plugin kind with an output
            return self.tex(spec.expression), []
        return r"\text{formula of kind " + text_latex(spec.kind) + "}", []

    def convergence(self, loss: str) -> str:
        conv = self.entry.spec.convergence
        small = conv.in_ if isinstance(conv.in_, str) else getattr(conv.in_, loss)
        power = "" if conv.rate == 1 else "^{" + _format_number(float(conv.rate)).text + "}"
        text = r"O\left(\varepsilon" + power + r"\right)"
        if conv.next is not None:
            text += r" + O\left(\varepsilon^{" + _format_number(float(conv.next)).text + r"}\right)"
        return text + r",\quad \varepsilon = " + self.tex(small)

    def loss(self, loss: str, top: list[Eq]) -> dict[str, Any]:
        spec = getattr(self.entry.spec.losses, loss)
        if not hasattr(spec, "formula"):
            return {
                "quantity": None,
                "kind": None,
                "limit": r"\text{no limit on this clock}",
                "equations": [],
                "statement": r"\text{no limit on this clock}",
                "display": r"\text{no limit on this clock}",
                "convergence": None,
                "note": spec.absent,
            }
        quantity = self.tex(spec.quantity)
        limit, system = self.formula(loss, spec.formula)
        system = system + self.helpers(spec.formula.where) + top
        statement = Eq(quantity, limit, r"\to")
        lines = [statement, *system]
        out: dict[str, Any] = {
            "quantity": quantity,
            "kind": spec.formula.kind,
            "limit": limit,
            "equations": [e.line() for e in system],
            "statement": statement.line(),
            "display": r"\begin{aligned} " + r" \\ ".join(e.aligned() for e in lines) + r" \end{aligned}",
            "convergence": self.convergence(loss),
        }
        reason = getattr(spec.formula, "reason", None)
        if reason:
            out["note"] = reason
        return out


def entry_latex(entry: Any, symbols: Mapping[str, str] | None = None) -> dict[str, Any]:
    """LaTeX for everything a reader of a loaded catalogue entry needs.

    Returns ``id``, ``title``; ``clock`` (``\\tau = \\frac{t d}{n}``, or ``t`` for model time);
    ``parameters`` and ``where`` (name -> ``name = definition``); ``losses``: per loss its
    ``quantity``, formula ``kind``, ``limit`` (the expression, integral or output of the system),
    ``equations`` (the ODE system, initial values, integrals, contour and helpers the limit
    refers to), ``statement`` (``quantity \\to limit``), ``display`` (all of it as one
    ``aligned`` block), ``convergence`` and, for a loss without a formula, a plain-text ``note``;
    ``notation``: what the special symbols used mean. ``symbols`` overrides names' LaTeX (after
    the family's own, ``ModelFamily.symbols``).
    """
    spec = entry.spec
    p = EntryPrinter(entry, symbols)
    clock = p.sym(spec.clock.name)
    definition = p.tex(spec.clock.definition)
    params = {name: Eq(p.sym(name), p.tex(par.definition)) for name, par in spec.parameters.items()}
    where = {name: Eq(p.sym(name), p.tex(text)) for name, text in spec.where.items()}
    top = list(where.values())
    losses = {loss: p.loss(loss, top) for loss in ("train", "population")}
    functions = [NOTATION[k] for k in sorted(p.printer.used) if k in NOTATION]
    return {
        "id": spec.id,
        "title": spec.title,
        "clock": clock if definition == clock else f"{clock} = {definition}",
        "parameters": {k: e.line() for k, e in params.items()},
        "where": {k: e.line() for k, e in where.items()},
        "losses": losses,
        "notation": list(dict.fromkeys([*functions, *p.notes])),
    }


def latex_document(entry: Any, symbols: Mapping[str, str] | None = None) -> str:
    """The entry's formulas as a LaTeX fragment to paste into a paper (``prismcat show --latex``):
    a comment naming the entry, cell and clock, its parameters, and one ``align`` environment per
    loss (the limit, then its helper equations)."""
    tex = entry_latex(entry, symbols)
    lines = [
        f"% prismcat entry '{entry.id}' ({entry.spec.title}); cell {entry.cell.id}; clock ${tex['clock']}$",
        "% needs amsmath; \\mathrm{MP}(c) is the Marchenko-Pastur law of ratio c",
    ]
    if tex["parameters"]:
        lines.append("% parameters: " + ", ".join(f"${v}$" for v in tex["parameters"].values()))
    for loss, item in tex["losses"].items():
        lines.append(f"% {loss} loss ({item.get('kind') or 'no formula'})")
        if "statement" in item and item.get("kind"):
            body = [item["statement"], *item.get("equations", [])]
            rows = [
                row.replace(r"\to", r"&\to", 1) if i == 0 else _align_row(row) for i, row in enumerate(body)
            ]
            lines += ["\\begin{align}", " \\\\\n".join(rows), "\\end{align}"]
        if item.get("note"):
            lines.append(f"% {item['note']}")
    return "\n".join(lines)


def _align_row(row: str) -> str:
    """An equation row aligned at its first relation."""
    for rel in (" = ", " &= ", ": "):
        if rel in row:
            head, tail = row.split(rel, 1)
            return f"{head} &{rel.strip('& ')} {tail}" if rel != ": " else f"{head} &: {tail}"
    return row
