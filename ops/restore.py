"""Restores and restore drills: verify first, restore into a new database, and only when that
succeeded put it in the old one's place; refuse to overwrite a non-empty database unless forced.

Verification reads the backup's content, not only its checksum (a truncated file with a
recomputed `.sha256` passes a checksum): PostgreSQL: `pg_restore --list`, then every row of the
dump read back through `pg_restore` and counted per table; SQLite: `PRAGMA integrity_check` and
a count per table; both compared with the row-count manifest written beside the backup. The
restored database is counted again against the manifest before it replaces anything.
"""

from __future__ import annotations

import logging
import os
import re
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
    manifest_path,
    postgres_leaf_table_counts,
    read_manifest,
    scrub,
    sha256_of,
    sqlite_file_counts,
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
    """Checksum, format, then content (rows per table against the manifest); return the engine."""
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
        counts = dump_row_counts(path)
    else:
        try:
            with _sqlite_readonly(path) as conn:
                verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.Error as exc:
            raise BackupError(f"{path.name} is not a readable SQLite database: {exc}") from None
        if verdict != "ok":
            raise BackupError(f"SQLite integrity check failed for {path.name}: {verdict}")
        try:
            counts = sqlite_file_counts(path)
        except sqlite3.Error as exc:
            raise BackupError(f"{path.name} is not a readable SQLite database: {exc}") from None
    compare_with_manifest(path, counts, what="the backup")
    return engine


def compare_with_manifest(path: Path, counts: dict[str, int], *, what: str) -> None:
    """Raise unless every table of the manifest has its row count in `counts`. A backup taken
    before manifests existed has none: its content was still read in full (above)."""
    manifest = read_manifest(path)
    if manifest is None:
        logger.warning("%s has no %s; row counts not compared", path.name, manifest_path(path).name)
        return
    wrong = {
        table: (count, counts.get(table)) for table, count in manifest.items() if counts.get(table) != count
    }
    if wrong:
        shown = ", ".join(
            f"{t}: {want} expected, {got} found" for t, (want, got) in sorted(wrong.items())[:5]
        )
        raise BackupError(
            f"{what} does not hold the rows its manifest lists ({len(wrong)} table(s) differ: {shown}); "
            "the file is incomplete"
        )


_COPY_LINE = re.compile(r'^COPY (?:"?public"?\.)?"?([^"\s(]+)"? ')


def dump_row_counts(path: Path) -> dict[str, int]:
    """Rows per table in a custom-format dump, read back through pg_restore (one line per row
    in COPY's text format, which escapes newlines). A truncated or damaged data section makes
    pg_restore fail here, even when the table of contents at the start of the file is intact."""
    counts: dict[str, int] = {}
    command = ["pg_restore", "--data-only", "--file=-", str(path)]
    try:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError:
        raise BackupError("pg_restore not found; install postgresql-client matching the server") from None
    table = None
    assert process.stdout is not None
    for raw in process.stdout:
        if table is None:
            if raw.startswith(b"COPY "):
                match = _COPY_LINE.match(raw.decode(errors="replace"))
                table = match.group(1) if match else raw[5:60].decode(errors="replace")
                counts[table] = 0
        elif raw == b"\\.\n":
            table = None
        else:
            counts[table] += 1
    stderr = process.stderr.read() if process.stderr else b""
    if process.wait() != 0 or table is not None:
        raise BackupError(
            f"{path.name} cannot be read to the end: {_last_lines(stderr)}; the file is incomplete"
        )
    return counts


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
        progress(f"checksum, format and content verified; restoring {path.name} into {target.describe()}")
    if target.pg is not None:
        result.created_database = _restore_postgres_then_swap(path, target.pg)
    else:
        _restore_sqlite_then_swap(path, target.sqlite_path)
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


def postgres_leaf_counts_of(pg: PgConnection) -> dict[str, int]:
    import psycopg

    with psycopg.connect(**pg.psycopg_kwargs()) as conn:
        return postgres_leaf_table_counts(conn)


def _restore_postgres_then_swap(path: Path, pg: PgConnection) -> bool:
    """Restore into a new database beside the target, count its rows against the manifest,
    and only then give it the target's name; return whether the target did not exist before.

    A failed restore drops the new database and leaves the target exactly as it was (missing,
    empty or full): never an empty or half-restored database under the target's name. Over an
    existing database the old one is renamed away (its sessions ended: a restore over a live
    database needs web and workers stopped, see docs/operations.md) and dropped after the swap.
    `pg_restore --clean` is not used: it cannot replace partitioned tables (it drops the
    partitions' inherited key constraints one by one, which PostgreSQL refuses).
    """
    from psycopg import sql

    # Database names are at most 63 bytes.
    incoming = pg.with_name(f"{pg.name[:50]}_restoring")
    replaced = f"{pg.name[:50]}_replaced"
    drop_postgres_database(incoming)
    create_postgres_database(incoming)
    try:
        _pg_restore(path, incoming)
        compare_with_manifest(path, postgres_leaf_counts_of(incoming), what="the restored database")
    except BackupError:
        drop_postgres_database(incoming)
        raise
    existed = postgres_database_exists(pg)
    drop_postgres_database(pg.with_name(replaced))
    with _admin_connection(pg) as conn:
        if existed:
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
    return not existed


def _sqlite_copy(source_path: Path, destination: Path) -> None:
    """One backup-API step: the destination is written in one transaction (and its WAL reset),
    so a failure leaves it as it was."""
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(destination)
    try:
        source.backup(target)
    except sqlite3.Error as exc:
        raise BackupError(f"sqlite restore failed: {exc}") from None
    finally:
        target.close()
        source.close()


def _restore_sqlite_then_swap(path: Path, destination: Path) -> None:
    """Restore into a new file beside the destination, check it, then put it in place: a
    missing destination gets the file by an atomic rename, an existing one is overwritten in
    one backup-API transaction. A failure removes the new file and leaves the destination."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    incoming = destination.with_name(destination.name + ".restoring")
    incoming.unlink(missing_ok=True)
    try:
        _sqlite_copy(path, incoming)
        with _sqlite_readonly(incoming) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"the restored copy fails SQLite's integrity check: {verdict}")
        compare_with_manifest(path, sqlite_file_counts(incoming), what="the restored database")
        if destination.exists():
            _sqlite_copy(incoming, destination)
        else:
            for stale in ("-wal", "-shm"):  # left by a deleted database, they must not apply
                destination.with_name(destination.name + stale).unlink(missing_ok=True)
            os.replace(incoming, destination)
    finally:
        incoming.unlink(missing_ok=True)


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
            snapshot_counts=postgres_leaf_table_counts(conn),
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
