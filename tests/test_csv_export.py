"""One CSV writer for every export: infra.csv_export, which escapes formulas."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_APP_CODE = {".venv", ".tools", "tests", "bench", "node_modules", "static"}


def test_no_module_but_csv_export_writes_csv():
    writers = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if not NOT_APP_CODE & set(path.relative_to(ROOT).parts)
        and ("csv.writer(" in (text := path.read_text(encoding="utf-8")) or "csv.DictWriter(" in text)
    ]
    assert writers == ["infra/csv_export.py"]
