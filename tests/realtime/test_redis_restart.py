"""A socket whose Redis restarts under it: the server says "reconnect" (1012) and the client,
reconnecting with its last event id, is replayed what was written while Redis was away.

Runs the real thing: a private redis-server on a free port (so restarting it disturbs nothing
else), a uvicorn process on it and the test database, and a websocket client.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import requires_postgres
from tests.realtime.private_redis import PrivateRedis
from tests.realtime.test_multiprocess import (
    ROOT,
    browser_headers,
    child_env,
    create_task_on,
    free_port,
    receive_event,
    stop,
    uvicorn_command,
    web_ready,
)

pytestmark = [
    requires_postgres,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def redis_and_web(django_db_blocker) -> Iterator[tuple[PrivateRedis, int]]:
    redis = PrivateRedis()
    redis.start()
    port = free_port()
    env = {**child_env(), "REDIS_URL": redis.url}
    with django_db_blocker.unblock():
        web = subprocess.Popen(
            uvicorn_command(port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
    try:
        deadline = time.monotonic() + 60
        while not web_ready(port):
            assert web.poll() is None, web.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.1)
        yield redis, port
    finally:
        stop(web)
        redis.stop()


def test_a_socket_survives_its_redis_restarting_and_catches_up(redis_and_web, user, board):
    redis, port = redis_and_web
    url = f"ws://127.0.0.1:{port}/ws/boards/{board.pk}/"
    headers = browser_headers(user, port)
    with connect(url, additional_headers=headers, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        create_task_on(port, user, board, "Before the restart")
        last_seen = receive_event(ws, "task.created")["position"]

        redis.stop()
        # Written while Redis is away: committed, but no live publish can reach anyone.
        during = create_task_on(port, user, board, "While Redis was away").json()["id"]
        redis.start()
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012

    with connect(f"{url}?last_event_id={last_seen}", additional_headers=headers, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        replayed = receive_event(ws, "task.created")
        assert replayed["target"]["id"] == str(during)
        assert json.loads(ws.recv(timeout=5))["type"] == "replay.done"
        create_task_on(port, user, board, "After the restart")
        assert receive_event(ws, "task.created")["detail"]["title"] == "After the restart"
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
