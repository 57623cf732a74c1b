"""Operational periodic tasks."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

BEAT_TICK_CACHE_KEY = "mc:beat:last-tick"


@shared_task(name="missioncontrol.tasks.record_beat_tick", ignore_result=True)
def record_beat_tick() -> None:
    """Proves beat and a worker are alive: `doctor` and `/api/v1/status` read the time."""
    cache.set(BEAT_TICK_CACHE_KEY, timezone.now().isoformat(), timeout=None)
