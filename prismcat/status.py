"""The words a verdict is said in (pass, fail, error, skip) and the colour each is shown in.

One vocabulary for checkers, records, reports, the site, notebook displays and figures: a cell of
a geometry takes the worst status of its entries (``none`` when it has no entry).
"""

from __future__ import annotations

from collections.abc import Iterable

STATUSES = ("pass", "fail", "error", "skip")
COLOURS = {
    "pass": "#2e9e44",
    "fail": "#d62728",
    "error": "#ff8c00",
    "skip": "#888888",
    "none": "#b0b0b0",  # a cell without an entry
}
HIGHLIGHT = "#1f5fbf"  # the one cell an entry's page or a run's placement points at ("here")
_SEVERITY = {"pass": 0, "skip": 0, "error": 1, "fail": 2}


def worst(statuses: Iterable[str]) -> str:
    """The status that speaks for several (a cell's entries): fail over error over pass; ``none``
    when there are none."""
    known = list(statuses)
    return max(known, key=lambda s: _SEVERITY.get(s, 3)) if known else "none"
