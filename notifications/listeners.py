"""Notifications that follow from board activity: a log consumer (settings.ACTIVITY_LOG_CONSUMERS),
called for each committed event by the consumer's own cursor, outside the writer's request."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from activity.models import ActivityEvent
from boards.models import Task
from core.actors import ActorKind
from core.ids import parse_id
from core.models import Membership, Role
from notifications.models import NotificationKind, TaskWatch
from notifications.services import notify

STATUS_LABELS = {
    "inbox": "inbox",
    "in_progress": "in progress",
    "review": "review",
    "done": "done",
    "blocked": "blocked",
}


def _task_people(task_id: int) -> tuple[Task | None, set[int]]:
    """The task, and the people who follow it: its creator, its assignee and its watchers."""
    task = (
        Task.objects.filter(pk=task_id)
        .only("pk", "title", "board_id", "created_by_user_id", "assignee_user_id")
        .first()
    )
    if task is None:
        return None, set()
    people = {task.created_by_user_id, task.assignee_user_id}
    people |= set(TaskWatch.objects.filter(task_id=task_id).values_list("user_id", flat=True))
    return task, {pk for pk in people if pk}


def _notify_about_task(
    event: ActivityEvent,
    task: Task,
    recipients: set[int],
    *,
    kind: str,
    title: str,
    target_type: str,
    target_id,
) -> None:
    notify(
        recipients=recipients,
        kind=kind,
        organization=event.organization_id,
        board=event.board_id,
        url=reverse("boards:task-detail", args=[task.board_id, task.pk]),
        actor_label=event.actor_label,
        title=title,
        target_type=target_type,
        target_id=target_id,
    )


def _on_status_changed(event: ActivityEvent) -> None:
    # A listener runs inside the writer's transaction: an event without a task id (recorded by
    # an import, a test, a future caller) must not roll the write back.
    task_id = parse_id(event.target_id)
    if task_id is None:
        return
    task, people = _task_people(task_id)
    people.discard(event.actor_user_id if event.actor_kind == ActorKind.USER else None)
    if task is None or not people:
        return
    to = (event.detail or {}).get("to")
    status = STATUS_LABELS.get(to, to)
    _notify_about_task(
        event,
        task,
        people,
        kind=NotificationKind.TASK_STATUS,
        title=f"{event.actor_label} moved “{task.title}” to {status}",
        target_type="task",
        target_id=task.pk,
    )


def _on_approval_requested(event: ActivityEvent) -> None:
    """An approval waits for the people who can decide it: the operators and admins among the
    task's followers, or else the organization's admins."""
    task, people = _task_people(parse_id((event.detail or {}).get("task_id")) or 0)
    if task is None:
        return
    people.discard(event.actor_user_id)
    deciders = Membership.objects.filter(
        organization_id=event.organization_id, role__in=[Role.OPERATOR, Role.ADMIN]
    )
    recipients = set(deciders.filter(user_id__in=people).values_list("user_id", flat=True))
    if not recipients:
        recipients = set(deciders.filter(role=Role.ADMIN).values_list("user_id", flat=True))
        recipients.discard(event.actor_user_id)
    if not recipients:
        return
    _notify_about_task(
        event,
        task,
        recipients,
        kind=NotificationKind.APPROVAL,
        title=f"Approval waiting: {event.actor_label} asks to finish “{task.title}”",
        target_type="approval",
        target_id=event.target_id,
    )


def _on_comment_added(event: ActivityEvent) -> None:
    """The people a task comment @mentions, for a `comment.added` recorded before comments moved
    into the task's thread. A comment now is a thread message (its event has `message_id`), whose
    mentions chat notified at the write, in the same transaction: told here too, they would hear
    twice."""
    detail = event.detail or {}
    if detail.get("message_id"):
        return
    mentioned = {pk for pk in (parse_id(value) for value in detail.get("mentioned_user_ids") or []) if pk}
    mentioned.discard(event.actor_user_id if event.actor_kind == ActorKind.USER else None)
    task_id = parse_id(detail.get("task_id"))
    if not mentioned or task_id is None:
        return
    task = Task.objects.filter(pk=task_id).only("pk", "title", "board_id").first()
    if task is None:
        return
    notify(
        recipients=mentioned,
        kind=NotificationKind.MENTION,
        organization=event.organization_id,
        board=event.board_id,
        url=reverse("boards:task-detail", args=[task.board_id, task.pk]) + f"#comment-{event.target_id}",
        actor_label=event.actor_label,
        title=f"{event.actor_label} mentioned you in “{task.title}”"[:200],
        excerpt=str(detail.get("excerpt") or "")[:300],
        target_type="comment",
        target_id=event.target_id,
    )


HANDLERS = {
    "task.status_changed": _on_status_changed,
    "approval.requested": _on_approval_requested,
    "comment.added": _on_comment_added,
}


def notify_on_activity(event: ActivityEvent, agent_ids: Sequence[int] = ()) -> None:
    handler = HANDLERS.get(event.verb)
    if handler is not None:
        handler(event)
