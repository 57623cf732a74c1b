"""Keeps the TaskFlow rollup in step with the activity log: a log consumer
(settings.ACTIVITY_LOG_CONSUMERS, "task-flow"; activity.following).

It reads the task events after its cursor in commit order (`position`), in the worker (or after
each write on the embedded default) and at the start of every overview read, so the numbers are
never older than the page. Positions are handed out in commit order, so an event that commits
late is never behind the cursor: no settle window, no re-reading. Folding is still idempotent
(the first start is a minimum; the current status is the one of the event with the largest
position), so a batch handled again after a crash changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, OperationalError

from activity import following
from activity.models import ActivityEvent
from boards.models import Task, TaskStatus
from overview.models import TaskFlow

logger = logging.getLogger(__name__)

CONSUMER_NAME = "task-flow"
FLOW_VERBS = ("task.created", "task.status_changed")
BEAT_BATCH_LIMIT = 100
FLOW_FIELDS = (
    "started_at",
    "done_at",
    "cycle_seconds",
    "lead_seconds",
    "status",
    "status_changed_at",
    "status_event_position",
)


@dataclass(frozen=True)
class RefreshResult:
    events_read: int


def apply_event(flow: TaskFlow, event: ActivityEvent) -> None:
    """Fold one task event into the task's flow row."""
    at = event.created_at
    detail = event.detail or {}
    if event.verb == "task.created":
        if flow.status_event_position == 0:
            flow.status = detail.get("status") or TaskStatus.INBOX
            flow.status_changed_at = at
        return
    new_status = detail.get("to")
    if new_status not in TaskStatus.values:
        return
    if new_status == TaskStatus.IN_PROGRESS and (flow.started_at is None or at < flow.started_at):
        flow.started_at = at
    if event.position > flow.status_event_position:
        flow.status = new_status
        flow.status_changed_at = at
        flow.status_event_position = event.position
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


def _task_ids(events: Iterable[ActivityEvent]) -> set[int]:
    return {int(e.target_id) for e in events if e.target_type == "task" and e.target_id.isdigit()}


def follow_task_events(events: Sequence[ActivityEvent]) -> None:
    """The log consumer: fold a batch's task events into their flows (in the batch's transaction,
    with the cursor that says they are done)."""
    events = [event for event in events if event.verb in FLOW_VERBS]
    if not events:
        return
    rows = Task.objects.filter(pk__in=_task_ids(events)).values(
        "id", "board_id", "board__organization_id", "created_at"
    )
    tasks = {row["id"]: row for row in rows}
    flows = TaskFlow.objects.in_bulk(list(tasks))
    before = {task_id: _state(flow) for task_id, flow in flows.items()}
    created: dict[int, TaskFlow] = {}
    for event in events:
        task = tasks.get(int(event.target_id) if event.target_id.isdigit() else None)
        if task is None:  # deleted since; its flow went with it
            continue
        flow = flows.get(task["id"]) or created.get(task["id"])
        if flow is None:
            flow = created[task["id"]] = TaskFlow(
                task_id=task["id"],
                organization_id=task["board__organization_id"],
                board_id=task["board_id"],
                created_at=task["created_at"],
                status=TaskStatus.INBOX,
                status_changed_at=task["created_at"],
            )
        apply_event(flow, event)
    TaskFlow.objects.bulk_create(created.values())
    # A batch handled again (after a crash before its commit) usually changes nothing.
    changed = [flow for task_id, flow in flows.items() if _state(flow) != before[task_id]]
    TaskFlow.objects.bulk_update(changed, FLOW_FIELDS, batch_size=500)


def refresh_task_flows(*, batches: int = 1, wait: bool = True) -> RefreshResult:
    """Read up to `batches` batches of new events into the rollup now (beat, a page, the bench)."""
    consumer = following.consumer_named(CONSUMER_NAME)
    return RefreshResult(events_read=following.follow(consumer, max_batches=batches, wait=wait))


def catch_up_before_read() -> None:
    """What a page or API read calls first. A refresh under way elsewhere is left to finish (the
    page shows the numbers as they are); so is one that fails (SQLite busy): the next read or the
    worker catches up."""
    try:
        refresh_task_flows(wait=False)
    except (OperationalError, IntegrityError) as exc:
        logger.info("task-flow rollup: refresh skipped (%s); the worker catches up", type(exc).__name__)
