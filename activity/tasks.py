"""The worker's side of the log consumers (activity.following)."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from activity.following import FOLLOW_QUEUED_KEY, follow_all


@shared_task(name="activity.tasks.follow_activity_log", ignore_result=True)
def follow_activity_log() -> dict[str, int]:
    """Drain every consumer of the log. Queued after commits (at most one waiting) and by beat."""
    # Cleared before reading: a commit from here on queues the next run (see enqueue_follow).
    cache.delete(FOLLOW_QUEUED_KEY)
    return follow_all()
