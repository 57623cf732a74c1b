"""Backups: pg_dump (custom format) or SQLite's online backup API, a SHA-256 beside each file,
a row-count manifest beside it, retention by age and count, and a Backup row per run.

The checksum proves the file is the one written; it cannot prove the file holds the database
(a file truncated and re-hashed passes it). The manifest (`<file>.manifest.json`) is the row
count of every table, taken in the very snapshot the dump was made from (PostgreSQL: an exported
snapshot pg_dump reuses; SQLite: the backup file itself), so verification reads the backup's
content and compares (ops.restore.verify_backup).

A failed backup is never silent: an ERROR log line with the reason, the `mc_backups_total`
counter, a `backup.failed` activity event in every organization, the Backup row (shown on
/ops/) and a non-zero exit of `manage.py backup`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from activity.services import record_activity
from core.actors import Actor
from core.models import Organization
from infra.metrics import BACKUP_DURATION, BACKUPS
from ops.models import Backup, BackupStatus, BackupTrigger

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

FILE_PREFIX = "missioncontrol-"
POSTGRES_SUFFIX = ".dump"
SQLITE_SUFFIX = ".sqlite3"
CHECKSUM_SUFFIX = ".sha256"
MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = 1
# missioncontrol-20261123T020000Z.dump (a "-2" suffix only if two runs share a second).
_NAME_RE = re.compile(r"^missioncontrol-(\d{8}T\d{6}Z)(?:-\d+)?\.(dump|sqlite3)$")
PROGRESS_EVERY_SECONDS = 10.0
# Backups hold webhook payloads, password hashes and token digests: only the app user reads them.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


class BackupError(Exception):
    """A backup or restore step failed; the message is safe to log and show (no secrets)."""


@dataclass(frozen=True)
class PgConnection:
    """What pg_dump/pg_restore/psql need, taken from a Django DATABASES entry or a URL."""

    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""
    sslmode: str = ""

    @classmethod
    def from_settings(cls, db: dict[str, Any]) -> PgConnection:
        options = db.get("OPTIONS") or {}
        return cls(
            name=str(db["NAME"]),
            user=str(db.get("USER") or ""),
            password=str(db.get("PASSWORD") or ""),
            host=str(db.get("HOST") or ""),
            port=str(db.get("PORT") or ""),
            sslmode=str(options.get("sslmode") or ""),
        )

    def with_name(self, name: str) -> PgConnection:
        return PgConnection(name, self.user, self.password, self.host, self.port, self.sslmode)

    def args(self) -> list[str]:
        """Connection arguments; the password is never one of them (see env())."""
        out: list[str] = []
        if self.host:
            out += ["--host", self.host]
        if self.port:
            out += ["--port", self.port]
        if self.user:
            out += ["--username", self.user]
        return [*out, "--no-password"]

    def env(self) -> dict[str, str]:
        # The password travels in the child's environment only: never argv (visible in `ps`)
        # and never a log line. Other PG* variables (PGSSLROOTCERT, ...) are inherited.
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        if self.sslmode:
            env["PGSSLMODE"] = self.sslmode
        return env

    def psycopg_kwargs(self, dbname: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"dbname": dbname or self.name, "connect_timeout": 10}
        for key, value in (
            ("user", self.user),
            ("password", self.password),
            ("host", self.host),
            ("port", self.port),
            ("sslmode", self.sslmode),
        ):
            if value:
                kwargs[key] = value
        return kwargs


def database_engine(db: dict[str, Any] | None = None) -> str:
    engine = (db or settings.DATABASES["default"])["ENGINE"]
    if engine.endswith("postgresql"):
        return "postgresql"
    if engine.endswith("sqlite3"):
        return "sqlite"
    raise BackupError(f"backups support PostgreSQL and SQLite, not {engine}")


def scrub(text: str, *secrets: str) -> str:
    """Remove any secret from a message before it is logged or stored."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def private_directory(directory: Path) -> Path:
    """Create the directory 0700, or tighten an existing one (made earlier, or by an image)."""
    directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    os.chmod(directory, PRIVATE_DIR_MODE)
    return directory


