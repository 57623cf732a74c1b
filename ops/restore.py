"""Restores and restore drills: verify first (SHA-256, then `pg_restore --list` or SQLite's
integrity check), refuse to overwrite a non-empty database unless forced, compare row counts.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dj_database_url
from django.conf import settings

from ops.backups import (
    BackupError,
    PgConnection,
    Progress,
    checksum_path,
    create_backup,
    database_engine,
    is_file_of_run,
    scrub,
    sha256_of,
)
from ops.models import Backup, BackupStatus, BackupTrigger

logger = logging.getLogger(__name__)

_SQLITE_MAGIC = b"SQLite format 3\x00"
_PGDUMP_MAGIC = b"PGDMP"


def backup_engine(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head.startswith(_PGDUMP_MAGIC):
        return "postgresql"
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    raise BackupError(f"{path.name} is neither a pg_dump custom-format file nor a SQLite database")


def verify_backup(path: Path) -> str:
    """Checksum first (a corrupted or truncated file stops here), then the format; return the engine."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    sidecar = checksum_path(path)
    if not sidecar.is_file():
        raise BackupError(f"no checksum file {sidecar.name} beside the backup; refusing to restore")
    expected = sidecar.read_text().split()[0].strip().lower() if sidecar.read_text().strip() else ""
    actual = sha256_of(path)
    if expected != actual:
        raise BackupError(
            f"checksum mismatch for {path.name}: expected {expected[:12]}…, got {actual[:12]}…; "
            "the file is corrupted or truncated"
        )
    engine = backup_engine(path)
    if engine == "postgresql":
        result = _run(["pg_restore", "--list", str(path)], env=None)
        if result.returncode != 0:
            raise BackupError(f"pg_restore --list rejected {path.name}: {_last_lines(result.stderr)}")
    else:
        try:
            with _sqlite_readonly(path) as conn:
                verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.Error as exc:
            raise BackupError(f"{path.name} is not a readable SQLite database: {exc}") from None
        if verdict != "ok":
            raise BackupError(f"SQLite integrity check failed for {path.name}: {verdict}")
    return engine


def _run(command: list[str], env: dict[str, str] | None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(  # noqa: S603 - fixed argv, no shell
            command, env=env, capture_output=True, check=False, timeout=None
        )
    except FileNotFoundError:
        raise BackupError(f"{command[0]} not found; install postgresql-client matching the server") from None


def _last_lines(stderr: bytes, count: int = 3) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return " ".join(lines[-count:]) or "no output"


@contextmanager
def _sqlite_readonly(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


# --- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    engine: str
    pg: PgConnection | None = None
    sqlite_path: Path | None = None

    def describe(self) -> str:
        if self.pg is not None:
            host = self.pg.host or "local socket"
            return f"PostgreSQL database {self.pg.name!r} on {host}"
        return f"SQLite file {self.sqlite_path}"


def resolve_target(into: str | None) -> Target:
    """--into DATABASE_URL (postgres://… or sqlite:///path, or a plain file path); else the app's DB."""
    if into:
        if "://" not in into:
            return Target("sqlite", sqlite_path=Path(into))
        try:
            db = dj_database_url.parse(into)
        except Exception:
            raise BackupError("--into must be a postgres://… or sqlite:///… URL or a file path") from None
    else:
        db = settings.DATABASES["default"]
    engine = database_engine(db)
    if engine == "postgresql":
        return Target("postgresql", pg=PgConnection.from_settings(db))
    return Target("sqlite", sqlite_path=Path(str(db["NAME"])))


def _admin_connection(pg: PgConnection):
    import psycopg

    # CREATE/DROP DATABASE cannot run inside a transaction, hence autocommit.
    return psycopg.connect(**pg.psycopg_kwargs(dbname="postgres"), autocommit=True)


def postgres_database_exists(pg: PgConnection) -> bool:
    with _admin_connection(pg) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [pg.name]).fetchone() is not None


def create_postgres_database(pg: PgConnection) -> bool:
    """Create the database if missing; say whether it was created."""
    from psycopg import sql

    if postgres_database_exists(pg):
        return False
    with _admin_connection(pg) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(pg.name)))
    return True


def drop_postgres_database(pg: PgConnection) -> None:
    from psycopg import sql

    with _admin_connection(pg) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(pg.name)))


def postgres_table_counts(pg: PgConnection) -> dict[str, int]:
    import psycopg
    from psycopg import sql

    with psycopg.connect(**pg.psycopg_kwargs()) as conn:
        return _postgres_counts(conn, sql)


