"""The activity log: every change appends one ActivityEvent and publishes it once, on commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from boards.models import ActivityEvent, ActorKind, Board, Organization
from missioncontrol import realtime
from missioncontrol.logs import current_request_id


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, an agent, a webhook or the system itself."""

    kind: str
    label: str
    user: Any = None
    agent: Any = None

    @classmethod
    def for_user(cls, user) -> Actor:
        return cls(kind=ActorKind.USER, label=user.get_username(), user=user)

    @classmethod
    def for_agent(cls, agent) -> Actor:
        return cls(kind=ActorKind.AGENT, label=agent.name, agent=agent)

    @classmethod
    def for_webhook(cls, webhook) -> Actor:
        return cls(kind=ActorKind.WEBHOOK, label=f"webhook {webhook.pk}")

    @classmethod
    def system(cls) -> Actor:
        return cls(kind=ActorKind.SYSTEM, label="system")


# Apps above this one (notifications) that react to events register here in their
# AppConfig.ready: record_activity calls each inside the writing transaction, so what a listener
# writes commits or rolls back with the event. Lower layers never import the higher ones.
ActivityListener = Callable[[ActivityEvent], None]
_listeners: list[ActivityListener] = []


def add_activity_listener(listener: ActivityListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def activity_payload(event: ActivityEvent) -> dict[str, Any]:
    """The event as clients see it, on websockets, SSE and the activity API alike."""
    return {
        "id": event.id,
        "verb": event.verb,
        "organization_id": event.organization_id,
        "board_id": event.board_id,
        "actor": {
            "kind": event.actor_kind,
            "label": event.actor_label,
            "user_id": event.actor_user_id,
            "agent_id": event.actor_agent_id,
        },
        "target": {"type": event.target_type, "id": event.target_id},
        "detail": event.detail,
        "request_id": event.request_id,
        "created_at": event.created_at.isoformat(),
    }


def record_activity(
    *,
    organization: Organization | int,
    verb: str,
    actor: Actor,
    board: Board | int | None = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    detail: dict[str, Any] | None = None,
    notify_agent_ids: Iterable[int] = (),
    publish: bool = True,
) -> ActivityEvent:
    """Append an event inside the caller's transaction; publish it to live streams on commit."""
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target.pk
    event = ActivityEvent.objects.create(
        organization_id=organization if isinstance(organization, int) else organization.pk,
        board_id=board if (board is None or isinstance(board, int)) else board.pk,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_agent=actor.agent,
        actor_label=actor.label[:150],
        verb=verb,
        target_type=target_type,
        target_id=str(target_id),
        detail=detail or {},
        request_id=current_request_id.get() if current_request_id.get() != "-" else "",
    )
    agent_ids = list(notify_agent_ids)
    # Deliveries are rows of the same transaction: an event that commits is never lost to
    # its subscribers, and one that rolls back is never sent.
    from webhooks.outbound import create_deliveries_for_event

    create_deliveries_for_event(event, agent_ids)
    for listener in _listeners:
        listener(event)
    if publish:
        groups = realtime.groups_for_activity(
            organization_id=event.organization_id, board_id=event.board_id, agent_ids=agent_ids
        )
        transaction.on_commit(lambda: realtime.publish_event(activity_payload(event), groups))
    return event
