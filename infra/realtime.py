"""The only caller of the channel layer. Services publish here, on commit; consumers listen.

Group names come only from the helpers below so that publishers and consumers cannot drift.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

# The consumer method that receives published events: "activity.event" -> activity_event().
ACTIVITY_MESSAGE_TYPE = "activity.event"
# A person's unread notification count: "notification.count" -> notification_count().
NOTIFICATION_MESSAGE_TYPE = "notification.count"
# A gateway session's run event: "gateway.stream" -> gateway_stream().
GATEWAY_STREAM_MESSAGE_TYPE = "gateway.stream"


def board_group(board_id: int) -> str:
    return f"board.{board_id}"


def organization_group(organization_id: int) -> str:
    return f"org.{organization_id}"


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def user_group(user_id: int) -> str:
    """One person's private group: their notification count, on every page they have open."""
    return f"user.{user_id}"


def organization_agents_group(organization_id: int) -> str:
    """Organization-level events about an agent (presence, status), for the board streams that
    show the agent: joining the whole organization group would send them every board's events."""
    return f"org.{organization_id}.agents"


def gateway_session_group(gateway_id: int, session_key: str) -> str:
    """The pages watching one session of one gateway (its live transcript). Session keys hold
    colons and any length, which group names may not: the key is hashed."""
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:32]
    return f"gateway.{gateway_id}.session.{digest}"


def _extra_groups(payload: dict[str, Any]) -> list[str]:
    target = payload.get("target") or {}
    if payload.get("board_id") is None and target.get("type") == "agent" and payload.get("organization_id"):
        return [organization_agents_group(payload["organization_id"])]
    return []


# The ASGI server's event loop, recorded by missioncontrol.asgi on the first request. The
# in-memory channel layer keeps asyncio queues that belong to that loop: a publish from a
# thread with no loop of its own (a Celery worker thread in the embedded default) must run
# there, or the waiting socket is never woken. The Redis layer does not care.
_server_loop: asyncio.AbstractEventLoop | None = None
_SEND_TIMEOUT_SECONDS = 5.0


def bind_event_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _server_loop
    _server_loop = loop


class PublisherLoop:
    """One long-lived event loop in a daemon thread, per process, for publishes from threads
    that have none (WSGI worker threads, Celery tasks).

    async_to_sync would build a new event loop per call, and channels-redis keeps its connection
    pools per loop: every publish paid for a loop and fresh Redis connections (14 % of an
    ingest's CPU under gunicorn). Here the pools live as long as the process. Started lazily
    and again after a fork (a forked child has the loop object but not its thread).
    """

    _loop: asyncio.AbstractEventLoop | None = None
    _pid: int | None = None
    _lock = threading.Lock()

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        loop = cls._loop
        if loop is not None and cls._pid == os.getpid():
            return loop
        with cls._lock:
            if cls._loop is None or cls._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="realtime-publisher", daemon=True).start()
                cls._loop, cls._pid = loop, os.getpid()
            return cls._loop


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _send_to_groups(layer, groups: list[str], message: dict[str, Any]) -> None:
    for group in groups:
        try:
            await layer.group_send(group, message)
        except Exception as exc:
            logger.warning("realtime publish to %s failed: %s", group, type(exc).__name__)


def publish_event(payload: dict[str, Any], groups: Iterable[str]) -> None:
    """Send one event to each group once. Never raises: a dead layer must not fail a write
    that has already committed (clients catch up from the activity table on reconnect)."""
    message = {"type": ACTIVITY_MESSAGE_TYPE, "event": payload}
    _publish(message, list(dict.fromkeys([*groups, *_extra_groups(payload)])))


def publish_gateway_session(*, gateway_id: int, session_key: str, payload: dict[str, Any]) -> None:
    """One run event of a gateway session (a delta, a tool call, the end) to the pages watching
    it. Never raises, and writes nothing: a page that opens late reads chat.history instead."""
    _publish(
        {"type": GATEWAY_STREAM_MESSAGE_TYPE, "event": payload},
        [gateway_session_group(gateway_id, session_key)],
    )


async def _send_in_order(layer, messages: list[tuple[dict[str, Any], list[str]]]) -> None:
    """Each message to each of its groups, one after the other; the first failure propagates."""
    for message, groups in messages:
        for group in groups:
            await layer.group_send(group, message)


def publish_events_in_order(events: list[tuple[dict[str, Any], Iterable[str]]]) -> None:
    """Publish events in the given order, waiting for each send; raises if any send fails.

    The live publisher (activity.following) calls this with events in commit order and advances
    its cursor only when it returns, so a send lost to a Redis restart is sent again (streams drop
    the duplicate by id) instead of being skipped. Waiting also keeps the order: a socket's
    channel receives the events in the order they were sent.
    """
    layer = get_channel_layer()
    if layer is None or not events:
        return
    messages = [
        (
            {"type": ACTIVITY_MESSAGE_TYPE, "event": payload},
            list(dict.fromkeys([*groups, *_extra_groups(payload)])),
        )
        for payload, groups in events
    ]
    server_loop = _server_loop
    current_loop = _running_loop()
    if server_loop is not None and server_loop.is_running() and current_loop is not server_loop:
        asyncio.run_coroutine_threadsafe(_send_in_order(layer, messages), server_loop).result(
            timeout=_SEND_TIMEOUT_SECONDS
        )
    elif current_loop is not None:
        # Synchronous code on a running loop cannot wait without deadlocking it: the sends are
        # scheduled in order in one task, and a failure there is only logged.
        task = current_loop.create_task(_send_in_order(layer, messages))
        task.add_done_callback(_log_failed_send)
    elif isinstance(layer, InMemoryChannelLayer):
        async_to_sync(_send_in_order)(layer, messages)
    else:
        asyncio.run_coroutine_threadsafe(_send_in_order(layer, messages), PublisherLoop.get()).result(
            timeout=_SEND_TIMEOUT_SECONDS
        )


