"""Retention of the append-only logs, and the monthly partitions that make it cheap.

On PostgreSQL the activity log and delivery attempts are partitioned by month
(infra/partitions.py): beat creates the coming months' partitions ahead of time, and
retention detaches and drops whole months that are entirely past the cutoff. On SQLite (the
embedded default) the tables are plain and retention deletes in batches, with the same settings.
A retention of 0 days keeps everything (the default for the activity log: it is the audit trail).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from activity.models import ActivityEvent
from deliveries.models import DeliveryAttempt
from infra import partitions

logger = logging.getLogger(__name__)

DELETE_BATCH = 2000


@dataclass(frozen=True)
class RetainedLog:
    model: type[models.Model]
    column: str
    retention_setting: str

    @property
    def partitioned(self) -> partitions.PartitionedTable:
        return partitions.PartitionedTable(self.model._meta.db_table, self.column)

    @property
    def retention_days(self) -> int:
        return getattr(settings, self.retention_setting)


RETAINED_LOGS = (
    RetainedLog(ActivityEvent, "created_at", "ACTIVITY_RETENTION_DAYS"),
    RetainedLog(DeliveryAttempt, "started_at", "DELIVERY_ATTEMPT_RETENTION_DAYS"),
)


def ensure_partitions(*, now=None) -> list[str]:
    """Partitions for this month and the next PARTITION_MONTHS_AHEAD months (no-op on SQLite)."""
    created = []
    for log in RETAINED_LOGS:
        created += partitions.ensure_partitions(
            log.partitioned, months_ahead=settings.PARTITION_MONTHS_AHEAD, now=now
        )
    if created:
        logger.info("created partitions %s", ", ".join(created))
    return created


def apply_retention(*, now=None) -> dict[str, int]:
    """Drop (PostgreSQL) or delete (SQLite) what is older than each log's retention.

    Returns, per table, the partitions dropped (PostgreSQL) or the rows deleted (SQLite).
    """
    now = now or timezone.now()
    outcome: dict[str, int] = {}
    for log in RETAINED_LOGS:
        if log.retention_days <= 0:
            continue
        cutoff = now - timedelta(days=log.retention_days)
        table = log.model._meta.db_table
        if partitions.is_postgres():
            outcome[table] = len(partitions.drop_partitions_before(log.partitioned, cutoff))
        else:
            outcome[table] = _delete_in_batches(log, cutoff)
    return outcome


def _delete_in_batches(log: RetainedLog, cutoff) -> int:
    # Batches keep each transaction (and SQLite's write lock) short on a large backlog.
    deleted = 0
    older = log.model.objects.filter(**{f"{log.column}__lt": cutoff})
    while True:
        ids = list(older.values_list("pk", flat=True)[:DELETE_BATCH])
        if not ids:
            return deleted
        count, _ = log.model.objects.filter(pk__in=ids).delete()
        deleted += count
