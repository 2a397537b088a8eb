"""LaTeX for the catalogue's formulas, printed from the safe expression language's parse tree.

An expression is parsed and checked exactly as for compiling it (nothing is ever evaluated),
turned into a term tree (:mod:`~prismcat.formulas.latex.terms`) and printed with the fewest
parentheses that keep the reading unambiguous (:mod:`~prismcat.formulas.latex.printer`).
:func:`to_latex` prints one expression; :func:`entry_latex` everything a reader of a catalogue
entry needs, each formula kind and measure printing its own part
(:mod:`~prismcat.formulas.latex.entry`).
"""

from prismcat.formulas.latex.entry import EntryPrinter, Eq, entry_latex, latex_document, text_latex
from prismcat.formulas.latex.printer import DEFAULT_SYMBOLS, GREEK, NOTATION, latex_symbol, to_latex
from prismcat.formulas.latex.terms import Term, parse_term

__all__ = [
    "DEFAULT_SYMBOLS",
    "GREEK",
    "NOTATION",
    "EntryPrinter",
    "Eq",
    "Term",
    "entry_latex",
    "latex_document",
    "latex_symbol",
    "parse_term",
    "text_latex",
    "to_latex",
]
