"""Celery tasks of automations. Thin: call the service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="automations.tasks.fire_due_schedules", ignore_result=True)
def fire_due_schedules() -> int:
    """Beat runs this every AUTOMATIONS_TICK_SECONDS: due schedule slots, waiting approvals."""
    from automations.services import fire_due_schedules as fire

    return len(fire())
