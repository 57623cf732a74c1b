"""Idle streams in production shape: a real uvicorn process on PostgreSQL and the Redis channel
layer. redis-py 8 made 5 s its default socket timeout, the same as channels-redis's blocking
read: a channel with no message for 5 s then raised TimeoutError inside the consumer and the
socket died (1006). Both stream kinds must stay open, silent and healthy well past that.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from tests.conftest import requires_postgres, requires_redis
from tests.factories import AgentFactory
from tests.realtime.test_multiprocess import (
    browser_headers,
    free_port,
    start,
    stop,
    uvicorn_command,
    web_ready,
)

pytestmark = [
    requires_postgres,
    requires_redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.runs_long,
]

IDLE_SECONDS = 30


@pytest.fixture
def server(django_db_blocker) -> Iterator[tuple[int, object]]:
    port = free_port()
    command = uvicorn_command(port, "--lifespan", "off")
    with django_db_blocker.unblock():
        process = start(command)
    deadline = time.monotonic() + 30
    while not web_ready(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.1)
    try:
        yield port, process
    finally:
        stop(process)


def _read_sse_for(url: str, raw: str, seconds: float, outcome: dict) -> None:
    """Reads the stream for `seconds`; records the lines and whether it ended early."""
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    try:
        with httpx.stream("GET", url, headers={"Authorization": f"Bearer {raw}"}, timeout=20) as stream:
            outcome["status"] = stream.status_code
            for line in stream.iter_lines():
                lines.append(line)
                if time.monotonic() > deadline:
                    outcome["survived"] = True
                    return
            outcome["survived"] = time.monotonic() > deadline
    except httpx.HTTPError as exc:
        outcome["error"] = repr(exc)
    finally:
        outcome["lines"] = lines


def test_an_idle_websocket_and_sse_stream_survive_30_seconds_on_redis(server, user, board):
    from agents.services import issue_agent_token
    from core.actors import Actor

    port, process = server
    agent = AgentFactory(organization=board.organization, name="quiet")
    agent.boards.add(board)
    raw = issue_agent_token(agent=agent, actor=Actor.for_user(user))[1]

    sse: dict = {}
    reader = threading.Thread(
        target=_read_sse_for,
        args=(f"http://127.0.0.1:{port}/api/v1/agent/events/stream", raw, IDLE_SECONDS, sse),
    )
    reader.start()
    url = f"ws://127.0.0.1:{port}/ws/boards/{board.pk}/"
    with connect(url, additional_headers=browser_headers(user, port), open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        # The client sends nothing for 30 s; the server may push an event (the SSE reader's agent
        # coming online) but must not close the socket.
        deadline = time.monotonic() + IDLE_SECONDS
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                assert json.loads(ws.recv(timeout=remaining))["type"] == "event"
            except TimeoutError:
                break
        # Still open and still served by a live consumer: it answers a ping.
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}
    reader.join(IDLE_SECONDS + 30)

    assert sse.get("status") == 200, sse
    assert sse.get("survived"), sse
    assert ": keep-alive" in sse["lines"]
    stop(process)
    log = process.stderr.read().decode()
    assert "Exception in ASGI application" not in log, log[-3000:]
    assert "TimeoutError" not in log, log[-3000:]
