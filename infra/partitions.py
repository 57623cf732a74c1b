"""Monthly range partitions for the append-only logs on PostgreSQL.

Why: the activity log and delivery attempts only ever grow; retention by `DELETE` gets slower
as they grow and leaves bloat behind. Partitioned by month on their timestamp, old months are
dropped whole (`DETACH` + `DROP`, a catalogue change) and every query that pages or replays by id
still uses the per-partition indexes (the planner merges the partitions' index scans).

Native declarative partitioning, written here as plain SQL driven by the catalogue, rather than
a library: django-postgres-extra would replace the database backend and model base classes of
the whole project for two tables. Django keeps seeing `id` as the primary key; in the database
the key is `(id, <time column>)`, which PostgreSQL requires of a partitioned table, and ids stay
unique because they come from one sequence. A DEFAULT partition catches rows outside the months
that exist (e.g. a clock far off), so an insert never fails for want of a partition.

SQLite (the embedded default) keeps plain tables; retention there deletes in batches.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

PARTITION_SUFFIX = re.compile(r"_p(\d{4})(\d{2})$")


@dataclass(frozen=True)
class PartitionedTable:
    table: str
    column: str


def is_postgres(conn=connection) -> bool:
    return conn.vendor == "postgresql"


def month_start(moment: dt.datetime | dt.date) -> dt.date:
    return dt.date(moment.year, moment.month, 1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_p{month:%Y%m}"


def _bound(month: dt.date) -> str:
    return f"{month:%Y-%m-%d} 00:00:00+00"


def is_partitioned(cursor, table: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = %s",
        [table],
    )
    return cursor.fetchone() is not None


def existing_partitions(cursor, table: str) -> dict[dt.date, str]:
    """The monthly partitions of `table` by their first day (the DEFAULT partition excluded)."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
        [table],
    )
    months = {}
    for (name,) in cursor.fetchall():
        match = PARTITION_SUFFIX.search(name)
        if match:
            months[dt.date(int(match[1]), int(match[2]), 1)] = name
    return months


def create_month_partition(cursor, spec: PartitionedTable, month: dt.date) -> bool:
    """Create the partition for `month` if it is missing; True if it was created.

    Rows of that month sitting in the DEFAULT partition (written before the month had its own
    partition) are moved into it first, else PostgreSQL refuses the new partition.
    """
    if month in existing_partitions(cursor, spec.table):
        return False
    name = partition_name(spec.table, month)
    low, high = _bound(month), _bound(add_months(month, 1))
    default = f"{spec.table}_default"
    cursor.execute(f'CREATE TABLE "{name}" (LIKE "{spec.table}" INCLUDING DEFAULTS)')
    cursor.execute(
        f'WITH moved AS (DELETE FROM "{default}" WHERE "{spec.column}" >= %s AND "{spec.column}" < %s '
        f'RETURNING *) INSERT INTO "{name}" SELECT * FROM moved',
        [low, high],
    )
    cursor.execute(
        f"ALTER TABLE \"{spec.table}\" ATTACH PARTITION \"{name}\" FOR VALUES FROM ('{low}') TO ('{high}')"
    )
    return True


def ensure_partitions(
    spec: PartitionedTable, *, months_ahead: int = 2, now: dt.datetime | None = None, conn=connection
) -> list[str]:
    """Partitions for this month and the next `months_ahead` (beat runs this daily)."""
    if not is_postgres(conn):
        return []
    created = []
    first = month_start(now or timezone.now())
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        if not is_partitioned(cursor, spec.table):
            return []
        for offset in range(months_ahead + 1):
            month = add_months(first, offset)
            if create_month_partition(cursor, spec, month):
                created.append(partition_name(spec.table, month))
    return created


