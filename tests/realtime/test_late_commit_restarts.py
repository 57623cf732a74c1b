"""Events committed out of id order, across a Redis restart and a web process killed, reach every
live stream exactly once, in commit order (docs/realtime.md, "The cursor"): the board, the agent
websocket, the agent SSE stream, the overview's organization stream and the notification bell.

The real thing, run once for all five streams (one scenario, then a check per stream): a private
redis-server (restarting it disturbs nothing else), a uvicorn process and a Celery worker on it
and on the test database (PostgreSQL), and one client per stream that reconnects like the real
ones (tests/realtime/followers.py). Late writers run in this process: each inserts its event
first (the smaller id) and commits after a later-numbered event, and its own live publish goes
to another channel layer, so only a stream's cursor can bring it to a client. By id the client
would skip it; by position it cannot.

Every event written is a status change of its own task, created by the person whose bell is
watched: each is one notification, so the bell's count says whether the notifications consumer
(in the worker) saw each event once.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.activity.test_commit_order import LateWriter
from tests.conftest import requires_postgres
from tests.realtime.followers import (
    Follower,
    NotificationFollower,
    SseFollower,
    WebsocketFollower,
)
from tests.realtime.private_redis import PrivateRedis
from tests.realtime.test_multiprocess import (
    ROOT,
    browser_headers,
    child_env,
    free_port,
    stop,
    uvicorn_command,
    web_ready,
)

pytestmark = [
    requires_postgres,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server"),
    # The checks only read the outcome; the scenario commits for real (the servers must see its
    # rows) and empties the database once, at the end of the module.
    pytest.mark.django_db,
    pytest.mark.xdist_group("serial"),
]

EVENT_STREAMS = ("board", "agent-websocket", "agent-sse", "overview")
WAIT_SECONDS = 30.0


class Web:
    """One uvicorn process on the private Redis; `kill()` is SIGKILL, no shutdown of any kind."""

    def __init__(self, redis: PrivateRedis, blocker) -> None:
        self.redis, self.blocker = redis, blocker
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        # A file, not a pipe: the warnings of a Redis outage would fill a pipe nobody reads and
        # block the server on its next log line.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server

    def start(self) -> None:
        with self.blocker.unblock():
            self.process = subprocess.Popen(
                uvicorn_command(self.port),
                cwd=ROOT,
                env={**child_env(), "REDIS_URL": self.redis.url},
                stdout=subprocess.DEVNULL,
                stderr=self.log,
            )

    def log_tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def wait_ready(self) -> None:
        assert self.process is not None
        # Generous: three Django processes start at once on a machine shared with other suites.
        deadline = time.monotonic() + 180
        while not web_ready(self.port):
            assert self.process.poll() is None, self.log_tail()
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None


def start_worker(redis: PrivateRedis, blocker) -> subprocess.Popen:
    """The worker that follows the log for every consumer but the live publisher (notifications
    among them); each commit of the web process queues it."""
    command = [sys.executable, "-m", "celery", "-A", "missioncontrol", "worker", "--pool=solo"]
    command += ["-Q", "deliveries", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    with blocker.unblock():
        return subprocess.Popen(
            [*command, "--loglevel=WARNING"],
            cwd=ROOT,
            env={**child_env(), "REDIS_URL": redis.url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def move_task_on(port: int, person, task_id: int, status: str) -> int:
    """A session-authenticated move (CSRF cookie + header) on the server at `port`; the id of its
    task.status_changed event."""
    from activity.models import ActivityEvent

    csrf = secrets.token_hex(16)
    headers = browser_headers(person, port)
    headers.pop("Origin")
    headers["Cookie"] += f"; csrftoken={csrf}"
    headers["X-CSRFToken"] = csrf
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/tasks/{task_id}/move/",
        json={"status": status},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return ActivityEvent.objects.get(verb="task.status_changed", target_id=str(task_id)).pk


@dataclass
class Outcome:
    events: dict[str, list[dict]] = field(default_factory=dict)
    connections: dict[str, int] = field(default_factory=dict)
    counts: list[int] = field(default_factory=list)
    # Every event written, as committed (by position); the late ones committed after an event
    # with a larger id.
    written: list[int] = field(default_factory=list)
    late: list[int] = field(default_factory=list)
    # The events behind the watched person's notifications, in the order they were notified.
    notified: list[int] = field(default_factory=list)
    # Seconds from the start of the scenario to the end of each step (for the CI budget).
    timings: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def outcome(django_db_setup, django_db_blocker) -> Iterator[Outcome]:
    from django.core.management import call_command

    try:
        with django_db_blocker.unblock():
            result = run_scenario(django_db_blocker)
        yield result
    finally:
        with django_db_blocker.unblock():
            call_command("flush", verbosity=0, interactive=False)


def run_scenario(blocker) -> Outcome:
    from activity.models import ActivityEvent
    from agents.services import issue_agent_token
    from core.actors import Actor
    from core.models import Role
    from notifications.models import Notification
    from tests.factories import (
        AgentFactory,
        BoardFactory,
        MembershipFactory,
        OrganizationFactory,
        TaskFactory,
        UserFactory,
    )

    organization = OrganizationFactory(name="Acme", slug="acme")
    owner, mover = UserFactory(username="owner"), UserFactory(username="mover")
    MembershipFactory(organization=organization, user=owner, role=Role.ADMIN)
    MembershipFactory(organization=organization, user=mover, role=Role.OPERATOR)
    board = BoardFactory(organization=organization, name="Launch", slug="launch", created_by=owner)
    agent = AgentFactory(organization=organization, name="follower")
    agent.boards.add(board)
    token = issue_agent_token(agent=agent, actor=Actor.for_user(owner))[1]
    # One task per event, each the owner's: each event is one notification of the owner's.
    tasks = iter(TaskFactory.create_batch(9, board=board, created_by_user=owner))

    def late_writer() -> LateWriter:
        task = next(tasks)
        writer = LateWriter(
            board, verb="task.status_changed", target_id=str(task.pk), detail={"to": "review"}
        )
        writer.start()
        assert writer.inserted.wait(10)
        return writer

    started = time.monotonic()
    outcome = Outcome()

    def step(name: str) -> None:
        outcome.timings[name] = round(time.monotonic() - started, 1)

    redis = PrivateRedis()
    redis.start()
    # Both web processes start now, side by side (a start costs seconds): the second one takes
    # over when the first is killed, as another process behind the proxy would.
    web, successor = Web(redis, blocker), Web(redis, blocker)
    web.start()
    successor.start()
    worker = start_worker(redis, blocker)
    followers: dict[str, Follower] = {}
    try:
        web.wait_ready()
        step("servers up")
        port = web.port
        agent_headers = {"Authorization": f"Bearer {token}"}
        browser = browser_headers(owner, port)
        followers = {
            "board": WebsocketFollower(port, browser, f"/ws/boards/{board.pk}/"),
            "agent-websocket": WebsocketFollower(port, agent_headers, "/ws/agent/"),
            "agent-sse": SseFollower(port, agent_headers),
            "overview": WebsocketFollower(port, browser, "/ws/activity/"),
            "notifications": NotificationFollower(port, browser, "/ws/notifications/"),
        }
        for follower in followers.values():
            follower.start()
        for name, follower in followers.items():
            assert follower.wait_for(lambda f: f.connections >= 1), f"{name} did not connect"
        step("followers connected")

        def everyone_saw(event_id: int, moment: str) -> None:
            for name in EVENT_STREAMS:
                follower = followers[name]
                assert follower.wait_for(lambda f: f.saw(event_id), WAIT_SECONDS), (
                    f"{name} never got event {event_id} ({moment}): {follower.connections} connections, "
                    f"cursor {follower.cursor}, got {[e['id'] for e in follower.events]}"
                )

        # 1. Redis restarts while a late writer commits and the web process writes.
        late = late_writer()
        early = move_task_on(port, mover, next(tasks).pk, "in_progress")
        everyone_saw(early, "before the Redis restart")
        redis.stop()
        outcome.late.append(late.finish())  # committed while Redis is away, after `early`
        move_task_on(port, mover, next(tasks).pk, "in_progress")  # its live publish fails
        redis.start()
        marker = move_task_on(port, mover, next(tasks).pk, "in_progress")
        everyone_saw(marker, "after the Redis restart")
        step("Redis restart")

        # 2. The web process dies without a goodbye. While its clients knock on its door, three
        # writers that inserted in one order commit in the reverse order, after an on-time
        # writer; then the other process takes over.
        web.kill()
        writers = [late_writer() for _ in range(3)]
        on_time = late_writer()
        on_time.finish()
        for writer in reversed(writers):
            outcome.late.append(writer.finish())
        successor.wait_ready()
        for follower in followers.values():
            follower.port = successor.port
        after = move_task_on(successor.port, mover, next(tasks).pk, "in_progress")
        everyone_saw(after, "after the kill")
        step("kill")
        bell = followers["notifications"]
        assert bell.wait_for(lambda f: f.counts and f.counts[-1] == 9), f"the bell ended at {bell.counts}"
        step("bell")
    finally:
        for follower in followers.values():
            follower.stop()
        for server in (web, successor):
            if server.process is not None:
                stop(server.process)
        stop(worker)
        redis.stop()

    for name, follower in followers.items():
        outcome.events[name] = follower.events
        outcome.connections[name] = follower.connections
    outcome.counts = followers["notifications"].counts
    status_events = ActivityEvent.objects.filter(verb="task.status_changed")
    outcome.written = list(status_events.order_by("position").values_list("id", flat=True))
    by_task = dict(status_events.values_list("target_id", "id"))
    notified = Notification.objects.filter(recipient=owner).order_by("id").values_list("target_id", flat=True)
    outcome.notified = [by_task[target] for target in notified]
    return outcome


@pytest.mark.parametrize("stream", EVENT_STREAMS)
def test_late_commits_reach_the_stream_exactly_once_in_commit_order(outcome, stream):
    events = outcome.events[stream]
    ids = [event["id"] for event in events]
    assert len(ids) == len(set(ids)), "no event twice"
    positions = [event["position"] for event in events]
    assert positions == sorted(positions), "in commit order"
    assert [i for i in ids if i in outcome.written] == outcome.written, "every event written"
    assert len(outcome.written) == 9 and len(outcome.late) == 4
    # The late ones really were out of id order: each committed after an event with a larger id.
    for late_id in outcome.late:
        earlier = outcome.written[: outcome.written.index(late_id)]
        assert any(other > late_id for other in earlier), f"{late_id} was not late"
    # It reconnected after the Redis restart and after the kill, and caught up by its cursor.
    assert outcome.connections[stream] >= 3, outcome.timings


def test_the_notification_bell_counts_each_late_event_once(outcome):
    # The notifications consumer (in the worker) notified once per event, in commit order...
    assert outcome.notified == outcome.written
    # ...and the bell never showed more than there were, ending at all of them.
    assert max(outcome.counts) == outcome.counts[-1] == len(outcome.written)
    assert outcome.counts == sorted(outcome.counts)
