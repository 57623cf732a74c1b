"""Shared pieces of the realtime tests: a session cookie, a communicator, events on demand."""

from __future__ import annotations

import asyncio
import json

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from activity.services import record_activity
from core.actors import Actor


def session_cookie(user, **session_values) -> str:
    client = Client()
    client.force_login(user)
    if session_values:
        session = client.session
        session.update(session_values)
        session.save()
    return client.cookies["sessionid"].value


def application():
    from missioncontrol.asgi import application

    return application


async def browser_socket(
    user, path: str, *, origin: bytes | None = b"http://localhost", session: dict | None = None
) -> WebsocketCommunicator:
    headers = []
    if origin is not None:
        # The Host a browser on that origin would send: the origin check compares the two.
        headers += [(b"origin", origin), (b"host", origin.split(b"://", 1)[-1])]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user, **(session or {}))
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application(), path, headers=headers)


def _record(**kwargs):
    with transaction.atomic():
        event = record_activity(actor=Actor.system(), **kwargs)
    # The position (the streams' cursor) is assigned as the transaction commits.
    event.refresh_from_db(fields=["position"])
    return event


async def record(**kwargs):
    """Append (and, on commit, publish) one activity event; returns it."""
    kwargs.setdefault("verb", "task.updated")
    return await database_sync_to_async(_record)(**kwargs)


async def receive(communicator: WebsocketCommunicator, timeout: float = 2.0) -> dict:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def receive_events(communicator: WebsocketCommunicator, count: int) -> list[dict]:
    """The next `count` messages of type "event" (skipping hello/replay.done/ping)."""
    events = []
    while len(events) < count:
        message = await receive(communicator)
        if message["type"] == "event":
            events.append(message["event"])
    return events


async def assert_silent(communicator: WebsocketCommunicator, wait: float = 0.3) -> None:
    assert await communicator.receive_nothing(timeout=wait), "unexpected message on the socket"


async def closed_with(communicator: WebsocketCommunicator, timeout: float = 3.0) -> int:
    """Skip messages until the server closes; return the close code once the consumer is done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        output = await communicator.receive_output(timeout=max(0.05, deadline - loop.time()))
        if output["type"] == "websocket.close":
            # Then let the consumer finish what it does after closing (a flood is written to the
            # activity log): a write still running when the test's database teardown truncates the
            # tables deadlocks with it on PostgreSQL.
            await communicator.disconnect(timeout=5)
            return output.get("code", 1000)
