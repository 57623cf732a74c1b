"""Backups and restores: checksums, retention, failures that are never silent, both engines."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from activity.models import ActivityEvent
from ops.backups import (
    BackupError,
    PgConnection,
    create_backup,
    dump_postgres,
    dump_sqlite,
    list_backup_files,
    prune_backups,
    write_checksum,
)
from ops.models import Backup, BackupStatus, BackupTrigger
from ops.restore import (
    drop_postgres_database,
    postgres_table_counts,
    restore_backup,
    sqlite_table_counts,
    verify_backup,
)
from tests.conftest import requires_postgres, requires_sqlite
from tests.factories import BoardFactory, TaskFactory


def make_sqlite_file(path: Path, rows: int = 3) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE thing (id INTEGER PRIMARY KEY, name TEXT)")
    conn.executemany("INSERT INTO thing (name) VALUES (?)", [(f"t{i}",) for i in range(rows)])
    conn.commit()
    conn.close()
    return path


def sqlite_backup_of(tmp_path: Path, rows: int = 3) -> Path:
    source = sqlite3.connect(make_sqlite_file(tmp_path / "source.sqlite3", rows))
    backup = tmp_path / "missioncontrol-20261123T020000Z.sqlite3"
    dump_sqlite(source, backup)
    source.close()
    write_checksum(backup)
    return backup


def test_sqlite_backup_restores_into_a_new_file_with_the_same_rows(tmp_path):
    backup = sqlite_backup_of(tmp_path, rows=5)
    assert backup.with_name(backup.name + ".sha256").read_text().endswith(f"  {backup.name}\n")
    target = tmp_path / "restored" / "db.sqlite3"

    result = restore_backup(path=backup, into=str(target))

    assert result.engine == "sqlite"
    assert sqlite_table_counts(target) == {"thing": 5}


def test_it_refuses_a_backup_whose_checksum_does_not_match(tmp_path):
    backup = sqlite_backup_of(tmp_path)
    with backup.open("r+b") as handle:  # flip one byte in the middle of the file
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 0xFF]))

    with pytest.raises(BackupError, match="checksum mismatch"):
        verify_backup(backup)
    with pytest.raises(CommandError, match="checksum mismatch"):
        call_command("restore", str(backup), "--into", str(tmp_path / "x.sqlite3"))
    assert not (tmp_path / "x.sqlite3").exists()


def test_it_refuses_a_backup_without_a_checksum_file(tmp_path):
    backup = sqlite_backup_of(tmp_path)
    backup.with_name(backup.name + ".sha256").unlink()
    with pytest.raises(BackupError, match="no checksum file"):
        verify_backup(backup)


def test_it_refuses_to_restore_over_a_non_empty_database_without_force(tmp_path):
    backup = sqlite_backup_of(tmp_path, rows=2)
    occupied = make_sqlite_file(tmp_path / "occupied.sqlite3", rows=9)

    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(backup), "--into", str(occupied))
    assert sqlite_table_counts(occupied) == {"thing": 9}

    call_command("restore", str(backup), "--into", str(occupied), "--force")
    assert sqlite_table_counts(occupied) == {"thing": 2}


def test_verify_only_restores_nothing(tmp_path, capsys):
    backup = sqlite_backup_of(tmp_path)
    call_command("restore", str(backup), "--verify-only")
    assert "checksum ok" in capsys.readouterr().out


def _touch_backup(directory: Path, when) -> Path:
    path = directory / f"missioncontrol-{when.strftime('%Y%m%dT%H%M%SZ')}.dump"
    path.write_bytes(b"PGDMP")
    path.with_name(path.name + ".sha256").write_text("x  y\n")
    return path


@pytest.mark.django_db
def test_retention_prunes_by_age_and_by_count_but_keeps_the_newest(tmp_path):
    now = timezone.now()
    fresh = [_touch_backup(tmp_path, now - timedelta(days=d)) for d in range(0, 5)]
    old = _touch_backup(tmp_path, now - timedelta(days=31))

    removed = prune_backups(backup_dir=tmp_path, now=now, keep_days=30, keep_count=3)

    assert set(removed) == {fresh[3], fresh[4], old}
    assert [f.path for f in list_backup_files(tmp_path)] == fresh[:3]
    assert not old.with_name(old.name + ".sha256").exists()


@pytest.mark.django_db
def test_retention_never_deletes_the_only_backup_however_old(tmp_path):
    now = timezone.now()
    only = _touch_backup(tmp_path, now - timedelta(days=400))
    assert prune_backups(backup_dir=tmp_path, now=now, keep_days=30, keep_count=3) == []
    assert only.exists()


@pytest.mark.django_db
def test_retention_boundary_keeps_exactly_keep_count(tmp_path):
    now = timezone.now()
    files = [_touch_backup(tmp_path, now - timedelta(hours=h)) for h in range(4)]
    assert prune_backups(backup_dir=tmp_path, now=now, keep_days=30, keep_count=4) == []
    assert prune_backups(backup_dir=tmp_path, now=now, keep_days=30, keep_count=3) == [files[3]]


@pytest.mark.django_db
def test_a_failed_backup_logs_an_error_records_the_reason_and_an_event_and_exits_non_zero(
    tmp_path, organization, other_organization, caplog
):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("in the way")

    with (
        caplog.at_level(logging.ERROR, logger="ops.backups"),
        pytest.raises(CommandError, match="backup failed"),
    ):
        call_command("backup", "--dir", str(not_a_directory))

    backup = Backup.objects.get()
    assert backup.status == BackupStatus.FAILED
    assert "File exists" in backup.error
    assert any(r.levelno == logging.ERROR and "backup failed" in r.getMessage() for r in caplog.records)
    events = ActivityEvent.objects.filter(verb="backup.failed")
    assert {e.organization_id for e in events} == {organization.pk, other_organization.pk}
    assert all("File exists" not in str(e.detail) for e in events)  # reason stays staff-only


def test_pg_connection_keeps_the_password_out_of_argv():
    pg = PgConnection(name="db", user="u", password="hunter2-secret", host="h", port="5")
    assert "hunter2-secret" not in " ".join(pg.args())
    assert pg.env()["PGPASSWORD"] == "hunter2-secret"


def test_a_pg_dump_failure_message_never_contains_the_password(tmp_path):
    pg = PgConnection(name="nope", user="nobody", password="hunter2-secret", host="127.0.0.1", port="1")
    with pytest.raises(BackupError) as excinfo:
        dump_postgres(pg, tmp_path / "out.dump")
    assert "pg_dump exited" in str(excinfo.value)
    assert "hunter2-secret" not in str(excinfo.value)


@requires_sqlite
@pytest.mark.django_db(transaction=True)
def test_backup_command_backs_up_the_embedded_sqlite_database(tmp_path, board):
    TaskFactory.create_batch(3, board=board)
    call_command("backup", "--dir", str(tmp_path))

    backup = Backup.objects.get()
    assert backup.status == BackupStatus.SUCCEEDED and backup.engine == "sqlite"
    path = tmp_path / backup.file_name
    assert backup.size_bytes == path.stat().st_size
    assert verify_backup(path) == "sqlite"
    assert sqlite_table_counts(path)["boards_task"] == 3


@pytest.mark.django_db(transaction=True)
def test_the_scheduled_task_records_a_scheduled_backup(tmp_path, settings):
    from ops.tasks import run_scheduled_backup

    settings.BACKUP_DIR = tmp_path
    run_scheduled_backup()
    backup = Backup.objects.get()
    assert backup.trigger == BackupTrigger.SCHEDULED
    assert backup.status == BackupStatus.SUCCEEDED
    assert (tmp_path / backup.file_name).exists()
    assert (tmp_path / (backup.file_name + ".sha256")).exists()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_backup_restores_into_a_second_database_with_equal_row_counts(tmp_path, organization):
    board = BoardFactory(organization=organization)
    TaskFactory.create_batch(4, board=board)
    backup = create_backup(backup_dir=tmp_path)
    path = tmp_path / backup.file_name
    assert path.suffix == ".dump"
    assert verify_backup(path) == "postgresql"

    source = PgConnection.from_settings(settings.DATABASES["default"])
    second = source.with_name(f"{connection.settings_dict['NAME']}_second")
    drop_postgres_database(second)
    try:
        into = f"postgres://{source.user}@{source.host or '127.0.0.1'}:{source.port or 5432}/{second.name}"
        call_command("restore", str(path), "--into", into)
        restored = postgres_table_counts(second)
        assert restored == postgres_table_counts(source)
        assert restored["boards_task"] == 4
        # A second restore into the now non-empty database is refused without --force.
        with pytest.raises(CommandError, match="not empty"):
            call_command("restore", str(path), "--into", into)
        # With --force it replaces the database (restored beside it, then swapped by renaming).
        TaskFactory(board=board)
        call_command("restore", str(path), "--into", into, "--force")
        assert postgres_table_counts(second)["boards_task"] == 4
    finally:
        drop_postgres_database(second)


@pytest.mark.django_db(transaction=True)
def test_restore_drill_passes_and_reports_row_counts(tmp_path, settings, board, capsys):
    settings.BACKUP_DIR = tmp_path
    TaskFactory.create_batch(2, board=board)
    call_command("restore_drill")
    out = capsys.readouterr().out
    assert "restore drill PASSED" in out
    assert Backup.objects.get().trigger == BackupTrigger.DRILL


@pytest.mark.django_db(transaction=True)
def test_after_a_restore_the_run_that_made_the_file_is_recorded_as_succeeded(tmp_path):
    from ops.backups import backup_file_name
    from ops.restore import settle_restored_backup_rows

    started = timezone.now() - timedelta(hours=8)
    producer = Backup.objects.create(started_at=started, engine="sqlite")  # "running" inside the dump
    other = Backup.objects.create(started_at=started - timedelta(days=1), engine="sqlite")
    path = backup_file_name(started, "sqlite", tmp_path)
    path.write_bytes(b"SQLite format 3\x00")

    settle_restored_backup_rows(path)

    producer.refresh_from_db()
    other.refresh_from_db()
    assert producer.status == BackupStatus.SUCCEEDED and producer.file_name == path.name
    assert producer.size_bytes == 16 and len(producer.sha256) == 64
    assert other.status == BackupStatus.FAILED and "interrupted" in other.error


@pytest.mark.django_db(transaction=True)
def test_backups_are_private_to_the_app_user(tmp_path, board):
    """Backups hold payloads, password hashes and token digests: 0600 files in a 0700 directory,
    whatever the umask, and an existing world-readable directory is tightened."""
    import os
    import stat

    TaskFactory(board=board)
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    nested = tmp_path / "new" / "backups"
    old_umask = os.umask(0o022)
    try:
        for directory in (loose, nested):
            backup = create_backup(backup_dir=directory)
            assert stat.S_IMODE(directory.stat().st_mode) == 0o700
            for path in (directory / backup.file_name, directory / (backup.file_name + ".sha256")):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        os.umask(old_umask)