def _postgres_counts(conn, sql) -> dict[str, int]:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
    ]
    return {
        table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
        for table in tables
    }


def sqlite_table_counts(path: Path) -> dict[str, int]:
    with _sqlite_readonly(path) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
        ]
        # Table names come from sqlite_master itself, quoted as identifiers.
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608


def target_is_empty(target: Target) -> bool:
    if target.pg is not None:
        if not postgres_database_exists(target.pg):
            return True
        import psycopg

        with psycopg.connect(**target.pg.psycopg_kwargs()) as conn:
            row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        return row[0] == 0
    path = target.sqlite_path
    if path is None or not path.exists() or path.stat().st_size == 0:
        return True
    with _sqlite_readonly(path) as conn:
        row = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
    return row[0] == 0


# --- restore ----------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    engine: str
    target: str
    created_database: bool = False
    notes: list[str] = field(default_factory=list)


def restore_backup(
    *, path: Path, into: str | None = None, force: bool = False, progress: Progress | None = None
) -> RestoreResult:
    """Verify, then restore into the app's database or `into`; refuse a non-empty target unless forced."""
    result = restore_into_target(path=path, target=resolve_target(into), force=force, progress=progress)
    if into is None:
        settle_restored_backup_rows(path)
    return result


def settle_restored_backup_rows(path: Path) -> None:
    """The dump was taken while its own Backup row said "running": after restoring it into the
    app's database, record that run as the success it was (and any other run caught mid-way
    as interrupted), so doctor and /ops/ tell the truth."""
    from django.db import connections

    connections["default"].close()  # the database was replaced under this connection
    for row in Backup.objects.filter(status=BackupStatus.RUNNING):
        if is_file_of_run(path.name, row.started_at, row.engine):
            Backup.objects.filter(pk=row.pk).update(
                status=BackupStatus.SUCCEEDED,
                finished_at=row.started_at,
                file_name=path.name,
                size_bytes=path.stat().st_size,
                sha256=sha256_of(path),
            )
        else:
            Backup.objects.filter(pk=row.pk).update(
                status=BackupStatus.FAILED,
                error="interrupted: still running when the restored backup was taken",
            )


def restore_into_target(
    *, path: Path, target: Target, force: bool = False, progress: Progress | None = None
) -> RestoreResult:
    engine = verify_backup(path)
    if target.engine != engine:
        raise BackupError(
            f"{path.name} is a {engine} backup but the target is {target.describe()}; "
            "pass --into with a matching database URL"
        )
    result = RestoreResult(engine=engine, target=target.describe())
    if not target_is_empty(target) and not force:
        raise BackupError(
            f"{target.describe()} is not empty; restore into a new database with --into, "
            "or pass --force to overwrite it"
        )
    if progress:
        progress(f"checksum and format verified; restoring {path.name} into {target.describe()}")
    if target.pg is not None:
        if force and postgres_database_exists(target.pg) and not target_is_empty(target):
            _restore_postgres_replacing(path, target.pg)
        else:
            result.created_database = create_postgres_database(target.pg)
            _pg_restore(path, target.pg)
    else:
        _restore_sqlite(path, target.sqlite_path)
    logger.warning(
        "database restored from %s into %s",
        path.name,
        target.describe(),
        extra={"event": "backup.restored", "file": path.name},
    )
    return result


def _pg_restore(path: Path, pg: PgConnection) -> None:
    command = [
        "pg_restore",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        *pg.args(),
        "--dbname",
        pg.name,
        str(path),
    ]
    completed = _run(command, env=pg.env())
    if completed.returncode != 0:
        raise BackupError(
            scrub(f"pg_restore exited {completed.returncode}: {_last_lines(completed.stderr)}", pg.password)
        )


