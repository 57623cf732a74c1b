"""Periodic work for agents. Thin: the service does the work."""

from celery import shared_task

from agents import services


@shared_task(name="agents.tasks.record_presence_transitions", ignore_result=True)
def record_presence_transitions() -> int:
    """Beat runs this every 30 s: online → idle → offline transitions become activity events."""
    return services.record_presence_transitions()
