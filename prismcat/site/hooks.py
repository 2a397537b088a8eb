"""mkdocs hooks of the prismcat site: formulas to MathML after each page is rendered."""

from __future__ import annotations

from prismcat.site.mathml import render_arithmatex


def on_page_content(html, page, config, files):
    return render_arithmatex(html, where=page.file.src_path)