def _log_failed_send(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("realtime publish failed: %s", type(task.exception()).__name__)


def publish_unread_count(user_id: int, unread: int) -> None:
    """A person's new unread notification count, to each of their open pages. Never raises:
    a page that misses it reads the count afresh when its socket reconnects."""
    _publish({"type": NOTIFICATION_MESSAGE_TYPE, "unread": unread}, [user_group(user_id)])


# --- Ending streams whose access was taken away -------------------------------------------

# The consumer method that receives it: "stream.close" -> stream_close().
STREAM_CLOSE_MESSAGE_TYPE = "stream.close"
TOKEN_REVOKED = "token_revoked"  # noqa: S105 - a reason, not a secret
AGENT_SUSPENDED = "agent_suspended"
AGENT_DELETED = "agent_deleted"


class StreamClosed(Exception):
    """Raised by GroupListener.receive when a stream.close message arrives (see close_agent_streams)."""

    def __init__(self, message: dict[str, Any]) -> None:
        super().__init__(message.get("reason", ""))
        self.reason: str = message.get("reason", "")
        self.token_id: int | None = message.get("token_id")

    def applies_to(self, token_id: int | None) -> bool:
        return self.token_id is None or self.token_id == token_id


def close_agent_streams(*, agent_id: int, reason: str, token_id: int | None = None) -> None:
    """End at once every open stream (websocket or SSE, on any process) of an agent, or only those
    authenticated by one of its tokens. Revocation must not wait for the next recheck: the agent
    group reaches exactly the agent's streams. Call on commit; never raises."""
    message = {"type": STREAM_CLOSE_MESSAGE_TYPE, "reason": reason, "token_id": token_id}
    _publish(message, [agent_group(agent_id)])


def _publish(message: dict[str, Any], unique_groups: list[str]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    server_loop = _server_loop
    current_loop = _running_loop()
    try:
        if server_loop is not None and server_loop.is_running() and current_loop is not server_loop:
            # From a thread that is not the server's (a worker thread, or one whose own loop
            # belongs to something else): hand the sends to the server's loop and wait.
            future = asyncio.run_coroutine_threadsafe(
                _send_to_groups(layer, unique_groups, message), server_loop
            )
            future.result(timeout=_SEND_TIMEOUT_SECONDS)
        elif current_loop is not None:
            # Called synchronously on a running loop: blocking would deadlock it, so schedule.
            current_loop.create_task(_send_to_groups(layer, unique_groups, message))
        elif isinstance(layer, InMemoryChannelLayer):
            # Its queues belong to whichever loop waits on them (tests without a server).
            async_to_sync(_send_to_groups)(layer, unique_groups, message)
        else:
            # Waiting keeps one thread's events in order and bounds what can pile up.
            future = asyncio.run_coroutine_threadsafe(
                _send_to_groups(layer, unique_groups, message), PublisherLoop.get()
            )
            future.result(timeout=_SEND_TIMEOUT_SECONDS)
    except Exception as exc:
        logger.warning("realtime publish failed: %s", type(exc).__name__)


def groups_for_activity(
    *, organization_id: int, board_id: int | None, agent_ids: Iterable[int] = ()
) -> list[str]:
    groups = [organization_group(organization_id)]
    if board_id is not None:
        groups.append(board_group(board_id))
    groups.extend(agent_group(agent_id) for agent_id in agent_ids)
    return groups


# --- Subscribing (consumers and the SSE view) ---------------------------------------------


async def join_groups(channel_name: str, groups: Iterable[str]) -> None:
    layer = get_channel_layer()
    for group in groups:
        try:
            await layer.group_add(group, channel_name)
        except Exception as exc:
            # After a Redis restart the pooled connections are dead and each fails once before
            # being replaced: one retry gets a fresh one. A second failure is real and propagates.
            logger.warning("realtime join of %s failed (%s); retrying once", group, type(exc).__name__)
            await layer.group_add(group, channel_name)


async def leave_groups(channel_name: str, groups: Iterable[str]) -> None:
    layer = get_channel_layer()
    for group in groups:
        try:
            await layer.group_discard(group, channel_name)
        except Exception as exc:  # the socket is going away anyway; the layer expires it later
            logger.warning("realtime discard from %s failed: %s", group, type(exc).__name__)


class GroupListener:
    """A private channel joined to some groups, for code that is not a consumer (the SSE view).

    async with GroupListener(groups) as listener:
        payload = await listener.receive(timeout=15)   # None on timeout
    """

    def __init__(self, groups: Iterable[str]) -> None:
        self.groups = list(dict.fromkeys(groups))
        self.layer = get_channel_layer()
        self.channel_name = ""

    async def __aenter__(self) -> GroupListener:
        self.channel_name = await self.layer.new_channel()
        await join_groups(self.channel_name, self.groups)
        return self

    async def __aexit__(self, *exc_info) -> None:
        await leave_groups(self.channel_name, self.groups)

    async def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next event, None on timeout; raises StreamClosed on a close_agent_streams message."""
        try:
            message = await asyncio.wait_for(self.layer.receive(self.channel_name), timeout)
        except TimeoutError:
            return None
        if message.get("type") == STREAM_CLOSE_MESSAGE_TYPE:
            raise StreamClosed(message)
        if message.get("type") != ACTIVITY_MESSAGE_TYPE:
            return None
        return message["event"]
