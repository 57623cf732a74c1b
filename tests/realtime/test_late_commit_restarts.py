"""Events committed out of id order, across a Redis restart and a web process killed, reach a board
socket exactly once (docs/realtime.md, "The cursor").

The real thing: a private redis-server (restarting it disturbs nothing else), a uvicorn process on
it and the test database (PostgreSQL), a websocket client. The late writer runs in this process:
it inserts first (the smaller id), commits after a later-numbered event has been delivered live,
and its own live publish goes to another channel layer, so only the cursor can bring it to the
client. By id the client would have skipped it; by position it cannot.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.activity.test_commit_order import LateWriter
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
    pytest.mark.xdist_group("serial"),
]


class Web:
    """One uvicorn process on the private Redis; `kill()` is SIGKILL, no shutdown of any kind."""

    def __init__(self, redis: PrivateRedis, blocker) -> None:
        self.redis, self.blocker = redis, blocker
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**child_env(), "REDIS_URL": self.redis.url}
        with self.blocker.unblock():
            self.process = subprocess.Popen(
                uvicorn_command(self.port),
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        deadline = time.monotonic() + 60
        while not web_ready(self.port):
            assert self.process.poll() is None, self.process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None


def events_until_replay_done(ws) -> list[dict]:
    events = []
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message["type"] == "event":
            events.append(message["event"])
        elif message["type"] == "replay.done":
            return events


def test_late_commits_arrive_exactly_once_across_a_redis_restart_and_a_killed_web_process(
    django_db_blocker, user, board
):
    redis = PrivateRedis()
    redis.start()
    web = Web(redis, django_db_blocker)
    web.start()
    try:
        url = f"ws://127.0.0.1:{web.port}/ws/boards/{board.pk}/"
        headers = browser_headers(user, web.port)
        received: list[dict] = []
        with connect(url, additional_headers=headers, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "hello"
            late = LateWriter(board)
            late.start()
            assert late.inserted.wait(10)
            create_task_on(web.port, user, board, "Early")
            received.append(receive_event(ws, "task.created"))
            redis.stop()
            late_id = late.finish()  # committed while Redis is away, after "Early" went out
            during = create_task_on(web.port, user, board, "While Redis was away").json()["id"]
            redis.start()
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=20)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        assert late_id < received[0]["id"], "the late event has the smaller id"

        cursor = received[-1]["position"]
        with connect(f"{url}?last_event_id={cursor}", additional_headers=headers, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "hello"
            replayed = events_until_replay_done(ws)
            assert replayed[0]["id"] == late_id
            assert {e["target"]["id"] for e in replayed if e["verb"] == "task.created"} == {str(during)}
            received += replayed
            cursor = received[-1]["position"]

        # The web process dies without a goodbye; another one takes over. Meanwhile a late writer
        # that started before an on-time one commits after it.
        web.kill()
        late = LateWriter(board)
        late.start()
        assert late.inserted.wait(10)
        web.start()
        on_time = create_task_on(web.port, user, board, "On time").json()["id"]
        second_late_id = late.finish()
        with connect(f"{url}?last_event_id={cursor}", additional_headers=headers, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "hello"
            replayed = events_until_replay_done(ws)
            received += replayed
            create_task_on(web.port, user, board, "After")
            received.append(receive_event(ws, "task.created"))
            assert received[-1]["detail"]["title"] == "After"
        replayed_ids = [e["id"] for e in replayed]
        assert second_late_id in replayed_ids and second_late_id < max(replayed_ids)
        assert any(e["target"]["id"] == str(on_time) for e in replayed)

        ids = [e["id"] for e in received]
        assert len(ids) == len(set(ids)), "no event twice"
        positions = [e["position"] for e in received]
        assert positions == sorted(positions), "in commit order"
        from activity.models import ActivityEvent

        assert set(ids) == set(ActivityEvent.objects.filter(board=board).values_list("id", flat=True))
    finally:
        if web.process is not None:
            stop(web.process)
        redis.stop()