def drop_partitions_before(spec: PartitionedTable, cutoff: dt.datetime, *, conn=connection) -> list[str]:
    """Detach and drop every monthly partition whose whole month ends at or before `cutoff`.

    A partition that still holds rows younger than the cutoff is kept: retention on PostgreSQL
    is exact to the month, never deleting a row younger than asked.
    """
    if not is_postgres(conn):
        return []
    dropped = []
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        if not is_partitioned(cursor, spec.table):
            return []
        # Deferred FK checks of rows written earlier in the same transaction would block DROP.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for month, name in sorted(existing_partitions(cursor, spec.table).items()):
            end = dt.datetime.combine(add_months(month, 1), dt.time(), tzinfo=dt.UTC)
            if end > cutoff:
                continue
            cursor.execute(f'ALTER TABLE "{spec.table}" DETACH PARTITION "{name}"')
            cursor.execute(f'DROP TABLE "{name}"')
            dropped.append(name)
    if dropped:
        logger.info("dropped partitions %s", ", ".join(dropped))
    return dropped


def _indexes_and_foreign_keys(cursor, table: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "WHERE t.relname = %s AND c.contype IN ('p', 'u'))",
        [table, table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = %s AND c.contype = 'f'",
        [table],
    )
    return indexes, cursor.fetchall()


def convert_to_partitioned(schema_editor, spec: PartitionedTable, *, months_ahead: int = 2) -> None:
    """Rebuild `spec.table` as a table partitioned by month, keeping every row, index and FK.

    Run from a migration (in its transaction): the old table is renamed, its definition copied,
    partitions made for every month that has rows through `months_ahead` months from now, the rows
    copied over in one INSERT … SELECT, the id sequence moved on, and the old table dropped.
    """
    if not is_postgres(schema_editor.connection):
        return
    table, column = spec.table, spec.column
    old = f"{table}_unpartitioned"
    with schema_editor.connection.cursor() as cursor:
        if is_partitioned(cursor, table):
            return
        indexes, foreign_keys = _indexes_and_foreign_keys(cursor, table)
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
        cursor.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{table}_pkey" TO "{old}_pkey"')
        cursor.execute(
            f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS) PARTITION BY RANGE ("{column}")'
        )
        # The old identity sequence goes with the old table; free its name for the new one.
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [old])
        (old_sequence,) = cursor.fetchone()
        if old_sequence:
            cursor.execute(f'ALTER SEQUENCE {old_sequence} RENAME TO "{old}_id_seq"')
        # Identity columns on partitioned tables need PostgreSQL 17; a plain owned sequence works
        # everywhere and is what pg_get_serial_sequence (Django's sequence reset) finds.
        cursor.execute(f'CREATE SEQUENCE "{table}_id_seq" OWNED BY "{table}"."id"')
        cursor.execute(f"ALTER TABLE \"{table}\" ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq')")
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id, "{column}")')
        cursor.execute(f'CREATE TABLE "{table}_default" PARTITION OF "{table}" DEFAULT')
        cursor.execute(f'SELECT min("{column}") FROM "{old}"')
        oldest = cursor.fetchone()[0]
        first = month_start(oldest) if oldest else month_start(timezone.now())
        last = add_months(month_start(timezone.now()), months_ahead)
        month = first
        while month <= last:
            create_month_partition(cursor, spec, month)
            month = add_months(month, 1)
        for _name, definition in indexes:
            cursor.execute(definition)  # names and columns as before, now on the partitioned parent
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}"')
        cursor.execute(
            f"SELECT setval('{table}_id_seq', COALESCE((SELECT max(id) FROM \"{old}\"), 0) + 1, false)"
        )
        cursor.execute(f'DROP TABLE "{old}"')


def convert_to_plain(schema_editor, spec: PartitionedTable) -> None:
    """The reverse of convert_to_partitioned: one plain table with the same rows and indexes."""
    if not is_postgres(schema_editor.connection):
        return
    table = spec.table
    old = f"{table}_partitioned"
    with schema_editor.connection.cursor() as cursor:
        if not is_partitioned(cursor, table):
            return
        indexes, foreign_keys = _indexes_and_foreign_keys(cursor, table)
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
        cursor.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{table}_pkey" TO "{old}_pkey"')
        cursor.execute(f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS)')
        cursor.execute(f'ALTER SEQUENCE "{table}_id_seq" OWNED BY "{table}"."id"')
        cursor.execute(f'ALTER TABLE "{table}" ADD PRIMARY KEY (id)')
        for _name, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}"')
        cursor.execute(f'DROP TABLE "{old}" CASCADE')
