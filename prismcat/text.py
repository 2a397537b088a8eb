"""What a catalogue's prose may hold: Markdown and inline mathematics, never markup.

Titles, summaries, notes, reasons and descriptions are shown in the report, the site and
notebooks. They are written in Markdown (``**bold**``, ``[a link](https://...)``, `` `code` ``)
with mathematics between dollars (``$\\alpha \\to \\infty$``); every renderer escapes them and
sanitises what it builds. HTML, script-bearing link targets and invisible control characters are
refused here, when the file is read, so a catalogue author learns of them with a located error
instead of finding them silently removed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator

MAX_PROSE = 4000  # characters of one prose field
# a tag or comment as a browser would start one: < then a letter, / ! or ?
_TAG = re.compile(r"<[A-Za-z/!?]")
# Markdown link targets: [text](target ...) and reference definitions [id]: target
_LINK_TARGET = re.compile(r"\]\(\s*<?\s*([^)\s>]*)|^\s*\[[^\]]+\]:\s*<?\s*(\S+)", re.M)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# C0 controls other than tab and newline, DEL, and the bidirectional overrides and isolates
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_MATH_OR_CODE = re.compile(r"\$[^$]*\$|`[^`]*`")
_SPLIT = re.compile(r"(\$[^$]*\$|`[^`]*`)")


def escape_prose(text: str, outside: Callable[[str], str] | None = None) -> str:
    """Prose as Markdown for a page: its Markdown, $...$ mathematics and `code` kept, every ``&``,
    ``<`` and ``>`` outside them escaped (no HTML can come from a catalogue); ``outside`` further
    transforms the text outside mathematics and code (e.g. to link the theory pages it names)."""
    parts = _SPLIT.split(text)
    plain = outside or (lambda x: x)
    return "".join(p if i % 2 else plain(html.escape(p, quote=False)) for i, p in enumerate(parts))


def prose_problem(text: str) -> str | None:
    """Why ``text`` cannot be catalogue prose (None if it can)."""
    if len(text) > MAX_PROSE:
        return f"text of {len(text)} characters (at most {MAX_PROSE})"
    if m := _CONTROL.search(text):
        return f"control character U+{ord(m.group(0)):04X} at position {m.start() + 1}"
    plain = _MATH_OR_CODE.sub(lambda m: " " * len(m.group(0)), text)  # a < b in math or code is fine
    if m := _TAG.search(plain):
        snippet = text[m.start() : m.start() + 20]
        return (
            f"HTML markup is not allowed in catalogue text ({snippet!r} at position {m.start() + 1}); "
            "write Markdown (**bold**, [text](https://...)) and $...$ for mathematics"
        )
    for m in _LINK_TARGET.finditer(plain):
        target = m.group(1) or m.group(2) or ""
        scheme = _SCHEME.match(target)
        if scheme and scheme.group(1).lower() not in SAFE_SCHEMES:
            return (
                f"link target {target[:40]!r} uses the scheme '{scheme.group(1)}:'; "
                f"links may use {', '.join(sorted(SAFE_SCHEMES))} or a relative path"
            )
    return None


def _check(text: str) -> str:
    problem = prose_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


Prose = Annotated[str, AfterValidator(_check)]
