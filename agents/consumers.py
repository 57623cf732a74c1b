"""/ws/agent/: the agent's live stream, authenticated by its bearer token.

The token comes in the handshake headers (`Authorization: Bearer` or `X-Agent-Token`) or, for
clients that cannot set headers, in a first `{"type": "auth", "token": ...}` message within
AUTH_TIMEOUT_SECONDS. Never in the query string: URLs end up in access logs.
Wire format and close codes: docs/realtime.md.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from activity.models import ActivityEvent
from activity.replay import parse_cursor
from activity.streams import (
    CLOSE_FORBIDDEN,
    CLOSE_RATE_LIMITED,
    CLOSE_UNAUTHENTICATED,
    ActivityStreamConsumer,
    Subscription,
    query_param,
)
from agents.authentication import (
    AgentAuthenticationFailed,
    AgentRateLimited,
    AgentSuspended,
    authenticate_websocket_scope,
    client_ip_from_scope,
    verify_agent_credentials,
)
from agents.models import AgentStatus, AgentToken
from agents.services import record_heartbeat
from boards.models import Task
from core.actors import Actor
from infra import realtime
from infra.exceptions import DomainError

AUTH_TIMEOUT_SECONDS = 5.0
# The position of the agent's last acknowledged event: where a reconnect without last_event_id resumes.
ACK_CURSOR_TTL_SECONDS = 7 * 24 * 3600


def ack_cursor_key(agent_id: int) -> str:
    return f"mc:agent-ack:{agent_id}"


def agent_subscription(token: AgentToken) -> Subscription | None:
    """The groups and replay scope of an agent: its boards, plus events addressed to it."""
    agent = token.agent
    if agent.status != AgentStatus.ACTIVE:
        return None
    board_ids = list(agent.boards.values_list("id", flat=True))
    groups = [realtime.agent_group(agent.pk)] + [realtime.board_group(pk) for pk in board_ids]
    # Replay can only find what the table records: the agent's boards and events whose target
    # is the agent. Events pushed to the agent group about other boards are live-only.
    scope = Q(organization_id=agent.organization_id) & (
        Q(board_id__in=board_ids) | Q(target_type="agent", target_id=str(agent.pk))
    )
    return Subscription(
        groups=groups, scope=scope, organization_id=agent.organization_id, actor=Actor.for_agent(agent)
    )


def token_still_valid(token_id: int) -> bool:
    """Checked again at each heartbeat/ack and recheck (an expiry sends no message); revocation and
    suspension also close the socket at once through realtime.close_agent_streams."""
    now = timezone.now()
    return AgentToken.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        pk=token_id,
        revoked_at__isnull=True,
        agent__status=AgentStatus.ACTIVE,
    ).exists()


def _heartbeat(*, token_id: int, status_text: str, current_task_id: Any) -> dict[str, Any]:
    token = AgentToken.objects.select_related("agent").get(pk=token_id)
    current_task = None
    if current_task_id is not None:
        current_task = (
            Task.objects.filter(
                pk=current_task_id, board__organization_id=token.agent.organization_id
            ).first()
            if isinstance(current_task_id, int)
            else None
        )
        if current_task is None:
            return {"type": "error", "code": "not_found", "message": "No such task."}
    try:
        record_heartbeat(agent=token.agent, status_text=status_text, current_task=current_task)
    except DomainError as exc:
        return {"type": "error", "code": exc.code, "message": str(exc)}
    return {"type": "heartbeat.ok"}


class AgentStreamConsumer(ActivityStreamConsumer):
    stream = "agent"
    # Agents are not browsers: no Origin is fine (no cookie can ride along, see
    # websocket_origin); a present Origin must still be the site's or a trusted one.
    requires_origin = False

    async def open(self) -> None:
        self.token_id: int | None = None
        self.auth_timer: asyncio.Task | None = None
        try:
            token = await database_sync_to_async(authenticate_websocket_scope)(self.scope)
        except AgentRateLimited:
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        except AgentSuspended:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        except AgentAuthenticationFailed:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.accept_socket()
        if token is None:
            self.auth_timer = asyncio.ensure_future(self.expire_unauthenticated())
            return
        await self.start(token, cursor=parse_cursor(query_param(self.scope, "last_event_id")))

    async def expire_unauthenticated(self) -> None:
        await asyncio.sleep(AUTH_TIMEOUT_SECONDS)
        if self.subscription is None:
            await self.close_for(CLOSE_UNAUTHENTICATED, "authentication timeout")

    async def start(self, token: AgentToken, *, cursor: int | None) -> None:
        subscription = await database_sync_to_async(agent_subscription)(token)
        if subscription is None:
            await self.close_for(CLOSE_FORBIDDEN, "agent not active")
            return
        self.token_id = token.pk
        if cursor is None:
            cursor = await database_sync_to_async(cache.get)(ack_cursor_key(token.agent_id))
        await self.subscribe(subscription, cursor=cursor)

    async def reauthorize(self) -> Subscription | int:
        if not await database_sync_to_async(token_still_valid)(self.token_id):
            return CLOSE_UNAUTHENTICATED
        token = await database_sync_to_async(AgentToken.objects.select_related("agent").get)(pk=self.token_id)
        subscription = await database_sync_to_async(agent_subscription)(token)
        return subscription if subscription is not None else CLOSE_FORBIDDEN

    async def stream_close(self, message: dict[str, Any]) -> None:
        """realtime.close_agent_streams: the token was revoked or the agent suspended or deleted."""
        closed = realtime.StreamClosed(message)
        if self.token_id is None or not closed.applies_to(self.token_id):
            return
        code = CLOSE_FORBIDDEN if closed.reason == realtime.AGENT_SUSPENDED else CLOSE_UNAUTHENTICATED
        await self.close_for(code, "access revoked")

    async def disconnect(self, code: int) -> None:
        if getattr(self, "auth_timer", None) is not None:
            self.auth_timer.cancel()
        await super().disconnect(code)

    async def handle_message(self, kind: str, message: dict[str, Any]) -> bool:
        if self.subscription is None:
            await self.authenticate_message(kind, message)
            return True
        if kind not in ("heartbeat", "ack"):
            return False
        if not await database_sync_to_async(token_still_valid)(self.token_id):
            await self.close_for(CLOSE_UNAUTHENTICATED, "token no longer valid")
            return True
        if kind == "heartbeat":
            status_text = message.get("status_text", "")
            reply = await database_sync_to_async(_heartbeat)(
                token_id=self.token_id,
                status_text=status_text if isinstance(status_text, str) else "",
                current_task_id=message.get("current_task_id"),
            )
            await self.send_json(reply)
            return True
        event_id = message.get("event_id")
        if not isinstance(event_id, int) or isinstance(event_id, bool) or event_id < 1:
            await self.send_json(
                {"type": "error", "code": "invalid", "message": "event_id must be a positive integer."}
            )
            return True
        await database_sync_to_async(self.store_ack)(event_id)
        await self.send_json({"type": "ack.ok", "event_id": event_id})
        return True

    def store_ack(self, event_id: int) -> None:
        """Keeps the acknowledged event's position: the cursor a reconnect resumes from."""
        found = ActivityEvent.objects.filter(pk=event_id).values_list("position", flat=True)[:1]
        position = found[0] if found else None
        if position is None:
            return
        key = ack_cursor_key(self.subscription.actor.agent.pk)
        current = cache.get(key)
        if current is None or position > current:
            cache.set(key, position, ACK_CURSOR_TTL_SECONDS)

    async def authenticate_message(self, kind: str, message: dict[str, Any]) -> None:
        raw = message.get("token")
        if kind != "auth" or not isinstance(raw, str):
            await self.close_for(CLOSE_UNAUTHENTICATED, "authentication required")
            return
        try:
            token = await database_sync_to_async(verify_agent_credentials)(
                raw, client_ip=client_ip_from_scope(self.scope), path=self.scope.get("path", "")
            )
        except AgentRateLimited:
            await self.close_for(CLOSE_RATE_LIMITED, "too many failed authentications")
            return
        except AgentSuspended:
            await self.close_for(CLOSE_FORBIDDEN, "agent not active")
            return
        except AgentAuthenticationFailed:
            await self.close_for(CLOSE_UNAUTHENTICATED, "invalid token")
            return
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        cursor = message.get("last_event_id")
        cursor = parse_cursor(str(cursor)) if cursor is not None else None
        if cursor is None:
            cursor = parse_cursor(query_param(self.scope, "last_event_id"))
        await self.start(token, cursor=cursor)
