"""docs/operations.md cannot go stale: every `python manage.py` line of a `<!-- tested -->` block
runs here, against the test database, and must succeed."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from ops.backups import PgConnection, create_backup, list_backup_files
from ops.restore import drop_postgres_database
from tests.conftest import USING_POSTGRES
from tests.factories import BoardFactory, TaskFactory

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
_BLOCK = re.compile(
    r"^(?P<marker><!-- (?:tested|destructive) -->\n)?```[a-z]*\n(?P<body>.*?)^```", re.M | re.S
)


def blocks(kind: str) -> list[list[str]]:
    found = []
    for match in _BLOCK.finditer(RUNBOOK.read_text()):
        marker = (match.group("marker") or "").strip()
        if marker == f"<!-- {kind} -->" or (kind == "plain" and not marker):
            found.append(match.group("body").splitlines())
    return found


def manage_commands(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip().startswith("python manage.py ")]


def test_every_manage_command_in_a_code_block_is_tested_or_marked_destructive():
    untested = [cmd for block in blocks("plain") for cmd in manage_commands(block)]
    assert untested == [], "mark these blocks <!-- tested --> (or <!-- destructive -->)"
    assert sum(len(manage_commands(b)) for b in blocks("tested")) >= 10


def test_the_runbook_covers_the_sections_operators_expect():
    text = RUNBOOK.read_text()
    for heading in (
        "Processes and start order",
        "Health checks",
        "Logs and request ids",
        "Slow requests",
        "Backups",
        "Restore drill",
        "Upgrades and rollbacks",
        "Graceful shutdown",
        "Rate limits",
        "Key rotation",
        "Audit trail",
        "Common errors",
        "Leaked agent token",
        "Leaked webhook secret",
        "Database down",
        "Redis down",
        "OOM",
        "Dead-letter queue growth",
    ):
        assert f"# {heading}" in text, heading


@pytest.fixture
def restore_target(tmp_path):
    if not USING_POSTGRES:
        yield str(tmp_path / "restored.sqlite3")
        return
    source = PgConnection.from_settings(settings.DATABASES["default"])
    scratch = source.with_name(f"{connection.settings_dict['NAME']}_runbook")
    drop_postgres_database(scratch)
    yield f"postgres://{source.user}@{source.host or '127.0.0.1'}:{source.port or 5432}/{scratch.name}"
    drop_postgres_database(scratch)


@pytest.mark.django_db(transaction=True)
def test_every_tested_runbook_command_succeeds(healthy, restore_target, tmp_path, monkeypatch, organization):
    TaskFactory.create_batch(2, board=BoardFactory(organization=organization))
    create_backup()  # so "the newest backup" exists before the restore block picks it
    monkeypatch.chdir(tmp_path)
    newest = list_backup_files(settings.BACKUP_DIR)[0].path
    monkeypatch.setenv("BACKUP_DIR", str(settings.BACKUP_DIR))
    monkeypatch.setenv("BACKUP_FILE", str(newest))
    monkeypatch.setenv("RESTORE_DATABASE_URL", restore_target)

    ran = []
    for block in blocks("tested"):
        for command in manage_commands(block):
            argv = shlex.split(os.path.expandvars(command))[2:]
            call_command(*argv)
            ran.append(argv[0])

    assert {
        "doctor",
        "backup",
        "restore",
        "restore_drill",
        "rotate_secret_encryption",
        "export_activity",
        "migrate",
        "check",
    } <= set(ran)
    assert (tmp_path / "activity.jsonl").exists()
