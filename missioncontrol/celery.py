"""The Celery app. Tasks are thin: load by id, call a service, decide retries."""

import os
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")


class DirectoryCreatingScheduler(PersistentScheduler):
    """Celery's file-backed schedule, creating the file's directory first: in production mode
    settings create no DATA_DIR (the database is elsewhere), and on a fresh machine or volume
    beat failed to open `DATA_DIR/celerybeat-schedule` and wedged."""

    def _open_schedule(self):
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open_schedule()


app = Celery("missioncontrol")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _backup_crontab(expression: str) -> crontab:
    minute, hour, day_of_month, month_of_year, day_of_week = expression.split()
    return crontab(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
    )


@app.on_after_finalize.connect
def _schedule_periodic_tasks(sender: Celery, **kwargs) -> None:
    from django.conf import settings

    sender.conf.beat_schedule = {
        "beat-tick": {"task": "missioncontrol.tasks.record_beat_tick", "schedule": 30.0},
        "follow-activity-log": {
            "task": "activity.tasks.follow_activity_log",
            "schedule": float(settings.ACTIVITY_FOLLOW_SECONDS),
        },
        "agent-presence": {"task": "agents.tasks.record_presence_transitions", "schedule": 30.0},
        "requeue-overdue-deliveries": {
            "task": "webhooks.tasks.requeue_overdue_deliveries",
            "schedule": 60.0,
        },
        "sweep-alert-rules": {
            "task": "alerts.tasks.sweep_alert_rules",
            "schedule": float(settings.ALERTS_SWEEP_SECONDS),
        },
        "requeue-unapplied-webhook-rules": {
            "task": "webhook_rules.tasks.requeue_unapplied_payloads",
            "schedule": 300.0,
        },
        "fire-due-schedules": {
            "task": "automations.tasks.fire_due_schedules",
            "schedule": float(settings.AUTOMATIONS_TICK_SECONDS),
        },
        "post-standups": {
            "task": "standups.tasks.post_due_standups",
            "schedule": float(settings.STANDUP_CHECK_SECONDS),
        },
        "refresh-task-flow-rollup": {"task": "overview.tasks.refresh_task_flow_rollup", "schedule": 60.0},
        "prune-webhook-payloads": {
            "task": "webhooks.tasks.prune_webhook_payloads",
            "schedule": crontab(minute=17, hour=3),
        },
        "log-partitions-and-retention": {
            "task": "ops.tasks.maintain_log_partitions",
            "schedule": crontab(minute=41, hour=2),
        },
        "backup": {
            "task": "missioncontrol.tasks.run_scheduled_backup",
            "schedule": _backup_crontab(settings.BACKUP_SCHEDULE),
        },
    }
