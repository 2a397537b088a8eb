"""Reports people read (HTML with figures, Markdown) and machines read (results.json)."""

from prismcat.report.write import write_report

__all__ = ["write_report"]
