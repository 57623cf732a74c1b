"""Operational records: one row per backup run, shown on the ops status page and in admin."""

from __future__ import annotations

from django.db import models


class BackupStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class BackupTrigger(models.TextChoices):
    MANUAL = "manual", "Manual (manage.py backup)"
    SCHEDULED = "scheduled", "Scheduled (Celery beat)"
    DRILL = "drill", "Restore drill"


class BackupQuerySet(models.QuerySet):
    def succeeded(self) -> BackupQuerySet:
        return self.filter(status=BackupStatus.SUCCEEDED)

    def last_succeeded(self) -> Backup | None:
        return self.succeeded().order_by("-finished_at", "-id").first()

    def latest_run(self) -> Backup | None:
        return self.order_by("-started_at", "-id").first()


class Backup(models.Model):
    """A backup run: where the file went, its size and SHA-256, and how it ended.

    Written only by ops.backups; a failed run keeps its error (never secrets).
    """

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=BackupStatus.choices, default=BackupStatus.RUNNING)
    trigger = models.CharField(max_length=10, choices=BackupTrigger.choices, default=BackupTrigger.MANUAL)
    engine = models.CharField(max_length=16)  # "postgresql" or "sqlite"
    file_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, max_length=2000)
    # Set when retention removed the file; the row stays as the history of backups.
    pruned_at = models.DateTimeField(null=True, blank=True)

    objects = BackupQuerySet.as_manager()

    class Meta:
        # Created by the missioncontrol app before ops existed; moved in ops 0001, no copy.
        db_table = "missioncontrol_backup"
        ordering = ["-started_at", "-id"]
        indexes = [
            # "Last successful backup" for doctor, /api/v1/status and the backup-age metric.
            models.Index(fields=["status", "-finished_at"], name="backup_status_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name or 'backup'} ({self.status})"
