"""Log consumers: everything that reacts to events follows the committed log, each by its own cursor.

The request only stores (its rows and their event, in one transaction). After the commit, each
consumer registered in `settings.ACTIVITY_LOG_CONSUMERS` (one list, in the order they run) reads
the events after its cursor in commit order (`position`, docs/realtime.md) and handles a batch;
its cursor row (LogConsumerCursor) is advanced in the same transaction as the batch's database effects. So:

- a consumer that fails rolls its batch back and retries it from the same cursor on the next
  drain (the error and the count of failures stay on the cursor row, shown on the operations page);
- a consumer that crashes resumes after its last committed batch: database effects happen exactly
  once; effects outside the database (the live publish) happen at least once and their receivers
  drop duplicates by event id;
- a consumer never skips an event that commits late, because positions are handed out in commit
  order: nothing can appear behind a cursor once it has passed.

Where they run: `inline` consumers (the live publisher) right after every commit in the writing
process, so pages stay live within milliseconds. The others after the commit too when
ACTIVITY_CONSUMERS_INLINE is on (the embedded default, so `make run` feels instant), else in the
worker: the commit enqueues one `activity.tasks.follow_activity_log` (at most one waiting at a
time), and beat runs it every ACTIVITY_FOLLOW_SECONDS as a safety net.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache as memoize

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from activity.models import ActivityEvent, LogConsumerCursor

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
# The flag that says a follow_activity_log task is already waiting in the broker.
FOLLOW_QUEUED_KEY = "mc:activity-follow-queued"

EventHandler = Callable[..., None]


@dataclass(frozen=True)
class LogConsumer:
    """One follower of the log: its cursor's name, what it does with a batch, and where it runs."""

    name: str
    # Dotted path of the handler, resolved on first use so the list can name any app's function
    # without activity importing it (the arrows point down: docs/architecture.md).
    handler: str
    # True: run right after each commit in the writing process, whatever the deployment.
    inline: bool = False
    # True: handler(events) takes the whole batch; False: handler(event, notify_agent_ids), one
    # event at a time (the shape of the listeners that used to run inside the writing transaction).
    batch: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE

    def handle(self, events: Sequence[ActivityEvent]) -> None:
        handler = _resolve(self.handler)
        if self.batch:
            handler(events)
            return
        for event in events:
            handler(event, event.notify_agent_ids or ())


@memoize
def _resolve(path: str) -> EventHandler:
    return import_string(path)


def log_consumers() -> tuple[LogConsumer, ...]:
    """The registered consumers (settings.ACTIVITY_LOG_CONSUMERS), in the order they run."""
    return tuple(
        LogConsumer(name=name, handler=handler, inline=inline, batch=batch)
        for name, handler, inline, batch in settings.ACTIVITY_LOG_CONSUMERS
    )


def consumer_named(name: str) -> LogConsumer:
    for consumer in log_consumers():
        if consumer.name == name:
            return consumer
    raise LookupError(f"No log consumer is named {name!r}.")


# One drain per consumer at a time within a process: on SQLite, where SELECT ... FOR UPDATE does
# nothing, this is what keeps two threads from handling the same batch.
_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _process_lock(name: str) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(name, threading.Lock())


def _fire_pending_positions() -> None:
    """Inside a caller's open transaction (tests; a drain called from within atomic), let the
    position trigger run now for the rows that transaction wrote, instead of at its commit, so
    they can be read by position. After a real commit there is nothing pending and nothing runs."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS activity_event_position IMMEDIATE")


def _locked_cursor(name: str, *, wait: bool = True) -> LogConsumerCursor | None:
    """The cursor row, locked; None when `wait` is False and another drain holds it."""
    # FOR UPDATE: two processes draining the same consumer would otherwise handle one batch twice;
    # the second waits here and then reads the cursor the first committed (or, not waiting,
    # leaves the batch to the first).
    try:
        return LogConsumerCursor.objects.select_for_update(skip_locked=not wait).get(name=name)
    except LogConsumerCursor.DoesNotExist:
        if not wait and LogConsumerCursor.objects.filter(name=name).exists():
            return None
    try:
        with transaction.atomic():
            # A consumer without a row starts at the beginning of the log; migrations create the
            # rows of consumers that must start from where the log was when they were added.
            LogConsumerCursor.objects.create(name=name, position=0)
    except IntegrityError:
        pass  # created meanwhile by another drain
    return LogConsumerCursor.objects.select_for_update().get(name=name)


def follow(consumer: LogConsumer, *, max_batches: int = 20, wait: bool = True) -> int:
    """Handle the events after `consumer`'s cursor, a batch per transaction; how many were handled.

    A batch that raises is rolled back (cursor included), its error recorded on the cursor row,
    and the exception propagates: the events are handled again by the next drain. With `wait`
    False a drain already under way elsewhere is left to finish alone (a page catching up before
    it reads must not queue behind the worker).
    """
    lock = _process_lock(consumer.name)
    if not lock.acquire(blocking=wait):
        return 0
    try:
        return _drain_locked(consumer, max_batches=max_batches, wait=wait)
    finally:
        lock.release()


def _drain_locked(consumer: LogConsumer, *, max_batches: int = 20, wait: bool = True) -> int:
    """follow()'s batches, for a caller that holds the process lock; how many were handled."""
    handled = 0
    for _ in range(max_batches):
        try:
            count = _follow_one_batch(consumer, wait=wait)
        except Exception as exc:
            _record_failure(consumer.name, exc)
            raise
        handled += count
        if count < consumer.batch_size:
            break
    return handled