def create_private_file(path: Path) -> Path:
    """An empty 0600 file, created before any byte is written so no umask ever exposes it; the
    dump tools then write into it (they open an existing file without changing its mode)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE))
    os.chmod(path, PRIVATE_FILE_MODE)
    return path


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + MANIFEST_SUFFIX)


def write_manifest(path: Path, counts: dict[str, int]) -> Path:
    """`<file>.manifest.json`: the row count of every table the backup holds."""
    manifest = create_private_file(manifest_path(path))
    manifest.write_text(
        json.dumps({"format": MANIFEST_FORMAT, "file": path.name, "tables": counts}, indent=1)
    )
    return manifest


def read_manifest(path: Path) -> dict[str, int] | None:
    """The manifest's table counts; None when the backup has none (taken before manifests)."""
    manifest = manifest_path(path)
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text())
        tables = data["tables"]
        if not isinstance(tables, dict) or not all(isinstance(v, int) for v in tables.values()):
            raise ValueError("tables")
    except (ValueError, KeyError, TypeError):
        raise BackupError(f"{manifest.name} is not a readable manifest") from None
    return {str(name): int(count) for name, count in tables.items()}


def postgres_leaf_table_counts(conn) -> dict[str, int]:
    """Row counts of the ordinary tables of the public schema (leaf partitions, not their
    partitioned parents: a dump holds rows once, in the partition they live in)."""
    from psycopg import sql

    tables = [
        row[0]
        for row in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname"
        ).fetchall()
    ]
    return {
        table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
        for table in tables
    }


def sqlite_file_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
        ]
        # Table names come from sqlite_master itself, quoted as identifiers.
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608
    finally:
        conn.close()


def dump_postgres_with_manifest(
    pg: PgConnection, destination: Path, *, progress: Progress | None = None
) -> dict[str, int]:
    """pg_dump from a snapshot this connection exports, counting every table in that snapshot
    first: the counts are exactly the rows the dump holds, whatever is written meanwhile."""
    import psycopg

    with psycopg.connect(**pg.psycopg_kwargs(), autocommit=True) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        counts = postgres_leaf_table_counts(conn)
        # The snapshot stays valid while this transaction is open, i.e. during the dump.
        dump_postgres(pg, destination, progress=progress, snapshot=snapshot)
        conn.execute("COMMIT")
    return counts


def write_checksum(path: Path) -> str:
    """`<file>.sha256` in sha256sum format, so `sha256sum -c` verifies it too."""
    digest = sha256_of(path)
    create_private_file(checksum_path(path)).write_text(f"{digest}  {path.name}\n")
    return digest


def backup_stem_and_suffix(started: datetime, engine: str) -> tuple[str, str]:
    stamp = started.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{FILE_PREFIX}{stamp}", POSTGRES_SUFFIX if engine == "postgresql" else SQLITE_SUFFIX


def is_file_of_run(name: str, started: datetime, engine: str) -> bool:
    """Was `name` written by the run that started at `started` (allowing the "-2" suffix)?"""
    stem, suffix = backup_stem_and_suffix(started, engine)
    return re.fullmatch(re.escape(stem) + r"(?:-\d+)?" + re.escape(suffix), name) is not None


def backup_file_name(now: datetime, engine: str, directory: Path) -> Path:
    stem, suffix = backup_stem_and_suffix(now, engine)
    candidate = directory / f"{stem}{suffix}"
    counter = 2
    while candidate.exists() or candidate.with_name(candidate.name + ".partial").exists():
        candidate = directory / f"{stem}-{counter}{suffix}"
        counter += 1
    return candidate


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{size} B"


