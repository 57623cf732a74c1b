"""The base of every live stream: authorise in connect, replay what was missed, then relay events.

Browsers' board and organization streams (boards.consumers) and the agent stream
(agents.consumers, agents.streams for SSE) all build on `ActivityStreamConsumer` and
`Subscription` here. Every stream sends activity events as
`{"type": "event", "event": <activity_payload>}`. Wire format, replay and close codes are
documented in docs/realtime.md; keep the two in step.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q

from activity.replay import latest_position, missed_events, parse_cursor
from activity.services import record_activity
from core.actors import Actor
from infra import realtime
from infra.metrics import OPEN_WEBSOCKETS, WEBSOCKET_POLICY_CLOSES

logger = logging.getLogger(__name__)

# Close codes (docs/realtime.md). 4xxx mirror the HTTP status they stand for, except 4008,
# which mirrors the RFC 6455 policy-violation code 1008.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_IDLE = 4408
CLOSE_RATE_LIMITED = 4429
CLOSE_FLOOD = 4008
CLOSE_TOO_BIG = 1009
# The channel layer was lost (its Redis restarted): reconnect with last_event_id and catch up.
CLOSE_SERVICE_RESTART = 1012

# How often an open socket's access is checked again (and its groups renewed).
REAUTHORIZE_SECONDS = 300
# A flood closes the socket every time but is written to the activity log at most this often per
# actor, so that reconnect-and-flood cannot fill the log.
FLOOD_ACTIVITY_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Subscription:
    """What an authorised socket listens to and where its replay reads from."""

    groups: list[str]
    scope: Q
    organization_id: int
    actor: Actor
    board_id: int | None = None
    # For groups that carry more than the stream wants: True for the events to forward.
    accepts: Callable[[dict[str, Any]], bool] | None = None


class RecentIds:
    """Ids already sent on this socket (replay and live overlap, and one event can reach a socket
    through two groups); bounded so a long-lived socket does not grow without limit."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.order: deque[int] = deque()
        self.seen: set[int] = set()

    def add(self, event_id: int) -> bool:
        """True if the id is new (and now remembered)."""
        if event_id in self.seen:
            return False
        self.seen.add(event_id)
        self.order.append(event_id)
        if len(self.order) > self.size:
            self.seen.discard(self.order.popleft())
        return True


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def query_param(scope: dict[str, Any], name: str) -> str | None:
    values = parse_qs((scope.get("query_string") or b"").decode("latin-1")).get(name)
    return values[0] if values else None


