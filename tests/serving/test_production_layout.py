"""The shipped serving configuration, tested against the real server processes (tests/serving/
conftest.py): nginx routing to gunicorn and uvicorn end to end, and what each server refuses on
its own (issue 14, items 4, 5 and 8)."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import uuid

import httpx
import pytest
from django.test import Client
from django_ratelimit.core import _get_window
from websockets.sync.client import connect

from core.actors import Actor
from core.signing import sha256_signature
from tests.conftest import requires_postgres, requires_redis
from tests.serving.conftest import AGENT_AUTH_LIMIT, HEADER_READ_TIMEOUT_SECONDS, Layout
from webhooks import services

pytestmark = [requires_postgres, requires_redis, pytest.mark.django_db(transaction=True)]

SECRET = "whsec_c2VydmluZy10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5"
SERVERS = ["wsgi", "asgi"]


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _connect(url: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", _port(url)), timeout=10)


def _read_response(sock: socket.socket, timeout: float = 10) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0


# --- the layout end to end ------------------------------------------------------------------------------


def test_a_webhook_posted_through_the_proxy_reaches_a_websocket_opened_through_the_proxy(layout, user, board):
    webhook, _ = services.create_webhook(
        board=board, actor=Actor.for_user(user), description="e2e", secret=SECRET
    )
    client = Client()
    client.force_login(user)
    proxy = layout.url("proxy")
    headers = {"Origin": proxy, "Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    with connect(
        f"ws://127.0.0.1:{layout.proxy_port}/ws/boards/{board.pk}/",
        additional_headers=headers,
        open_timeout=10,
    ) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        body = json.dumps({"action": "deployed"}).encode()
        response = httpx.post(
            f"{proxy}/api/v1/boards/{board.pk}/webhooks/{webhook.pk}",
            content=body,
            timeout=10,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sha256_signature(SECRET, body),
            },
        )
        assert response.status_code == 202, response.text
        deadline = time.monotonic() + 10
        while True:
            message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message["type"] == "event" and message["event"]["verb"] == "webhook.received":
                break
        assert message["event"]["detail"]["payload_id"] == int(response.json()["id"])


def test_the_proxy_sends_the_sse_stream_to_the_asgi_server_unbuffered(layout):
    # Without a token the stream answers 401 from the ASGI server; the WSGI server would answer too,
    # but only uvicorn serves websockets, so a /ws/ 404 would show a wrong route.
    response = httpx.get(f"{layout.url('proxy')}/api/v1/agent/events/stream", timeout=10)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")


def test_an_mcp_client_works_through_the_proxy_and_its_claim_reaches_the_board(layout, user, board):
    # Issue 31: /mcp goes to the ASGI server, unbuffered; the official client, a tool call, the event.
    from agents.models import AgentStatus
    from tests.agent_mcp.conftest import call_tool
    from tests.agents.factories import agent_with_token
    from tests.factories import TaskFactory

    agent, _token, raw = agent_with_token(
        organization=board.organization, boards=[board], status=AgentStatus.ACTIVE
    )
    task = TaskFactory(board=board)
    proxy = layout.url("proxy")
    refused = httpx.post(f"{proxy}/mcp", json={}, timeout=10)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"  # the ASGI app's answer, not a 404
    client = Client()
    client.force_login(user)
    headers = {"Origin": proxy, "Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    with connect(
        f"ws://127.0.0.1:{layout.proxy_port}/ws/boards/{board.pk}/",
        additional_headers=headers,
        open_timeout=10,
    ) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        result = call_tool(proxy, raw, "claim_task", {"task_id": task.pk})
        assert not result.isError, result.content
        deadline = time.monotonic() + 10
        while True:
            message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message["type"] == "event" and message["event"]["verb"] == "task.claimed":
                break
    assert message["event"]["actor"]["agent_id"] == agent.pk
    # Server-sent events pass through unbuffered: the response is an event stream, not a 502.
    response = httpx.post(
        f"{proxy}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={
            "Authorization": f"Bearer {raw}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "claim_task" in response.text


# --- 14.4: no server believes X-Forwarded-For by itself -------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
def test_a_rotating_x_forwarded_for_from_loopback_does_not_escape_the_agent_auth_limit(
    layout: Layout, server
):
    # TRUSTED_PROXY_COUNT=0: the socket address (127.0.0.1) is the client, whatever the header says.
    # uvicorn's default --proxy-headers rewrote it from the header and every request got a 401.
    # The limiter's windows are fixed and each key's ends at its own second; a burst that
    # straddled 127.0.0.1's end got a fresh count halfway (CI7). The servers are other processes,
    # so their clock cannot be frozen: start at least 4 s before the window ends.
    while _get_window("127.0.0.1", 60) - time.time() < 4:
        time.sleep(0.25)
    statuses = []
    for n in range(AGENT_AUTH_LIMIT + 3):
        response = httpx.get(
            f"{layout.url(server)}/api/v1/agent/me",
            timeout=10,
            headers={
                "Authorization": f"Bearer mc_{uuid.uuid4().hex}",
                "X-Forwarded-For": f"203.0.113.{n + 1}",
            },
        )
        statuses.append(response.status_code)
    assert set(statuses) <= {401, 429}
    assert statuses[-1] == 429, statuses


# --- 14.5: a streaming body limit on every route --------------------------------------------------------


@pytest.mark.parametrize("server", [*SERVERS, "proxy"])
def test_a_chunked_gigabyte_to_the_heartbeat_with_a_bad_token_is_refused_early(layout: Layout, server):
    url = layout.url(server)
    sock = _connect(url)
    sock.sendall(
        b"POST /api/v1/agent/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer mc_bad\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n" % 65536 + b"x" * 65536 + b"\r\n"
    sent, started = 0, time.monotonic()
    sock.settimeout(0.05)
    response = b""
    try:
        while sent < 1 << 30 and time.monotonic() - started < 30:
            sock.sendall(chunk)
            sent += 65536
            try:
                response = sock.recv(65536)
                if response:
                    break
            except TimeoutError:
                continue
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = response or _read_response(sock)
    sock.close()
    assert _status(response) == 413, response[:300]
    # Refused at 256 KiB: what was sent beyond that is only what the socket buffers took in.
    assert sent < 64 * 1024 * 1024


@pytest.mark.parametrize("server", [*SERVERS, "proxy"])
@pytest.mark.parametrize(
    "request_line",
    [
        "POST /api/v1/boards/1/webhooks/1/ HTTP/1.1",
        "PUT /api/v1/boards/1/webhooks/1 HTTP/1.1",
        "POST /api/v1/tasks/ HTTP/1.1",
    ],
    ids=["ingest-trailing-slash", "ingest-put", "api"],
)
def test_a_declared_50_mb_body_is_refused_before_it_is_sent(layout: Layout, server, request_line):
    # Only the head is sent: an answer at all means nobody waited for (or read) the 50 MB. The
    # ingest URL keeps its order of checks, so a PUT there is a 405 (the proxy's own limit is first).
    sock = _connect(layout.url(server))
    sock.sendall(f"{request_line}\r\nHost: 127.0.0.1\r\nContent-Length: 52428800\r\n\r\n".encode())
    response = _read_response(sock)
    sock.close()
    expected = 405 if request_line.startswith("PUT") and server != "proxy" else 413
    assert _status(response) == expected, response[:300]


# --- 14.8: request heads bounded in size and time -------------------------------------------------------


@pytest.mark.parametrize("server", [*SERVERS, "proxy"])
def test_an_8_mb_header_is_refused(layout: Layout, server):
    sock = _connect(layout.url(server))
    # Closed on us mid-header also counts as refused.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (8 * 1024 * 1024) + b"\r\n\r\n"
        )
    response = _read_response(sock)
    sock.close()
    assert _status(response) in {0, 400, 431, 494}, response[:300]


@pytest.mark.parametrize("server", ["asgi", "proxy"])
def test_a_slow_request_head_is_closed_after_the_header_read_timeout(layout: Layout, server):
    # gunicorn is never exposed: nginx completes every request head before passing it on.
    sock = _connect(layout.url(server))
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    started = time.monotonic()
    closed_after = None
    sock.settimeout(0.5)
    while time.monotonic() - started < HEADER_READ_TIMEOUT_SECONDS + 8:
        try:
            sock.sendall(b"X-Slow: 1\r\n")
            data = sock.recv(1024)
            if data == b"" or data.startswith(b"HTTP/"):
                closed_after = time.monotonic() - started
                break
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            closed_after = time.monotonic() - started
            break
    sock.close()
    assert closed_after is not None, "the connection was still open"
    assert closed_after < HEADER_READ_TIMEOUT_SECONDS + 3
