"""Subscriptions are made through the service (it returns the one-time secret)."""

from __future__ import annotations

from django.db import transaction

from activity.models import ActivityEvent
from activity.services import record_activity
from core.actors import Actor
from deliveries.models import Subscription
from deliveries.outbound import create_subscription
from tests.activity.log import drain_log


def subscribe(*, user, organization, url: str, board=None, event_types=None) -> tuple[Subscription, str]:
    return create_subscription(
        actor=Actor.for_user(user),
        organization=organization,
        board=board,
        target_url=url,
        event_types=event_types or [],
    )


def emit(*, organization, board=None, verb: str = "task.created", notify_agent_ids=()) -> ActivityEvent:
    """An event as any service records it, then the log followed as the worker would: the
    deliveries consumer creates the outbox rows (drain_log), enqueued when that commits."""
    with transaction.atomic():
        event = record_activity(
            organization=organization,
            board=board,
            actor=Actor.system(),
            verb=verb,
            target_type="task",
            target_id=1,
            detail={"title": "Ship it"},
            notify_agent_ids=notify_agent_ids,
        )
    drain_log()
    return event