class ActivityStreamConsumer(AsyncWebsocketConsumer):
    """Authorise in connect, join the groups FIRST, replay from last_event_id, then go live.

    Channels dispatches one message at a time per consumer: while connect() replays, live events
    wait in this channel's queue of the channel layer and are delivered afterwards, skipping ids
    already sent. Inbound messages are limited in rate (WS_RATE per second, close 4008) and size
    (WS_MAX_MESSAGE_BYTES, close 1009); a silent socket is pinged and then closed (4408).
    """

    stream = "activity"
    # Browser streams authenticate with the session cookie, so they insist on an Origin header
    # (validated by infra.websocket_origin): a cookie without one is not a browser's.
    requires_origin = True

    # Channels reads the channel layer in the same loop as the socket, through the
    # `channel_receive` it assigns in __call__. Ours wraps that read so that losing the layer (its
    # Redis restarting) closes this socket with 1012 instead of crashing the consumer (a 1006 and
    # a traceback): the client reconnects with its last event id, is replayed what it missed, and
    # joins its groups anew (a restarted Redis has forgotten them).
    layer_lost = False

    @property
    def channel_receive(self):
        return self._channel_receive_guarded

    @channel_receive.setter
    def channel_receive(self, raw_receive) -> None:
        pass  # the raw layer read Channels sets; _channel_receive_guarded calls the layer itself

    @property
    def accepted(self) -> asyncio.Event:
        """Set once the socket is accepted. Until then the layer is not read: nothing is sent to
        a channel before it joins its groups, and a refused handshake (most of them carry no
        valid credentials) then costs no Redis read, and leaves none pending to be cancelled."""
        event = self.__dict__.get("_accepted")
        if event is None:
            event = self.__dict__["_accepted"] = asyncio.Event()
        return event

    async def _channel_receive_guarded(self) -> dict[str, Any]:
        await self.accepted.wait()
        if self.layer_lost:
            await asyncio.Event().wait()  # already closing: wait to be cancelled at disconnect
        first_read = not self.__dict__.get("_layer_read")
        self.__dict__["_layer_read"] = True
        try:
            return await self.channel_layer.receive(self.channel_name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # redis ConnectionError/TimeoutError, OSError: the layer is gone
            if first_read and await self._read_again_after_a_stale_connection():
                return await self._channel_receive_guarded()
            self.layer_lost = True
            logger.warning(
                "channel layer lost on %s stream (%s); asking the client to reconnect",
                self.stream,
                type(exc).__name__,
            )
            return {"type": "stream.layer_lost"}

    async def _read_again_after_a_stale_connection(self) -> bool:
        """A socket's first read can fail on a pooled connection that died with an earlier Redis
        (a restart since another socket's read). Its groups were joined moments ago, on the Redis
        that is up now, so nothing was missed: read again, once, if Redis answers."""
        try:
            await self.channel_layer.connection(0).ping()
        except Exception:
            return False
        return True

    async def stream_layer_lost(self, message: dict[str, Any]) -> None:
        await self.close_for(CLOSE_SERVICE_RESTART, "layer_lost")

    async def connect(self) -> None:
        self.subscription: Subscription | None = None
        self.counted = False
        self.closing = False
        self.sent = RecentIds(settings.REPLAY_MAX_EVENTS + 1000)
        self.inbound: deque[float] = deque()
        self.last_inbound = time.monotonic()
        self.ping_sent_at: float | None = None
        self.watchdog: asyncio.Task | None = None
        if self.requires_origin and header(self.scope, b"origin") is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.open()

    # --- subclasses -------------------------------------------------------------------------

    async def open(self) -> None:
        """Authorise the handshake, then accept and subscribe (or close)."""
        result = await self.authorize()
        if isinstance(result, int):
            await self.close(code=result)
            return
        await self.accept_socket()
        await self.subscribe(result, cursor=parse_cursor(query_param(self.scope, "last_event_id")))

    async def authorize(self) -> Subscription | int:
        """A Subscription, or the close code refusing the handshake."""
        raise NotImplementedError

    async def handle_message(self, kind: str, message: dict[str, Any]) -> bool:
        """Handle one client message of a stream-specific type; False if the type is unknown."""
        return False

    # --- lifecycle --------------------------------------------------------------------------

    async def accept_socket(self) -> None:
        await self.accept()
        self.accepted.set()
        OPEN_WEBSOCKETS.labels(stream=self.stream).inc()
        self.counted = True
        self.watchdog = asyncio.ensure_future(self.watch_idle())

    async def subscribe(self, subscription: Subscription, *, cursor: int | None) -> None:
        self.subscription = subscription
        # Join before reading the table: an event committed in between is then either in the
        # replay or queued for us (or both, and dropped as a duplicate), never lost.
        await realtime.join_groups(self.channel_name, subscription.groups)
        # The stream's newest position when it went live: the cursor of a client that had none (a page
        # whose feed was empty), so that its first reconnect can replay what it missed.
        latest = await database_sync_to_async(latest_position)(scope=subscription.scope)
        hello = {"type": "hello", "stream": self.stream, "board_id": subscription.board_id}
        await self.send_json({**hello, "last_event_id": latest})
        if cursor is None:
            return
        replay = await database_sync_to_async(missed_events)(scope=subscription.scope, after_position=cursor)
        for payload in replay.events:
            self.sent.add(payload["id"])
            await self.send_json({"type": "event", "event": payload})
        last = replay.events[-1]["position"] if replay.events else cursor
        await self.send_json(
            {
                "type": "replay.done",
                "count": len(replay.events),
                "truncated": replay.truncated,
                "last_event_id": last,
            }
        )

    async def disconnect(self, code: int) -> None:
        self.closing = True
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.subscription is not None:
            await realtime.leave_groups(self.channel_name, self.subscription.groups)
        if self.counted:
            OPEN_WEBSOCKETS.labels(stream=self.stream).dec()
            self.counted = False

    async def close_for(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        WEBSOCKET_POLICY_CLOSES.labels(stream=self.stream, reason=reason).inc()
        await self.close(code=code, reason=reason)

    # --- outbound ---------------------------------------------------------------------------

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def activity_event(self, message: dict[str, Any]) -> None:
        """A published event (realtime.ACTIVITY_MESSAGE_TYPE)."""
        payload = message["event"]
        subscription = self.subscription
        if subscription is None or self.closing:
            return
        if subscription.accepts is not None and not subscription.accepts(payload):
            return
        if not self.sent.add(payload["id"]):
            return
        await self.send_json({"type": "event", "event": payload})

    # --- inbound ----------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        size = len(text_data.encode("utf-8")) if text_data is not None else len(bytes_data or b"")
        if size > settings.WS_MAX_MESSAGE_BYTES:
            await self.close_for(CLOSE_TOO_BIG, "message too big")
            return
        if self.flooding():
            await self.on_flood()
            return
        self.last_inbound = time.monotonic()
        self.ping_sent_at = None
        try:
            message = json.loads(text_data) if text_data is not None else None
        except ValueError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.send_json(
                {"type": "error", "code": "bad_message", "message": 'Send JSON objects with a string "type".'}
            )
            return
        kind = message["type"]
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "pong":
            pass
        elif not await self.handle_message(kind, message):
            await self.send_json(
                {"type": "error", "code": "unknown_type", "message": "Unknown message type."}
            )

    def flooding(self) -> bool:
        """More than WS_RATE messages within one second (a sliding window)."""
        now = time.monotonic()
        window = self.inbound
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= settings.WS_RATE:
            return True
        window.append(now)
        return False

    async def on_flood(self) -> None:
        logger.warning("websocket closed for flooding: stream=%s limit=%s/s", self.stream, settings.WS_RATE)
        subscription = self.subscription
        await self.close_for(CLOSE_FLOOD, "policy: flood")
        if subscription is not None:
            await database_sync_to_async(record_flood)(subscription=subscription, stream=self.stream)

    async def watch_idle(self) -> None:
        """Pings a silent socket and closes it if the ping goes unanswered; every
        REAUTHORIZE_SECONDS re-checks access and re-joins the groups."""
        idle = settings.WS_IDLE_TIMEOUT_SECONDS
        next_check = time.monotonic() + REAUTHORIZE_SECONDS
        try:
            while not self.closing:
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + REAUTHORIZE_SECONDS
                    if not await self.recheck():
                        return
                    continue
                if self.ping_sent_at is None:
                    wait = self.last_inbound + idle - now
                    if wait <= 0:
                        self.ping_sent_at = now
                        await self.send_json({"type": "ping"})
                        continue
                else:
                    wait = self.ping_sent_at + idle - now
                    if wait <= 0:
                        await self.close_for(CLOSE_IDLE, "idle timeout")
                        return
                await asyncio.sleep(min(wait, next_check - now))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the socket went away under us; disconnect() cleans up
            logger.debug("idle watchdog stopped: %s", type(exc).__name__)

    async def reauthorize(self) -> Subscription | int:
        return await self.authorize()

    async def recheck(self) -> bool:
        """Access can be revoked while a socket is open (membership removed, token revoked, agent
        taken off a board): apply it. Joining again also renews the groups before the channel
        layer's group expiry (a day with Redis) would silently drop a long-lived socket."""
        if self.subscription is None:
            return True
        result = await self.reauthorize()
        if isinstance(result, int):
            await self.close_for(result, "access revoked")
            return False
        await realtime.join_groups(self.channel_name, result.groups)
        await realtime.leave_groups(self.channel_name, set(self.subscription.groups) - set(result.groups))
        self.subscription = result
        return True


def record_flood(*, subscription: Subscription, stream: str) -> None:
    """One activity entry per actor per FLOOD_ACTIVITY_INTERVAL_SECONDS (not published live)."""
    actor = subscription.actor
    who = f"user:{actor.user.pk}" if actor.user is not None else f"agent:{getattr(actor.agent, 'pk', '')}"
    if not cache.add(f"mc:ws-flood:{who}", 1, FLOOD_ACTIVITY_INTERVAL_SECONDS):
        return
    with transaction.atomic():
        record_activity(
            organization=subscription.organization_id,
            board=subscription.board_id,
            verb="stream.flood_closed",
            actor=actor,
            target_type="stream",
            target_id=stream,
            detail={"stream": stream, "limit_per_second": settings.WS_RATE, "close_code": CLOSE_FLOOD},
            publish=False,
        )
