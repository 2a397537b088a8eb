"""LaTeX to MathML at build time (latex2mathml), for the site and the HTML report: browsers render
MathML natively, so no math script, CDN or vendored font is needed."""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert

from prismcat.errors import PrismcatError

# what pymdownx.arithmatex (generic mode) leaves in the page: \( ... \) inline, \[ ... \] display
_ARITHMATEX = re.compile(
    r'<(span|div) class="arithmatex">\s*(\\\(|\\\[)(.*?)(\\\)|\\\])\s*</\1>',
    re.S,
)


class MathError(PrismcatError):
    """A formula latex2mathml cannot convert; says where."""


def mathml(tex: str, display: bool = False, where: str = "") -> str:
    """``tex`` as a ``<math>`` element (block when ``display``)."""
    tex_in = tex.replace(r"\begin{aligned}", r"\begin{align*}").replace(r"\end{aligned}", r"\end{align*}")
    try:
        out = convert(tex_in, display="block" if display else "inline")
    except Exception as exc:
        raise MathError(f"{where}: cannot convert the formula {tex[:80]!r}: {exc}") from exc
    if "<mi>&amp;</mi>" in out or "<mi>&</mi>" in out:  # an alignment latex2mathml did not take
        raise MathError(f"{where}: stray alignment '&' in {tex[:80]!r}")
    return out.replace("<math ", f'<math data-latex="{html.escape(tex, quote=True)}" ', 1)


def render_arithmatex(page_html: str, where: str = "") -> str:
    """Replace arithmatex's math spans and divs by MathML."""

    def sub(m: re.Match) -> str:
        tex = html.unescape(m.group(3))
        display = m.group(2) == "\\["
        out = mathml(tex, display, where)
        return f'<div class="math">{out}</div>' if display else out

    return _ARITHMATEX.sub(sub, page_html)