def dump_postgres(
    pg: PgConnection, destination: Path, *, progress: Progress | None = None, snapshot: str = ""
) -> None:
    """`pg_dump --format=custom` into destination; a progress line every 10 s for long dumps."""
    command = ["pg_dump", "--format=custom", "--file", str(destination), *pg.args()]
    if snapshot:
        command += ["--snapshot", snapshot]
    command += ["--dbname", pg.name]
    started = time.monotonic()
    try:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command, env=pg.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
    except FileNotFoundError:
        raise BackupError("pg_dump not found; install postgresql-client matching the server") from None
    stderr = b""
    while True:
        try:
            _, stderr = process.communicate(timeout=PROGRESS_EVERY_SECONDS)
            break
        except subprocess.TimeoutExpired:
            if progress:
                size = destination.stat().st_size if destination.exists() else 0
                progress(
                    f"pg_dump running: {_human_bytes(size)} written, "
                    f"{time.monotonic() - started:.0f}s elapsed"
                )
    if process.returncode != 0:
        reason = stderr.decode(errors="replace").strip().splitlines()
        raise BackupError(
            scrub(f"pg_dump exited {process.returncode}: {' '.join(reason[-3:]) or 'no output'}", pg.password)
        )


def dump_sqlite(source: sqlite3.Connection, destination: Path, *, progress: Progress | None = None) -> None:
    """SQLite's online backup API: a consistent copy while the app keeps writing (WAL)."""
    last_report = [time.monotonic()]

    def report(status: int, remaining: int, total: int) -> None:
        if progress and time.monotonic() - last_report[0] >= PROGRESS_EVERY_SECONDS:
            last_report[0] = time.monotonic()
            progress(f"sqlite backup running: {total - remaining}/{total} pages copied")

    target = sqlite3.connect(destination)
    try:
        # pages=4096 per step lets writers in between steps on a large database.
        source.backup(target, pages=4096, progress=report)
    except sqlite3.Error as exc:
        raise BackupError(f"sqlite backup failed: {exc}") from None
    finally:
        target.close()


def _django_sqlite_connection() -> sqlite3.Connection:
    connection.ensure_connection()
    return connection.connection


def _record_failure_events(backup: Backup | None, reason: str) -> None:
    """One `backup.failed` event per organization (ActivityEvent needs one); the reason stays
    in the log and on the staff-only Backup row, so members never see hosts or paths."""
    try:
        for organization in Organization.objects.all().iterator():
            record_activity(
                organization=organization,
                verb="backup.failed",
                actor=Actor.system(),
                target_type="backup",
                target_id=backup.pk if backup else "",
                detail={
                    "message": "The database backup failed; an administrator has the details "
                    "on the ops status page."
                },
            )
    except Exception as exc:  # the database may be the reason the backup failed
        logger.error("could not record backup.failed activity events: %s", type(exc).__name__)


