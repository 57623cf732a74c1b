"""A board's "send work to gateway agents when assigned": a log consumer
(settings.ACTIVITY_LOG_CONSUMERS, "gateway-work") that follows the committed log, never the
assigning request.

For each assignment event (task.assigned, a task.created with an agent assignee, a task.updated
that changed the assignee) it re-reads the task and drops the work if it went stale since the
event: the board's setting is off, the task was reassigned, done or deleted, or its agent is not on
a gateway. Otherwise it wakes the agent with the task through gateways.services.wake_gateway_agent.

The idempotency key names the task and the assignment event, so a batch the consumer retries
(after a failure, or a crash before its cursor moved) returns the first command and the gateway
starts one run, never two; a later reassignment is a new event and a new run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from activity.models import ActivityEvent
from boards.models import Task, TaskStatus
from core.actors import Actor, ActorKind
from core.ids import parse_id
from gateways import services
from infra.exceptions import DomainError

logger = logging.getLogger(__name__)

ASSIGNMENT_VERBS = frozenset({"task.assigned", "task.created", "task.updated"})


def _is_assignment(event: ActivityEvent) -> bool:
    if event.verb == "task.assigned":
        return bool((event.detail or {}).get("agent_id"))
    if event.verb == "task.updated":
        return "assignee_agent" in ((event.detail or {}).get("fields") or [])
    return event.verb == "task.created"


def assignment_key(task_id: int, event_id: int) -> str:
    """One run per task and assignment, whoever retries."""
    return f"assigned-task-{task_id}-event-{event_id}"


def send_assigned_work(event: ActivityEvent, notify_agent_ids: Sequence[int] = ()) -> None:
    """The consumer: wake the gateway agent a task was just assigned to, if its board asks."""
    if event.verb not in ASSIGNMENT_VERBS or not event.board_id or not _is_assignment(event):
        return
    task_id = parse_id(event.target_id)
    if task_id is None:
        return
    task = (
        Task.objects.select_related("board", "assignee_agent")
        .filter(pk=task_id, board_id=event.board_id)
        .first()
    )
    if task is None or not task.board.send_work_to_gateway_agents or task.board.archived:
        return
    if task.assignee_agent_id is None or task.status == TaskStatus.DONE:
        return
    assigned = (event.detail or {}).get("agent_id")
    if event.verb == "task.assigned" and assigned != task.assignee_agent_id:
        return  # reassigned since: that later event sends the work
    link = services.gateway_agent_for(task.assignee_agent)
    if link is None:
        return
    actor = Actor(kind=ActorKind.SYSTEM, label=f"board {task.board.name}"[:150])
    try:
        services.wake_gateway_agent(
            actor=actor,
            gateway_agent=link,
            task=task,
            reason="assigned",
            idempotency_key=assignment_key(task.pk, event.pk),
        )
    except DomainError as exc:
        # A retired agent or an over-long task: retrying the batch would fail the same way.
        logger.warning("gateway work for task %s not sent: %s", task.pk, exc.code)
