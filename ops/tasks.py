"""Operational periodic tasks."""

import contextlib

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from ops import retention
from ops.backups import BackupError, create_backup
from ops.models import BackupTrigger

BEAT_TICK_CACHE_KEY = "mc:beat:last-tick"


@shared_task(name="missioncontrol.tasks.record_beat_tick", ignore_result=True)
def record_beat_tick() -> None:
    """Proves beat and a worker are alive: `doctor` and `/api/v1/status` read the time."""
    cache.set(BEAT_TICK_CACHE_KEY, timezone.now().isoformat(), timeout=None)


@shared_task(name="missioncontrol.tasks.run_scheduled_backup", ignore_result=True)
def run_scheduled_backup() -> None:
    """Daily backup from beat (BACKUP_SCHEDULE). Failures are logged, counted and recorded by
    create_backup; not retried, since the next run or an operator's `manage.py backup` follows."""
    # Already logged at ERROR, counted and recorded by create_backup.
    with contextlib.suppress(BackupError):
        create_backup(trigger=BackupTrigger.SCHEDULED)


@shared_task(name="ops.tasks.maintain_log_partitions", ignore_result=True)
def maintain_log_partitions() -> None:
    """Daily: create the coming months' partitions, then apply the logs' retention."""
    retention.ensure_partitions()
    retention.apply_retention()
