"""Live streams over websockets for browsers: a board (/ws/boards/<id>/) and the user's
organizations (/ws/activity/). The stream base they share with agents is activity.streams.
"""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Q

from activity.streams import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    ActivityStreamConsumer,
    Subscription,
)
from boards.models import Board
from core.access import current_organization, membership_for
from core.actors import Actor
from infra import realtime

# Organization-level events about an agent that the boards showing the agent carry as well.
AGENT_VERBS_ON_BOARDS = ("agent.presence_changed", "agent.status_changed")


def _board_subscription(user, board_id: int) -> Subscription | None:
    board = Board.objects.filter(pk=board_id).only("pk", "organization_id").first()
    if board is None or membership_for(user, board.organization_id) is None:
        return None
    agent_ids = {str(pk) for pk in board.agents.values_list("pk", flat=True)}

    def accepts(payload: dict[str, Any]) -> bool:
        if payload.get("board_id") == board.pk:
            return True
        target = payload.get("target") or {}
        return (
            payload.get("verb") in AGENT_VERBS_ON_BOARDS
            and target.get("type") == "agent"
            and str(target.get("id")) in agent_ids
        )

    about_its_agents = Q(
        organization_id=board.organization_id,
        board__isnull=True,
        target_type="agent",
        target_id__in=sorted(agent_ids),
        verb__in=AGENT_VERBS_ON_BOARDS,
    )
    return Subscription(
        groups=[realtime.board_group(board.pk), realtime.organization_agents_group(board.organization_id)],
        scope=Q(board_id=board.pk) | about_its_agents if agent_ids else Q(board_id=board.pk),
        organization_id=board.organization_id,
        actor=Actor.for_user(user),
        board_id=board.pk,
        accepts=accepts,
    )


def _organization_subscription(user, session_key: str | None) -> Subscription | None:
    """The user's current organization, as the pages pick it (core.access.current_organization:
    the switcher's choice kept in the session, else the first). The session is read afresh on
    every call, so a switch in another tab is followed at the next recheck or reconnect."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    organization = current_organization(SimpleNamespace(user=user, session=session))
    if organization is None:
        return None
    return Subscription(
        groups=[realtime.organization_group(organization.pk)],
        scope=Q(organization_id=organization.pk),
        organization_id=organization.pk,
        actor=Actor.for_user(user),
    )


class BoardConsumer(ActivityStreamConsumer):
    """/ws/boards/<board_id>/: every activity event of one board, for its organization's members."""

    stream = "board"

    async def authorize(self) -> Subscription | int:
        user = self.scope.get("user")
        if not getattr(user, "is_authenticated", False):
            return CLOSE_UNAUTHENTICATED
        board_id = int(self.scope["url_route"]["kwargs"]["board_id"])
        subscription = await database_sync_to_async(_board_subscription)(user, board_id)
        # Unknown board and someone else's board look the same, so ids cannot be probed.
        return subscription if subscription is not None else CLOSE_FORBIDDEN


class OrganizationActivityConsumer(ActivityStreamConsumer):
    """/ws/activity/: the events of the user's current organization (activity feed, agents pages)."""

    stream = "activity"

    async def authorize(self) -> Subscription | int:
        user = self.scope.get("user")
        if not getattr(user, "is_authenticated", False):
            return CLOSE_UNAUTHENTICATED
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None) if session is not None else None
        subscription = await database_sync_to_async(_organization_subscription)(user, session_key)
        return subscription if subscription is not None else CLOSE_FORBIDDEN
