"""Beat: keeps the task-flow rollup caught up even when nobody opens the overview."""

from __future__ import annotations

from celery import shared_task

from overview.rollup import BEAT_BATCH_LIMIT, refresh_task_flows


@shared_task
def refresh_task_flow_rollup() -> int:
    return refresh_task_flows(batches=BEAT_BATCH_LIMIT, wait=False).events_read