def _restore_postgres_replacing(path: Path, pg: PgConnection) -> None:
    """--force over a database with data: restore beside it, then swap the two by renaming.

    `pg_restore --clean` cannot replace partitioned tables (it drops the partitions' inherited
    key constraints one by one, which PostgreSQL refuses), so the backup goes into a fresh
    database first. Only when that restore succeeded is the old database renamed away (its
    sessions ended: a restore over a live database needs web and workers stopped, see
    docs/operations.md) and the new one given its name; a failed restore leaves it untouched.
    """
    from psycopg import sql

    # Database names are at most 63 bytes.
    incoming = pg.with_name(f"{pg.name[:50]}_restoring")
    replaced = f"{pg.name[:50]}_replaced"
    drop_postgres_database(incoming)
    create_postgres_database(incoming)
    try:
        _pg_restore(path, incoming)
    except BackupError:
        drop_postgres_database(incoming)
        raise
    drop_postgres_database(pg.with_name(replaced))
    with _admin_connection(pg) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [pg.name],
        )
        conn.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(pg.name), sql.Identifier(replaced)
            )
        )
        conn.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(incoming.name), sql.Identifier(pg.name)
            )
        )
    drop_postgres_database(pg.with_name(replaced))


def _restore_sqlite(path: Path, destination: Path) -> None:
    """Copy the verified file into place through the backup API, which also resets the WAL
    the old database may have left beside it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(destination)
    try:
        source.backup(target)
    except sqlite3.Error as exc:
        raise BackupError(f"sqlite restore failed: {exc}") from None
    finally:
        target.close()
        source.close()


# --- drill ------------------------------------------------------------------------------------


@dataclass
class DrillReport:
    backup_file: str
    target: str
    source_counts: dict[str, int]
    restored_counts: dict[str, int]

    @property
    def mismatches(self) -> dict[str, tuple[int | None, int | None]]:
        tables = set(self.source_counts) | set(self.restored_counts)
        return {
            t: (self.source_counts.get(t), self.restored_counts.get(t))
            for t in sorted(tables)
            if self.source_counts.get(t) != self.restored_counts.get(t)
        }

    @property
    def passed(self) -> bool:
        return bool(self.source_counts) and not self.mismatches


def scratch_database_name(name: str) -> str:
    return f"{name}_restore_drill"[:63]


def run_restore_drill(
    *, backup_dir: Path | None = None, keep: bool = False, progress: Progress | None = None
) -> DrillReport:
    """Back up, restore into a scratch database, compare the row count of every table.

    On PostgreSQL the source counts are taken in the very snapshot pg_dump exports from
    (pg_export_snapshot), so writes during the drill cannot make it fail spuriously.
    """
    db = settings.DATABASES["default"]
    engine = database_engine(db)
    if engine == "postgresql":
        return _drill_postgres(PgConnection.from_settings(db), backup_dir, keep, progress)
    return _drill_sqlite(backup_dir, keep, progress)


def _drill_postgres(
    pg: PgConnection, backup_dir: Path | None, keep: bool, progress: Progress | None
) -> DrillReport:
    import psycopg
    from psycopg import sql

    with psycopg.connect(**pg.psycopg_kwargs(), autocommit=True) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        source_counts = _postgres_counts(conn, sql)
        # The snapshot stays valid while this transaction is open, i.e. during the dump.
        backup = create_backup(
            trigger=BackupTrigger.DRILL,
            backup_dir=backup_dir,
            progress=progress,
            snapshot=snapshot,
            prune=False,
        )
        conn.execute("COMMIT")
    path = Path(backup_dir or settings.BACKUP_DIR) / backup.file_name
    scratch = pg.with_name(scratch_database_name(pg.name))
    drop_postgres_database(scratch)
    try:
        restore_into_target(path=path, target=Target("postgresql", pg=scratch), progress=progress)
        restored_counts = postgres_table_counts(scratch)
    finally:
        if not keep:
            drop_postgres_database(scratch)
    return DrillReport(
        backup.file_name, f"PostgreSQL database {scratch.name!r}", source_counts, restored_counts
    )


def _drill_sqlite(backup_dir: Path | None, keep: bool, progress: Progress | None) -> DrillReport:
    backup = create_backup(trigger=BackupTrigger.DRILL, backup_dir=backup_dir, progress=progress, prune=False)
    path = Path(backup_dir or settings.BACKUP_DIR) / backup.file_name
    scratch_dir = Path(tempfile.mkdtemp(prefix="mc-restore-drill-"))
    scratch = scratch_dir / "restored.sqlite3"
    try:
        restore_backup(path=path, into=str(scratch), progress=progress)
        # The backup API copied one consistent snapshot; the backup file is that snapshot.
        source_counts = sqlite_table_counts(path)
        restored_counts = sqlite_table_counts(scratch)
    finally:
        if not keep:
            shutil.rmtree(scratch_dir, ignore_errors=True)
    return DrillReport(backup.file_name, f"SQLite file {scratch}", source_counts, restored_counts)
