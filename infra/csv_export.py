"""The one CSV writer for every export (overview datasets, usage), safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (`=HYPERLINK(…)`, `+cmd|' /C calc'!A0`, `@SUM(…)`): text that an
agent or a webhook sender chose would run on an admin's machine. Such a cell gets a leading `'`,
which spreadsheets show as text and do not display. Only text is escaped: a number written by
the export itself (a count, a negative cost) stays a number.
"""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell as text a spreadsheet shows rather than runs: formula starts get a leading '."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class _Line:
    """A file-like sink for csv.writer that hands back the line just written."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Iterator[bytes]:
    """The header, then one encoded line per row, every cell through safe_cell; streams."""
    writer = csv.writer(_Line())
    yield writer.writerow([safe_cell(name) for name in header]).encode()
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row]).encode()