def create_backup(
    *,
    trigger: str = BackupTrigger.MANUAL,
    backup_dir: Path | None = None,
    progress: Progress | None = None,
    snapshot: str = "",
    snapshot_counts: dict[str, int] | None = None,
    prune: bool = True,
) -> Backup:
    """Back up the default database into BACKUP_DIR; raise BackupError after recording a failure.

    `snapshot` (PostgreSQL): dump from a snapshot the caller exported and holds open, whose
    leaf-table counts the caller passes as `snapshot_counts` for the manifest."""
    directory = Path(backup_dir or settings.BACKUP_DIR)
    started = timezone.now()
    clock = time.monotonic()
    engine = ""
    backup: Backup | None = None
    partial: Path | None = None
    db = settings.DATABASES["default"]
    try:
        engine = database_engine(db)
        backup = Backup.objects.create(started_at=started, trigger=trigger, engine=engine)
        private_directory(directory)
        final = backup_file_name(started, engine, directory)
        # Written under a .partial name and renamed at the end, so a crash never leaves a
        # truncated file that looks like a backup.
        partial = create_private_file(final.with_name(final.name + ".partial"))
        if progress:
            progress(f"backing up the {engine} database into {final}")
        if engine == "postgresql" and snapshot:
            if snapshot_counts is None:
                raise BackupError("a snapshot needs its table counts for the manifest")
            dump_postgres(PgConnection.from_settings(db), partial, progress=progress, snapshot=snapshot)
            counts = snapshot_counts
        elif engine == "postgresql":
            counts = dump_postgres_with_manifest(PgConnection.from_settings(db), partial, progress=progress)
        else:
            dump_sqlite(_django_sqlite_connection(), partial, progress=progress)
            counts = sqlite_file_counts(partial)  # the file is the snapshot
        partial.replace(final)
        partial = None
        write_manifest(final, counts)
        digest = write_checksum(final)
        size = final.stat().st_size
    except Exception as exc:
        reason = str(exc) if isinstance(exc, BackupError | OSError) else type(exc).__name__
        reason = scrub(reason, str(db.get("PASSWORD") or ""))
        if partial is not None:
            partial.unlink(missing_ok=True)
        BACKUPS.labels(status=BackupStatus.FAILED).inc()
        logger.error("backup failed: %s", reason, extra={"event": "backup.failed", "trigger": trigger})
        if backup is not None:
            try:
                Backup.objects.filter(pk=backup.pk).update(
                    status=BackupStatus.FAILED,
                    finished_at=timezone.now(),
                    error=reason[:2000],
                    duration_ms=int((time.monotonic() - clock) * 1000),
                )
            except Exception as db_exc:
                logger.error("could not record the failed backup: %s", type(db_exc).__name__)
        _record_failure_events(backup, reason)
        raise BackupError(reason) from None

    duration = time.monotonic() - clock
    Backup.objects.filter(pk=backup.pk).update(
        status=BackupStatus.SUCCEEDED,
        finished_at=timezone.now(),
        file_name=final.name,
        size_bytes=size,
        sha256=digest,
        duration_ms=int(duration * 1000),
    )
    backup.refresh_from_db()
    BACKUPS.labels(status=BackupStatus.SUCCEEDED).inc()
    BACKUP_DURATION.observe(duration)
    logger.info(
        "backup succeeded: %s (%s, sha256 %s, %.1fs)",
        final.name,
        _human_bytes(size),
        digest,
        duration,
        extra={"event": "backup.succeeded", "file": final.name, "size_bytes": size},
    )
    if prune:
        prune_backups(backup_dir=directory)
    return backup


@dataclass(frozen=True)
class BackupFile:
    path: Path
    taken_at: datetime


def list_backup_files(directory: Path | None = None) -> list[BackupFile]:
    """Backup files in the directory, newest first (time from the name, which is UTC)."""
    directory = Path(directory or settings.BACKUP_DIR)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _NAME_RE.match(path.name)
        if match and path.is_file():
            taken_at = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            found.append(BackupFile(path, taken_at))
    return sorted(found, key=lambda f: (f.taken_at, f.path.stat().st_mtime, f.path.name), reverse=True)


def prune_backups(
    *,
    backup_dir: Path | None = None,
    now: datetime | None = None,
    keep_days: int | None = None,
    keep_count: int | None = None,
) -> list[Path]:
    """Delete backups older than keep_days or beyond the newest keep_count; return what went.

    The newest backup file is always kept, however old: when backups have been failing for
    longer than the retention window, the last good one is the only one left.
    """
    now = now or timezone.now()
    keep_days = settings.BACKUP_RETENTION_DAYS if keep_days is None else keep_days
    keep_count = settings.BACKUP_RETENTION_COUNT if keep_count is None else keep_count
    cutoff = now - timedelta(days=keep_days)
    removed: list[Path] = []
    for index, backup_file in enumerate(list_backup_files(backup_dir)):
        if index == 0:
            continue
        if index < keep_count and backup_file.taken_at >= cutoff:
            continue
        backup_file.path.unlink(missing_ok=True)
        checksum_path(backup_file.path).unlink(missing_ok=True)
        manifest_path(backup_file.path).unlink(missing_ok=True)
        removed.append(backup_file.path)
    if removed:
        Backup.objects.filter(file_name__in=[p.name for p in removed], pruned_at__isnull=True).update(
            pruned_at=now
        )
        logger.info("pruned %d old backup(s)", len(removed), extra={"event": "backup.pruned"})
    return removed
