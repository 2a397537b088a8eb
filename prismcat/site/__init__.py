"""The documentation site: the README, the tutorials, the theory pages, the API reference and one
generated page per catalogue entry, built offline by one command (``prismcat site``) with mkdocs
and the material theme; formulas become MathML at build time, so pages need no script to show them.
"""

from prismcat.site.build import build_site

__all__ = ["build_site"]
