"""Keeps the TaskFlow rollup in step with the activity log.

The log is read forward from a cursor, a batch at a time, by the beat task and at the start of
every overview read (so the numbers are never older than the page). Applying an event is
idempotent and tolerant of order: the first start is a minimum, and the current status is set
only by an event later (time, then id) than the one that set it. That lets the cursor trail the
log by SETTLE: a transaction that inserted its event before a later one committed is still read
on the next pass instead of being skipped for good; events re-read inside that window change
nothing.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from activity.models import ActivityEvent
from boards.models import Task, TaskStatus
from overview.models import RollupCursor, TaskFlow

logger = logging.getLogger(__name__)

CURSOR_NAME = "task_flow"
FLOW_VERBS = ("task.created", "task.status_changed")
# Longer than any write transaction takes between inserting its event and committing.
SETTLE = datetime.timedelta(seconds=60)
READ_BATCH = 2000
BEAT_BATCH_LIMIT = 100
FLOW_FIELDS = (
    "started_at",
    "done_at",
    "cycle_seconds",
    "lead_seconds",
    "status",
    "status_changed_at",
    "status_event_id",
)


@dataclass(frozen=True)
class RefreshResult:
    events_read: int
    flows_written: int
    cursor: int


def _event_key(event: dict) -> tuple[datetime.datetime, int]:
    return (event["created_at"], event["id"])


def apply_event(flow: TaskFlow, event: dict) -> None:
    """Fold one task event (a dict of ActivityEvent values) into the task's flow row."""
    at = event["created_at"]
    detail = event["detail"] or {}
    if event["verb"] == "task.created":
        if flow.status_event_id == 0:
            flow.status = detail.get("status") or TaskStatus.INBOX
            flow.status_changed_at = at
        return
    new_status = detail.get("to")
    if new_status not in TaskStatus.values:
        return
    if new_status == TaskStatus.IN_PROGRESS and (flow.started_at is None or at < flow.started_at):
        flow.started_at = at
    if flow.status_event_id == 0 or _event_key(event) >= (flow.status_changed_at, flow.status_event_id):
        flow.status = new_status
        flow.status_changed_at = at
        flow.status_event_id = event["id"]
        flow.done_at = at if new_status == TaskStatus.DONE else None
    _set_durations(flow)


def _state(flow: TaskFlow) -> tuple:
    return tuple(getattr(flow, name) for name in FLOW_FIELDS)


def _set_durations(flow: TaskFlow) -> None:
    if flow.done_at is None:
        flow.cycle_seconds = flow.lead_seconds = None
        return
    flow.lead_seconds = max((flow.done_at - flow.created_at).total_seconds(), 0.0)
    flow.cycle_seconds = (
        max((flow.done_at - flow.started_at).total_seconds(), 0.0) if flow.started_at else None
    )


def _next_cursor(events: list[dict], *, previous: int, now: datetime.datetime, full: bool) -> int:
    """Past the settled prefix of the batch; a full batch moves on regardless, or a burst longer
    than a batch would stall the rollup."""
    if full:
        return events[-1]["id"]
    cursor = previous
    for event in events:
        if event["created_at"] > now - SETTLE:
            break
        cursor = event["id"]
    return cursor


def _task_ids(events: Iterable[dict]) -> set[int]:
    return {int(e["target_id"]) for e in events if e["target_type"] == "task" and e["target_id"].isdigit()}


@transaction.atomic
def _refresh_batch(*, now: datetime.datetime, limit: int) -> RefreshResult | None:
    # One refresher at a time; another caller skips (its page shows numbers a moment older).
    locked = RollupCursor.objects.select_for_update(skip_locked=True).filter(pk=CURSOR_NAME).first()
    if locked is None:
        if RollupCursor.objects.filter(pk=CURSOR_NAME).exists():
            return None
        # The very first refresh: a concurrent first one may create it too, hence get_or_create.
        locked, _ = RollupCursor.objects.get_or_create(name=CURSOR_NAME)
    events = list(
        ActivityEvent.objects.filter(id__gt=locked.last_event_id, verb__in=FLOW_VERBS)
        .order_by("id")
        .values("id", "verb", "target_type", "target_id", "detail", "created_at")[:limit]
    )
    if not events:
        return RefreshResult(events_read=0, flows_written=0, cursor=locked.last_event_id)
    ids = _task_ids(events)
    rows = Task.objects.filter(pk__in=ids).values("id", "board_id", "board__organization_id", "created_at")
    tasks = {row["id"]: row for row in rows}
    flows = TaskFlow.objects.in_bulk(list(tasks))
    before = {task_id: _state(flow) for task_id, flow in flows.items()}
    created: dict[int, TaskFlow] = {}
    for event in events:
        task_id = int(event["target_id"]) if event["target_id"].isdigit() else None
        task = tasks.get(task_id)
        if task is None:  # deleted since; its flow went with it
            continue
        flow = flows.get(task_id) or created.get(task_id)
        if flow is None:
            flow = created[task_id] = TaskFlow(
                task_id=task_id,
                organization_id=task["board__organization_id"],
                board_id=task["board_id"],
                created_at=task["created_at"],
                status=TaskStatus.INBOX,
                status_changed_at=task["created_at"],
            )
        apply_event(flow, event)
    TaskFlow.objects.bulk_create(created.values())
    # Events re-read inside the settle window usually change nothing: write only what did.
    changed = [flow for task_id, flow in flows.items() if _state(flow) != before[task_id]]
    TaskFlow.objects.bulk_update(changed, FLOW_FIELDS, batch_size=500)
    next_cursor = _next_cursor(events, previous=locked.last_event_id, now=now, full=len(events) == limit)
    if next_cursor != locked.last_event_id:
        RollupCursor.objects.filter(pk=CURSOR_NAME).update(last_event_id=next_cursor, updated_at=now)
    return RefreshResult(
        events_read=len(events), flows_written=len(changed) + len(created), cursor=next_cursor
    )


def refresh_task_flows(*, limit: int = READ_BATCH, batches: int = 1) -> RefreshResult:
    """Read up to `batches * limit` new task events into the rollup; safe to call concurrently."""
    total_events = total_flows = 0
    cursor = 0
    for _ in range(batches):
        result = _refresh_batch(now=timezone.now(), limit=limit)
        if result is None:
            break
        total_events += result.events_read
        total_flows += result.flows_written
        cursor = result.cursor
        if result.events_read < limit:
            break
    return RefreshResult(events_read=total_events, flows_written=total_flows, cursor=cursor)


def catch_up_before_read() -> None:
    """What a page or API read calls first. A concurrent refresher (SQLite has no row lock to
    skip, so two may insert the same new rows) is no reason to fail the read: it shows the
    numbers as they are, and the next read or beat catches up."""
    try:
        refresh_task_flows()
    except (OperationalError, IntegrityError) as exc:
        logger.info(
            "task-flow rollup: refresh skipped (%s); another refresher is at work", type(exc).__name__
        )
