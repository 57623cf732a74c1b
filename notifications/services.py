"""Every write to notifications, mutes and watches.

`notify(...)` is the one way to tell people something: chat mentions, task status changes,
approvals and (later) alert rules all call it. It drops recipients who are not members of the
organization or who muted the board, writes one row per remaining person in the caller's
transaction, and after commit pushes each person's new unread count to their open pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from activity.services import record_activity
from boards.models import Board, Task
from core.access import require_role
from core.actors import Actor
from core.models import Membership, Organization
from infra import realtime
from infra.exceptions import NotFound
from notifications.models import BoardMute, Notification, NotificationKind, TaskWatch


def _pk(value: Any) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return value.pk


def recipients_to_notify(*, organization_id: int, board_id: int | None, user_ids: Iterable[int]) -> list[int]:
    """The members of the organization among `user_ids` who have not muted the board."""
    wanted = {pk for pk in user_ids if pk}
    if not wanted:
        return []
    members = set(
        Membership.objects.filter(organization_id=organization_id, user_id__in=wanted).values_list(
            "user_id", flat=True
        )
    )
    if board_id is not None and members:
        members -= set(
            BoardMute.objects.filter(board_id=board_id, user_id__in=members).values_list("user_id", flat=True)
        )
    return sorted(members)


def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    title: str,
    organization: Organization | int,
    board: Board | int | None = None,
    excerpt: str = "",
    url: str = "",
    actor_label: str = "",
    target_type: str = "",
    target_id: str | int = "",
) -> list[Notification]:
    """Notify each person in `recipients` (users or user ids) once. Call inside a transaction.

    The hook for other features (alerts: `kind=NotificationKind.ALERT`). Non-members and people
    who muted `board` are skipped silently; duplicates in `recipients` count once.
    """
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    organization_id = _pk(organization)
    board_id = _pk(board)
    user_ids = recipients_to_notify(
        organization_id=organization_id, board_id=board_id, user_ids=(_pk(r) for r in recipients)
    )
    if not user_ids:
        return []
    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=user_id,
                organization_id=organization_id,
                board_id=board_id,
                kind=kind,
                title=title[:200],
                excerpt=excerpt[:300],
                url=url[:500],
                actor_label=actor_label[:150],
                target_type=target_type,
                target_id=str(target_id),
            )
            for user_id in user_ids
        ]
    )
    transaction.on_commit(lambda: publish_unread_counts(user_ids))
    return rows


def unread_count(user) -> int:
    return Notification.objects.for_recipient(user).unread().count()


def publish_unread_counts(user_ids: Iterable[int]) -> None:
    user_ids = list(user_ids)
    counts = dict(
        Notification.objects.filter(recipient_id__in=user_ids, read_at__isnull=True)
        .values("recipient_id")
        .annotate(n=Count("id"))
        .values_list("recipient_id", "n")
    )
    for user_id in user_ids:
        realtime.publish_unread_count(user_id, counts.get(user_id, 0))


@transaction.atomic
def mark_read(*, notification: Notification, user) -> Notification:
    if notification.recipient_id != user.pk:
        raise NotFound("Not found.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        transaction.on_commit(lambda: publish_unread_counts([user.pk]))
    return notification


@transaction.atomic
def mark_all_read(*, user) -> int:
    changed = Notification.objects.for_recipient(user).unread().update(read_at=timezone.now())
    if changed:
        transaction.on_commit(lambda: publish_unread_counts([user.pk]))
    return changed


def _set_preference(
    model,
    *,
    user,
    on: bool,
    organization_id: int,
    board_id: int,
    target,
    verb: str,
    detail: dict[str, Any],
    **lookup: Any,
) -> bool:
    """Create or delete one person's preference row; a change is recorded (not published)."""
    require_role(user=user, organization=organization_id)
    if on:
        _, changed = model.objects.get_or_create(user=user, **lookup)
    else:
        changed = model.objects.filter(user=user, **lookup).delete()[0] > 0
    if changed:
        record_activity(
            organization=organization_id,
            board=board_id,
            verb=verb,
            actor=Actor.for_user(user),
            target=target,
            detail=detail,
            publish=False,
        )
    return on


@transaction.atomic
def set_board_muted(*, board: Board, user, muted: bool) -> bool:
    """Mute or unmute a board for one person (any member may)."""
    return _set_preference(
        BoardMute,
        user=user,
        on=muted,
        organization_id=board.organization_id,
        board_id=board.pk,
        target=board,
        verb="notification.board_muted" if muted else "notification.board_unmuted",
        detail={"board_id": board.pk, "name": board.name},
        board=board,
    )


@transaction.atomic
def set_task_watched(*, task: Task, user, watched: bool) -> bool:
    """Watch or unwatch a task's status changes (any member may)."""
    return _set_preference(
        TaskWatch,
        user=user,
        on=watched,
        organization_id=task.board.organization_id,
        board_id=task.board_id,
        target=task,
        verb="notification.task_watched" if watched else "notification.task_unwatched",
        detail={"task_id": task.pk, "title": task.title},
        task=task,
    )