def _follow_one_batch(consumer: LogConsumer, *, wait: bool = True) -> int:
    inside_a_transaction = connection.in_atomic_block
    with transaction.atomic():
        if inside_a_transaction:
            _fire_pending_positions()
        cursor = _locked_cursor(consumer.name, wait=wait)
        if cursor is None:
            return 0
        events = list(
            ActivityEvent.objects.filter(position__gt=cursor.position).order_by("position")[
                : consumer.batch_size
            ]
        )
        if not events:
            return 0
        consumer.handle(events)
        LogConsumerCursor.objects.filter(name=consumer.name).update(
            position=events[-1].position, updated_at=timezone.now(), last_error="", failures=0
        )
    return len(events)


def _record_failure(name: str, exc: Exception) -> None:
    logger.exception("log consumer %s failed; its batch is retried from the same cursor", name)
    message = f"{type(exc).__name__}: {exc}"[:500]
    try:
        with transaction.atomic():
            updated = LogConsumerCursor.objects.filter(name=name).update(
                last_error=message, failures=F("failures") + 1, updated_at=timezone.now()
            )
            if not updated:  # its first batch failed: the row was rolled back with it
                LogConsumerCursor.objects.get_or_create(
                    name=name, defaults={"position": 0, "last_error": message, "failures": 1}
                )
    except Exception:
        logger.warning("log consumer %s: recording its failure failed too", name)


def follow_all(*, include_inline: bool = True) -> dict[str, int]:
    """Drain every consumer once, in registration order; a failing one does not stop the others."""
    results: dict[str, int] = {}
    for consumer in log_consumers():
        if consumer.inline and not include_inline:
            continue
        try:
            results[consumer.name] = follow(consumer)
        except Exception:
            results[consumer.name] = -1
    return results


# --- after a commit ------------------------------------------------------------------------------


