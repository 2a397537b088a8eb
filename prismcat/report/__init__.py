"""Reports people read (HTML with figures, Markdown) and machines read (results.json)."""

from prismcat.report.write import write_records, write_report

__all__ = ["write_records", "write_report"]
