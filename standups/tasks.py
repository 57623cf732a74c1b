"""Celery tasks of standups. Thin: call the service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="standups.tasks.post_due_standups", ignore_result=True)
def post_due_standups() -> int:
    """Beat runs this every STANDUP_CHECK_SECONDS; each standup is posted once (a unique row)."""
    from standups import services

    return services.post_due_standups()


@shared_task(
    name="standups.tasks.send_standup_emails",
    ignore_result=True,
)
def send_standup_emails(standup_id: int) -> int:
    """Mail one standup to its opted-in members (claimed first: never twice)."""
    from standups import services

    return services.send_standup_emails(standup_id=standup_id)
