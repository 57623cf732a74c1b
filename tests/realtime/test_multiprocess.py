"""Production shape: two uvicorn processes and a Celery worker on the same Postgres + Redis.

An event written by one process (an API call on web process A, a task run by the worker) must
reach a websocket held by another (web process B) through the Redis channel layer.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from websockets.sync.client import connect

from tests.conftest import requires_postgres, requires_redis
from tests.factories import AgentFactory

pytestmark = [requires_postgres, requires_redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
TEST_QUEUE = "mc-realtime-multiprocess-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env() -> dict[str, str]:
    # The pytest test database (test_<name>), so the servers see this test's committed rows.
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
    env.update(
        DATABASE_URL=f"{base}/{connection.settings_dict['NAME']}",
        REDIS_URL=os.environ["REDIS_URL"],
        DEBUG="1",
        CELERY_EMBEDDED_WORKER="0",
        DJANGO_SETTINGS_MODULE="missioncontrol.settings",
    )
    return env


def uvicorn_command(port: int, *extra: str) -> list[str]:
    """A real uvicorn process serving the project on 127.0.0.1:`port`."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "missioncontrol.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ws",
        "websockets",
        "--log-level",
        "warning",
        *extra,
    ]


def start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def web_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def worker_ready() -> bool:
    from missioncontrol.celery import app

    with contextlib.suppress(Exception):
        return bool(app.control.ping(timeout=0.5, destination=[f"realtime-test@{socket.gethostname()}"]))
    return False


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker) -> Iterator[tuple[int, int]]:
    """Web processes A and B and a Celery worker (its own queue), started side by side."""
    ports = free_port(), free_port()
    web = [uvicorn_command(port) for port in ports]
    worker = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "missioncontrol",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "-Q",
        TEST_QUEUE,
        "-n",
        "realtime-test@%h",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=WARNING",
    ]
    with django_db_blocker.unblock():
        processes = [start(command) for command in [*web, worker]]
    checks = [lambda: web_ready(ports[0]), lambda: web_ready(ports[1]), worker_ready]
    try:
        deadline = time.monotonic() + 60
        pending = list(zip(processes, checks, strict=True))
        while pending:
            for process, check in list(pending):
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[2]} exited: {process.stderr.read().decode()[-2000:]}")
                if check():
                    pending.remove((process, check))
            if time.monotonic() > deadline:
                raise RuntimeError("the servers did not become ready")
            time.sleep(0.1)
        yield ports
    finally:
        for process in processes:
            stop(process)


def receive_event(ws, verb: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["type"] == "event" and message["event"]["verb"] == verb:
            return message["event"]


def browser_headers(user, port: int) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={client.cookies['sessionid'].value}"}


def create_task_on(port: int, user, board, title: str) -> httpx.Response:
    """A session-authenticated API write (CSRF cookie + header) on the server at `port`."""
    csrf = secrets.token_hex(16)
    headers = browser_headers(user, port)
    headers.pop("Origin")
    headers["Cookie"] += f"; csrftoken={csrf}"
    headers["X-CSRFToken"] = csrf
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/tasks/",
        json={"board": board.pk, "title": title},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response


def test_a_write_on_one_process_reaches_a_socket_on_another(cluster, user, board):
    port_a, port_b = cluster
    url = f"ws://127.0.0.1:{port_b}/ws/boards/{board.pk}/"
    with connect(url, additional_headers=browser_headers(user, port_b), open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        response = create_task_on(port_a, user, board, "Made on process A")
        event = receive_event(ws, "task.created")
        assert event["board_id"] == board.pk
        assert event["target"] == {"type": "task", "id": str(response.json()["id"])}


def test_a_write_by_a_celery_worker_reaches_a_socket_on_a_web_process(cluster, user, organization):
    from missioncontrol.celery import app

    # Seen just now but recorded offline: the presence sweep will log it coming online.
    agent = AgentFactory(
        organization=organization, name="sweeper", presence="offline", last_seen_at=timezone.now()
    )
    port = cluster[1]
    url = f"ws://127.0.0.1:{port}/ws/activity/"
    with connect(url, additional_headers=browser_headers(user, port), open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        app.send_task("agents.tasks.record_presence_transitions", queue=TEST_QUEUE)
        event = receive_event(ws, "agent.presence_changed", timeout=20)
        assert event["target"] == {"type": "agent", "id": str(agent.pk)}
        assert event["detail"]["presence"] == "online"


def test_an_agent_reading_sse_on_one_process_gets_a_write_made_on_another(cluster, user, board):
    from agents.services import issue_agent_token
    from core.actors import Actor

    agent = AgentFactory(organization=board.organization, name="listener")
    agent.boards.add(board)
    raw = issue_agent_token(agent=agent, actor=Actor.for_user(user))[1]
    port_a, port_b = cluster
    url = f"http://127.0.0.1:{port_b}/api/v1/agent/events/stream"
    with httpx.stream("GET", url, headers={"Authorization": f"Bearer {raw}"}, timeout=10) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")  # subscribed: the first chunk comes after joining
        created = create_task_on(port_a, user, board, "For the listener")
        deadline = time.monotonic() + 10
        for line in lines:
            assert time.monotonic() < deadline
            if line.startswith("data: ") and '"task.created"' in line:
                assert json.loads(line[6:])["target"]["id"] == str(created.json()["id"])
                break
        else:
            pytest.fail("the stream ended without the event")
