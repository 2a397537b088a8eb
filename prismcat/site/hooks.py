"""mkdocs hooks of the prismcat site: formulas to MathML after each page is rendered, then the page
through the allow-list (:mod:`prismcat.safehtml`), so no markup from a catalogue or a results file
reaches a browser."""

from __future__ import annotations

from prismcat.mathml import render_arithmatex
from prismcat.safehtml import sanitize_page


def on_page_content(html, page, config, files):
    return sanitize_page(render_arithmatex(html, where=page.file.src_path))
