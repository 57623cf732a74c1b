"""GET /api/v1/agent/events/stream: the agent stream as Server-Sent Events, for agents that would
rather read a long HTTP response than speak websocket.

Same events, groups and replay as /ws/agent/ (agents.consumers): each event is one SSE message
with `id:` = the event's position (the cursor): a reconnecting EventSource sends Last-Event-ID
and catches up from the activity table. The response lives at most SSE_MAX_LIFETIME_SECONDS
(clients reconnect, proxies and workers are not held forever) and sends a comment every
SSE_KEEPALIVE_SECONDS so idle-connection timeouts of proxies do not cut it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from activity.replay import missed_events, parse_cursor
from activity.streams import RecentIds, Subscription
from agents.authentication import (
    AgentAuthenticationFailed,
    AgentRateLimited,
    AgentSuspended,
    token_from_request_headers,
    verify_agent_credentials,
)
from agents.consumers import ack_cursor_key, agent_subscription
from infra import realtime
from infra.client_ip import client_ip_from_meta
from infra.errors import json_error
from infra.metrics import OPEN_EVENT_STREAMS

SSE_MAX_LIFETIME_SECONDS = 300.0
SSE_KEEPALIVE_SECONDS = 15.0
# Sent first: how long an EventSource waits before reconnecting when the stream ends.
SSE_RETRY_MILLISECONDS = 2000


def sse_message(payload: dict[str, Any]) -> str:
    # json.dumps never emits a raw newline, so one `data:` line carries the whole event.
    return f"id: {payload['position']}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"


def stream_closed_message(reason: str) -> str:
    """The last message of a stream whose token was revoked or whose agent was suspended or
    deleted: clients should not reconnect with the same token."""
    return f"event: stream.closed\ndata: {json.dumps({'reason': reason})}\n\n"


async def agent_events(
    subscription: Subscription, cursor: int | None, *, token_id: int | None = None
) -> AsyncIterator[str]:
    deadline = time.monotonic() + SSE_MAX_LIFETIME_SECONDS
    sent = RecentIds(settings.REPLAY_MAX_EVENTS + 1000)
    OPEN_EVENT_STREAMS.inc()
    try:
        # Joined before the replay is read (see boards.consumers): nothing falls in between.
        async with realtime.GroupListener(subscription.groups) as listener:
            yield f"retry: {SSE_RETRY_MILLISECONDS}\n: connected\n\n"
            if cursor is not None:
                replay = await database_sync_to_async(missed_events)(
                    scope=subscription.scope, after_position=cursor
                )
                if replay.truncated:
                    yield "event: replay.truncated\ndata: {}\n\n"
                for payload in replay.events:
                    sent.add(payload["id"])
                    yield sse_message(payload)
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    payload = await listener.receive(timeout=min(SSE_KEEPALIVE_SECONDS, remaining))
                except realtime.StreamClosed as closed:
                    if closed.applies_to(token_id):
                        yield stream_closed_message(closed.reason)
                        return
                    continue
                if payload is None:
                    yield ": keep-alive\n\n"
                elif sent.add(payload["id"]):
                    yield sse_message(payload)
    finally:
        OPEN_EVENT_STREAMS.dec()


async def agent_event_stream(request: HttpRequest) -> HttpResponse:
    """Token auth (Authorization: Bearer / X-Agent-Token); cursor from Last-Event-ID or
    ?last_event_id= (not a secret); otherwise from the agent's last ack, otherwise live only."""
    if request.method != "GET":
        return json_error(405, "method_not_allowed", "Use GET.", headers={"Allow": "GET"})
    raw = token_from_request_headers(request.headers)
    if raw is None:
        return json_error(
            401,
            "not_authenticated",
            "An agent token is required.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    try:
        token = await database_sync_to_async(verify_agent_credentials)(
            raw, client_ip=client_ip_from_meta(request.META), path=request.path
        )
    except AgentRateLimited as exc:
        return json_error(429, "rate_limited", str(exc), headers={"Retry-After": str(exc.retry_after)})
    except AgentSuspended as exc:
        return json_error(403, exc.code, str(exc))
    except AgentAuthenticationFailed as exc:
        return json_error(
            401, "authentication_failed", str(exc), headers={"WWW-Authenticate": 'Bearer realm="api"'}
        )
    subscription = await database_sync_to_async(agent_subscription)(token)
    if subscription is None:
        return json_error(403, "agent_suspended", "This agent is suspended.")
    cursor = parse_cursor(request.headers.get("Last-Event-ID"))
    if cursor is None:
        cursor = parse_cursor(request.GET.get("last_event_id"))
    if cursor is None:
        cursor = await sync_to_async(cache.get)(ack_cursor_key(token.agent_id))
    response = StreamingHttpResponse(
        agent_events(subscription, cursor, token_id=token.pk), content_type="text/event-stream"
    )
    # Proxies (nginx) and browsers must pass each message through at once, never buffer or cache.
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
