"""Matched words marked with <mark> in a title and a short excerpt, the same on both databases.

A word matches a term when it starts with the term's stem (a crude English stemmer: "deploying",
"deployed" and "deploys" all mark "deploy…"); the text is escaped piece by piece, so only our
<mark> tags are markup.
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from search.query_syntax import parse_query, positive_terms

EXCERPT_CHARS = 220
_SUFFIXES = ("ing", "ed", "es", "s", "ly")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def term_pattern(text: str) -> re.Pattern | None:
    stems = sorted(
        {_stem(w) for term in positive_terms(parse_query(text)) for w in term.words}, key=len, reverse=True
    )
    if not stems:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(s) for s in stems) + r")\w*", re.IGNORECASE | re.UNICODE)


def mark(text: str, pattern: re.Pattern | None) -> SafeString:
    if pattern is None:
        return escape(text)
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[last : match.start()]))
        pieces.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    pieces.append(escape(text[last:]))
    return mark_safe("".join(pieces))  # noqa: S308 - every piece above is escaped


def excerpt(text: str, pattern: re.Pattern | None) -> SafeString:
    """About EXCERPT_CHARS characters around the first match (or the start), marked."""
    text = " ".join(text.split())
    match = pattern.search(text) if pattern is not None else None
    start = max(0, match.start() - EXCERPT_CHARS // 3) if match else 0
    window = text[start : start + EXCERPT_CHARS]
    prefix = "…" if start else ""
    suffix = "…" if start + EXCERPT_CHARS < len(text) else ""
    return mark_safe(escape(prefix) + mark(window, pattern) + escape(suffix))  # noqa: S308 - escaped
