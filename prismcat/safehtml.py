"""The allow-list every HTML page prismcat builds passes through (report, site, notebook displays).

Catalogue text and results files are untrusted: renderers escape them, and then the finished HTML
is cleaned by ammonia (the Rust sanitiser, through its Python binding ``nh3``) against an
allow-list: the document and table tags our pages use, MathML's presentation tags, and a few
attributes. Whatever is not on the list goes (scripts with their content, event handlers, style
sheets, every style property but a few colours and paddings, frames, forms, SVG), and links and
images may only point to http(s), mailto or relative addresses; the report's embedded figures may
be ``data:image/png``. A deny-list would have to know every trick; an allow-list only what we
write.
"""

from __future__ import annotations

import nh3

_DOCUMENT = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s",
    "samp", "section", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "u", "ul", "var", "wbr", "nav", "label",
}  # fmt: skip
_MATHML = {
    "math", "semantics", "annotation", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow",
    "mfrac", "msqrt", "mroot", "mstyle", "merror", "mpadded", "mphantom", "menclose", "msub",
    "msup", "msubsup", "munder", "mover", "munderover", "mmultiscripts", "mprescripts", "none",
    "mtable", "mtr", "mtd", "mlabeledtr",
}  # fmt: skip
TAGS = _DOCUMENT | _MATHML
_MATH_ATTRIBUTES = {
    "display", "mathvariant", "stretchy", "fence", "separator", "form", "lspace", "rspace",
    "minsize", "maxsize", "symmetric", "largeop", "movablelimits", "accent", "accentunder",
    "columnalign", "columnspacing", "columnlines", "rowalign", "rowspacing", "rowlines", "frame",
    "framespacing", "displaystyle", "scriptlevel", "linethickness", "width", "height", "depth",
    "voffset", "notation", "mathsize", "mathcolor", "mathbackground", "encoding", "xmlns",
    "data-latex",
}  # fmt: skip
ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "id", "title", "lang", "dir", "aria-label", "aria-hidden", "role", "style"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "align", "loading"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "col": {"span"},
    "ol": {"start", "type"},
    "details": {"open"},
    **{tag: set(_MATH_ATTRIBUTES) for tag in _MATHML},
}
SCHEMES = {"http", "https", "mailto"}
# inline styles keep only these properties (a status badge's colours; nothing that positions or
# hides content, loads a resource or overlays the page)
STYLE_PROPERTIES = {
    "color", "background", "background-color", "padding", "border-radius", "font-weight", "text-align",
}  # fmt: skip


def _images_only(tag: str, attribute: str, value: str) -> str | None:
    """``data:`` addresses only as embedded PNG images (the report's figures)."""
    if value.lower().lstrip().startswith("data:"):
        return value if tag == "img" and attribute == "src" and value.startswith("data:image/png;") else None
    return value


def sanitize(html: str, *, data_images: bool = False) -> str:
    """``html`` with everything off the allow-list removed; ``data_images`` lets embedded PNG
    figures (``<img src="data:image/png;base64,...">``) through."""
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES | ({"data"} if data_images else set()),
        attribute_filter=_images_only if data_images else None,
        link_rel=None,
        strip_comments=True,
        filter_style_properties=STYLE_PROPERTIES,
    )


# mkdocs-autorefs marks cross-references with its own element, which it turns into links once
# every page is rendered (after this allow-list has run): the site keeps it, with its attributes
_AUTOREF = {
    "autoref": {
        "identifier",
        "optional",
        "hover",
        "backlink-type",
        "backlink-anchor",
        "domain",
        "role",
        "origin",
        "filepath",
        "lineno",
        "slug",
    }
}


def sanitize_page(html: str) -> str:
    """A page of the documentation site: :func:`sanitize`, keeping mkdocs-autorefs' references."""
    return nh3.clean(
        html,
        tags=TAGS | set(_AUTOREF),
        attributes={**ATTRIBUTES, **_AUTOREF},
        url_schemes=SCHEMES,
        link_rel=None,
        strip_comments=True,
        filter_style_properties=STYLE_PROPERTIES,
    )