def schedule_after_commit() -> None:
    """Called by record_activity: once per transaction, follow the log when it commits."""
    if not connection.in_atomic_block:
        # Autocommit: the event is already committed (on_commit would run at once as well).
        after_commit()
        return
    if any(callback is after_commit for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(after_commit, robust=True)


def after_commit() -> None:
    """The inline consumers now; the others now on the embedded default, else in the worker.

    Never raises: the write this follows is committed and its 202 or 201 must stand. What fails
    here is retried by the next commit or by beat's follow_activity_log.
    """
    inline_all = settings.ACTIVITY_CONSUMERS_INLINE
    if inline_all:
        consumers = log_consumers()
        try:
            _follow_together(consumers)
        except Exception:
            # Something failed (or there is a backlog): each consumer on its own, so one
            # failing batch holds back only its consumer. follow() logs and records failures.
            for consumer in consumers:
                with contextlib.suppress(Exception):
                    follow(consumer)
        return
    queued = False
    for consumer in log_consumers():
        if consumer.inline:
            follow_soon(consumer)
        elif not queued:
            queued = True
            enqueue_follow()


# Per consumer, within a process: "a commit happened since the last drain started".
_pending: dict[str, threading.Event] = {}


def follow_soon(consumer: LogConsumer) -> None:
    """Drain `consumer` now, or leave it to the thread of this process that is draining it.

    Every request follows the live publisher after its commit; under load most of them would
    queue on the process lock (and on the cursor row) only to find that the thread ahead of them
    already published their event. The flag is set before the lock is tried and checked again
    after it is released, so a commit is never left behind: either this thread drains, or the
    holder sees the flag and drains once more. Never raises (see after_commit).
    """
    with _process_locks_guard:
        pending = _pending.setdefault(consumer.name, threading.Event())
    lock = _process_lock(consumer.name)
    pending.set()
    while pending.is_set():
        if not lock.acquire(blocking=False):
            return  # the holder drains again after it releases
        try:
            pending.clear()
            with contextlib.suppress(Exception):  # logged and recorded by follow()
                _drain_locked(consumer)
        finally:
            lock.release()


class _NotTogether(Exception):
    """The round cannot be done in one go (a cursor row missing, a backlog)."""


def _follow_together(consumers: Sequence[LogConsumer]) -> None:
    """Every consumer over the same new events in one transaction: lock the cursors, read the
    events once, handle, advance every cursor in one UPDATE. The embedded default does this after
    every write, where a transaction and three statements per consumer cost more than the work
    (SQLite). Any failure rolls the whole round back and raises; the caller then runs each
    consumer on its own."""
    names = [consumer.name for consumer in consumers]
    inside_a_transaction = connection.in_atomic_block
    with transaction.atomic():
        if inside_a_transaction:
            _fire_pending_positions()
        # In name order: two rounds at once lock the rows in the same order (no deadlock).
        cursors = dict(
            LogConsumerCursor.objects.select_for_update()
            .filter(name__in=names)
            .order_by("name")
            .values_list("name", "position")
        )
        if len(cursors) != len(names):
            raise _NotTogether("a cursor row is missing")
        events = list(
            ActivityEvent.objects.filter(position__gt=min(cursors.values())).order_by("position")[
                :DEFAULT_BATCH_SIZE
            ]
        )
        if not events:
            return
        if len(events) == DEFAULT_BATCH_SIZE:
            raise _NotTogether("a backlog: batches per consumer")
        for consumer in consumers:
            mine = [event for event in events if event.position > cursors[consumer.name]]
            if mine:
                consumer.handle(mine)
        LogConsumerCursor.objects.filter(name__in=names).update(
            position=events[-1].position, updated_at=timezone.now(), last_error="", failures=0
        )


def enqueue_follow() -> None:
    """At most one follow_activity_log waiting in the broker: the task clears the flag before it
    reads the log, so a commit after that point queues the next one and none is missed."""
    from django.core.cache import cache

    try:
        if not cache.add(FOLLOW_QUEUED_KEY, 1, timeout=60):
            return
        from activity.tasks import follow_activity_log

        follow_activity_log.delay()
    except Exception as exc:
        # Beat runs the same task every ACTIVITY_FOLLOW_SECONDS: the events wait for it.
        logger.warning("queueing follow_activity_log failed (%s); beat will catch up", type(exc).__name__)


# --- lag -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumerLag:
    name: str
    position: int
    events_behind: int
    # Age of the oldest event this consumer has not handled yet; 0 when it is caught up.
    seconds_behind: float
    failures: int
    last_error: str


def consumer_lags() -> list[ConsumerLag]:
    """Each registered consumer's distance from the head of the log (for /metrics and the
    operations page): three indexed reads per consumer."""
    cursors = {row.name: row for row in LogConsumerCursor.objects.all()}
    head = (
        ActivityEvent.objects.filter(position__isnull=False)
        .order_by("-position")
        .values_list("position", flat=True)[:1]
    )
    head_position = head[0] if head else 0
    now = time.time()
    lags = []
    for consumer in log_consumers():
        row = cursors.get(consumer.name)
        position = row.position if row else 0
        behind = 0
        seconds = 0.0
        if head_position > position:
            oldest = (
                ActivityEvent.objects.filter(position__gt=position)
                .order_by("position")
                .values_list("created_at", flat=True)[:1]
            )
            seconds = max(0.0, now - oldest[0].timestamp()) if oldest else 0.0
            behind = ActivityEvent.objects.filter(position__gt=position).count() if seconds else 0
        lags.append(
            ConsumerLag(
                name=consumer.name,
                position=position,
                events_behind=behind,
                seconds_behind=seconds,
                failures=row.failures if row else 0,
                last_error=row.last_error if row else "",
            )
        )
    return lags
