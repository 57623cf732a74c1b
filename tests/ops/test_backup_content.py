"""Backups verified by their content, and restores that replace a database only on success.

A file truncated after the backup, with its `.sha256` recomputed, passes a checksum; it must
still fail verification (the rows are read back and compared with the manifest), and a restore
from it must leave the database it was aimed at exactly as it was.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
from pathlib import Path

import factory
import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from ops.backups import (
    BackupError,
    PgConnection,
    create_backup,
    dump_sqlite,
    manifest_path,
    sqlite_file_counts,
    write_checksum,
    write_manifest,
)
from ops.restore import (
    create_postgres_database,
    drop_postgres_database,
    postgres_database_exists,
    postgres_leaf_counts_of,
    restore_backup,
    verify_backup,
)
from tests.conftest import requires_postgres
from tests.factories import BoardFactory, TaskFactory


def make_sqlite_file(path: Path, rows: int) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE thing (id INTEGER PRIMARY KEY, name TEXT)")
    conn.executemany(
        "INSERT INTO thing (name) VALUES (?)", [(f"thing number {i} " * 8,) for i in range(rows)]
    )
    conn.commit()
    conn.close()
    return path


def sqlite_backup(tmp_path: Path, rows: int) -> Path:
    """A backup as create_backup writes it: the file, its manifest, its checksum."""
    source = sqlite3.connect(make_sqlite_file(tmp_path / "source.sqlite3", rows))
    backup = tmp_path / "missioncontrol-20261123T020000Z.sqlite3"
    dump_sqlite(source, backup)
    source.close()
    write_manifest(backup, sqlite_file_counts(backup))
    write_checksum(backup)
    return backup


def factory_text() -> factory.LazyFunction:
    return factory.LazyFunction(lambda: os.urandom(1500).hex())


def truncate_and_rehash(path: Path, keep: float) -> None:
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(int(size * keep))
    write_checksum(path)  # what the drill did: the checksum alone now says "fine"


def test_the_manifest_lists_every_tables_rows(tmp_path):
    backup = sqlite_backup(tmp_path, rows=500)
    manifest = json.loads(manifest_path(backup).read_text())
    assert manifest["tables"] == {"thing": 500}
    assert verify_backup(backup) == "sqlite"


def test_a_truncated_sqlite_backup_with_a_recomputed_checksum_fails_and_leaves_the_database(tmp_path):
    backup = sqlite_backup(tmp_path, rows=500)
    truncate_and_rehash(backup, keep=0.5)
    occupied = make_sqlite_file(tmp_path / "occupied.sqlite3", rows=9)
    before = occupied.read_bytes()

    with pytest.raises(BackupError):
        verify_backup(backup)
    with pytest.raises(CommandError, match="restore refused"):
        call_command("restore", str(backup), "--into", str(occupied), "--force")
    assert occupied.read_bytes() == before and sqlite_file_counts(occupied) == {"thing": 9}

    missing = tmp_path / "new" / "db.sqlite3"
    with pytest.raises(CommandError):
        call_command("restore", str(backup), "--into", str(missing))
    assert not missing.exists()  # no empty database left behind


def test_a_backup_whose_rows_differ_from_its_manifest_is_refused(tmp_path):
    backup = sqlite_backup(tmp_path, rows=5)
    conn = sqlite3.connect(backup)  # a well-formed file that lost rows: integrity_check says ok
    conn.execute("DELETE FROM thing WHERE id > 3")
    conn.commit()
    conn.close()
    write_checksum(backup)
    with pytest.raises(BackupError, match=r"thing: 5 expected, 3 found"):
        verify_backup(backup)


def test_a_good_restore_over_an_existing_database_replaces_it(tmp_path):
    backup = sqlite_backup(tmp_path, rows=7)
    occupied = make_sqlite_file(tmp_path / "occupied.sqlite3", rows=2)
    restore_backup(path=backup, into=str(occupied), force=True)
    assert sqlite_file_counts(occupied) == {"thing": 7}
    assert not (tmp_path / "occupied.sqlite3.restoring").exists()


def test_a_backup_from_before_manifests_is_still_read_in_full(tmp_path, caplog):
    backup = sqlite_backup(tmp_path, rows=3)
    manifest_path(backup).unlink()
    # The level is set here: an earlier test in the same worker may have left the root logger's
    # level above WARNING (an in-process server or worker configures logging).
    with caplog.at_level(logging.WARNING, logger="ops.restore"):
        assert verify_backup(backup) == "sqlite"
    assert "has no" in caplog.text


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_truncated_postgres_dump_with_a_recomputed_checksum_fails_and_leaves_the_database(
    tmp_path, organization
):
    board = BoardFactory(organization=organization)
    # Incompressible descriptions: the rows, not the schema, make up most of the file, so cutting
    # its end cuts rows and leaves the table of contents at its start intact.
    TaskFactory.create_batch(300, board=board, description=factory_text())
    backup = create_backup(backup_dir=tmp_path)
    path = tmp_path / backup.file_name
    manifest = json.loads(manifest_path(path).read_text())["tables"]
    assert manifest["boards_task"] == 300
    assert verify_backup(path) == "postgresql"

    source = PgConnection.from_settings(settings.DATABASES["default"])
    second = source.with_name(f"{source.name}_content")
    fresh = source.with_name(f"{source.name}_fresh")
    url = f"postgres://{source.user}@{source.host or '127.0.0.1'}:{source.port or 5432}/"
    drop_postgres_database(second)
    drop_postgres_database(fresh)
    try:
        create_postgres_database(second)  # a database with data of its own, to be kept
        with psycopg.connect(**second.psycopg_kwargs(), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id int)")
            conn.execute("INSERT INTO kept SELECT generate_series(1, 3)")

        truncate_and_rehash(path, keep=0.8)
        # The table of contents at the start is intact: the checks of before passed this file.
        listing = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True, check=False)
        assert listing.returncode == 0
        with pytest.raises(BackupError, match="incomplete"):
            verify_backup(path)

        with pytest.raises(CommandError, match="restore refused"):
            call_command("restore", str(path), "--into", url + second.name, "--force")
        assert postgres_leaf_counts_of(second) == {"kept": 3}  # untouched
        with pytest.raises(CommandError, match="restore refused"):
            call_command("restore", str(path), "--into", url + fresh.name)
        assert not postgres_database_exists(fresh)  # no empty database left behind
        assert not postgres_database_exists(source.with_name(f"{second.name}_restoring"))
    finally:
        drop_postgres_database(second)
        drop_postgres_database(fresh)
