"""Database ids from user input: one bound, one parser, shared by pages, filters and serializers."""

from __future__ import annotations

# Ids are bigints; a number past 64 bits is not an id: answer 400/404, never a database error
# (SQLite raises OverflowError on such a parameter, which would be a 500).
MAX_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """A database id from a string or int, or None for anything else (sign, junk, > 64 bits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    text = str(value or "").strip()
    if not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
