"""The log's cursor cannot skip a transaction that commits late (docs/realtime.md, "The cursor").

Two writers: A inserts its event first (the smaller id) but commits last. Readers that follow the
log by cursor (a log consumer, a board stream's replay, the live publisher) must deliver both,
each once. By id they could not: a reader that has passed B's id never looks behind it again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from channels.db import database_sync_to_async
from django.db import connection, connections, transaction
from django.test import override_settings

from activity import following
from activity.models import ActivityEvent, LogConsumerCursor
from activity.services import record_activity
from core.actors import Actor
from infra import realtime
from tests.conftest import requires_postgres
from tests.realtime.streams import browser_socket, receive, receive_events

HANDLED: list[int] = []


def remember_events(events: Sequence[ActivityEvent]) -> None:
    HANDLED.extend(event.pk for event in events)


TEST_CONSUMERS = [("test-follower", "tests.activity.test_commit_order.remember_events", False, True)]


@pytest.fixture
def follower(monkeypatch):
    """A consumer that only runs when the test says so (not after each commit, not in a worker)."""
    HANDLED.clear()
    monkeypatch.setattr(following, "enqueue_follow", lambda: None)
    with override_settings(
        ACTIVITY_LOG_CONSUMERS=TEST_CONSUMERS,
        ACTIVITY_CONSUMERS_INLINE=False,
    ):
        yield following.consumer_named("test-follower")
    HANDLED.clear()


class LateWriter(threading.Thread):
    """Records an event in its own transaction, then waits to be told to commit."""

    def __init__(self, board) -> None:
        super().__init__(daemon=True)
        self.board = board
        self.inserted = threading.Event()
        self.may_commit = threading.Event()
        self.event_id: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with transaction.atomic():
                event = record_activity(
                    organization=self.board.organization_id,
                    board=self.board,
                    actor=Actor.system(),
                    verb="task.updated",
                    target_type="task",
                    target_id="late",
                )
                self.event_id = event.pk
                self.inserted.set()
                assert self.may_commit.wait(90)
        except BaseException as exc:  # reported by finish()
            self.error = exc
            self.inserted.set()
        finally:
            connections.close_all()

    def finish(self) -> int:
        self.may_commit.set()
        self.join(10)
        assert not self.is_alive() and self.error is None, self.error
        assert self.event_id is not None
        return self.event_id


def record_now(board, target_id: str) -> ActivityEvent:
    with transaction.atomic():
        event = record_activity(
            organization=board.organization_id,
            board=board,
            actor=Actor.system(),
            verb="task.updated",
            target_type="task",
            target_id=target_id,
        )
    event.refresh_from_db(fields=["position"])
    return event


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_positions_follow_commit_order_not_insert_order(board):
    late = LateWriter(board)
    late.start()
    assert late.inserted.wait(10)
    early = record_now(board, "early")
    late_id = late.finish()
    late_event = ActivityEvent.objects.get(pk=late_id)
    assert late_id < early.pk, "the late writer inserted first"
    assert late_event.position > early.position, "but committed last, so it comes after"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_consumer_gets_a_late_commit_exactly_once(board, follower):
    late = LateWriter(board)
    late.start()
    assert late.inserted.wait(10)
    early = record_now(board, "early")
    # The consumer passes the early event while the late one is still uncommitted.
    following.follow(follower)
    assert [early.pk] == HANDLED
    late_id = late.finish()
    following.follow(follower)
    following.follow(follower)
    assert [early.pk, late_id] == HANDLED
    assert LogConsumerCursor.objects.get(name="test-follower").position == (
        ActivityEvent.objects.get(pk=late_id).position
    )


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_live_publisher_publishes_a_late_commit_exactly_once(board, monkeypatch):
    published: list[int] = []
    monkeypatch.setattr(
        realtime, "publish_events_in_order", lambda events: published.extend(p["id"] for p, _ in events)
    )
    late = LateWriter(board)
    late.start()
    assert late.inserted.wait(10)
    early = record_now(board, "early")
    assert published == [early.pk]
    late_id = late.finish()
    record_now(board, "after")
    assert published[:2] == [early.pk, late_id] and len(published) == 3
    assert len(set(published)) == 3


@requires_postgres
@pytest.mark.django_db(transaction=True)
async def test_a_board_stream_resuming_after_the_early_event_replays_the_late_one(board, user):
    late = LateWriter(board)
    late.start()
    assert await database_sync_to_async(late.inserted.wait)(10)
    early = await database_sync_to_async(record_now)(board, "early")
    # A client saw the early event (it holds its position as cursor) and went away.
    late_id = await database_sync_to_async(late.finish)()
    communicator = await browser_socket(user, f"/ws/boards/{board.pk}/?last_event_id={early.position}")
    connected, code = await communicator.connect()
    assert connected, code
    assert (await receive(communicator))["type"] == "hello"
    [replayed] = await receive_events(communicator, 1)
    assert replayed["id"] == late_id
    done = await receive(communicator)
    assert done["type"] == "replay.done" and done["count"] == 1
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
def test_every_committed_event_has_a_position_on_either_database(board):
    """SQLite writes one transaction at a time, so its ids are in commit order and the trigger
    copies them; a table rebuild that dropped the trigger would fail here."""
    first, second = record_now(board, "one"), record_now(board, "two")
    assert first.position is not None and second.position > first.position
    if connection.vendor == "sqlite":
        assert (first.position, second.position) == (first.pk, second.pk)


@pytest.mark.django_db(transaction=True)
def test_a_failing_consumer_keeps_its_cursor_and_retries_the_batch(board, follower, monkeypatch):
    event = record_now(board, "x")
    calls = []
    remember = remember_events

    def fail_once(events):
        calls.append([e.pk for e in events])
        if len(calls) == 1:
            raise RuntimeError("index unavailable")
        remember(events)

    monkeypatch.setattr("tests.activity.test_commit_order.remember_events", fail_once)
    following._resolve.cache_clear()
    try:
        with pytest.raises(RuntimeError):
            following.follow(follower)
        cursor = LogConsumerCursor.objects.get(name="test-follower")
        assert cursor.position == 0 and cursor.failures == 1 and "index unavailable" in cursor.last_error
        following.follow(follower)
    finally:
        following._resolve.cache_clear()
    cursor = LogConsumerCursor.objects.get(name="test-follower")
    assert cursor.position == event.position and cursor.failures == 0 and cursor.last_error == ""
    assert [event.pk] == HANDLED and calls == [[event.pk], [event.pk]]


def refuse_events(events):
    raise RuntimeError("this consumer is broken")


@pytest.mark.django_db(transaction=True)
def test_after_a_commit_a_failing_consumer_holds_back_only_itself(board):
    """The embedded default follows every consumer right after each write, together in one
    transaction; a failure there falls back to one consumer at a time."""
    HANDLED.clear()
    consumers = [
        ("broken", "tests.activity.test_commit_order.refuse_events", False, True),
        ("test-follower", "tests.activity.test_commit_order.remember_events", False, True),
    ]
    with override_settings(ACTIVITY_LOG_CONSUMERS=consumers, ACTIVITY_CONSUMERS_INLINE=True):
        first = record_now(board, "one")  # the cursor rows do not exist yet: one at a time
        second = record_now(board, "two")  # both rows exist: together, fails, one at a time
    cursors = {row.name: row for row in LogConsumerCursor.objects.all()}
    assert [first.pk, second.pk] == HANDLED
    assert cursors["test-follower"].position == second.position
    assert cursors["broken"].position == 0 and cursors["broken"].failures == 2
    assert "this consumer is broken" in cursors["broken"].last_error
    HANDLED.clear()
