"""The delivery sweeper hands the whole overdue backlog to the workers, not a fixed count.

After an outage 1,351 deliveries were overdue and the sweeper re-enqueued 500 a minute: six
minutes to drain. Now one sweep enqueues all of them (batches until none is left, within a time
budget) and a real worker sends them to a local receiver well inside a minute.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from deliveries import outbound
from deliveries.models import Delivery, DeliveryStatus
from tests.conftest import requires_postgres, requires_redis
from tests.deliveries.conftest import WorkerProcess
from tests.deliveries.factories import subscribe

BACKLOG = 1351
LOCAL = "http://127.0.0.1:9/in"  # allowlisted by fast_delivery_settings; never called here


def overdue_backlog(*, user, organization, board, url: str, count: int = BACKLOG) -> list[int]:
    subscription, _ = subscribe(user=user, organization=organization, board=board, url=url)
    due = timezone.now() - timedelta(minutes=10)
    Delivery.objects.bulk_create(
        [
            Delivery(
                organization=organization,
                board=board,
                subscription=subscription,
                target_url=url,
                event_type="task.created",
                payload={"type": "task.created", "data": {"n": n}},
                status=DeliveryStatus.PENDING,
                next_attempt_at=due,
            )
            for n in range(count)
        ],
        batch_size=500,
    )
    return sorted(Delivery.objects.values_list("id", flat=True))


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(outbound, "enqueue_deliveries", lambda ids, **kwargs: sent.extend(ids))
    return sent


@pytest.mark.django_db
def test_one_sweep_enqueues_the_whole_backlog_once(
    fast_delivery_settings, enqueued, user, organization, board
):
    ids = overdue_backlog(user=user, organization=organization, board=board, url=LOCAL)
    assert outbound.requeue_overdue_deliveries() == BACKLOG
    assert sorted(enqueued) == ids  # every one, each once


@pytest.mark.django_db
def test_the_time_budget_stops_a_sweep_after_a_whole_batch(
    fast_delivery_settings, enqueued, user, organization, board
):
    overdue_backlog(user=user, organization=organization, board=board, url=LOCAL)
    assert outbound.requeue_overdue_deliveries(batch=500, budget_seconds=0) == 500
    assert len(enqueued) == 500


@pytest.mark.django_db
def test_a_backlog_of_exactly_one_batch_is_one_query_round(
    fast_delivery_settings, enqueued, user, organization, board
):
    overdue_backlog(user=user, organization=organization, board=board, url=LOCAL, count=500)
    assert outbound.requeue_overdue_deliveries(batch=500, budget_seconds=0) == 500
    assert outbound.requeue_overdue_deliveries(batch=499, budget_seconds=60) == 500


# The production layout the drill ran (a worker process on Redis, PostgreSQL). The embedded
# default's worker thread shares SQLite's in-memory test database with this test, whose table
# locks serialise it: that would measure the test harness, not the sweeper.
@pytest.fixture
def deliveries_worker(transactional_db, fast_delivery_settings, tmp_path) -> Iterator[WorkerProcess]:
    """A worker for the deliveries queue as compose starts it (4 at a time; threads here, where
    compose forks: the sends wait on the network either way)."""
    worker = WorkerProcess(tmp_path / "worker.log", queues="deliveries")
    worker.options += ["--pool=threads", "--concurrency=4"]  # the last --pool/--concurrency wins
    yield worker.start()
    worker.stop()


@requires_postgres
@requires_redis
@pytest.mark.timeout(120)
def test_a_real_worker_drains_1351_overdue_deliveries_well_inside_a_minute(
    deliveries_worker, receiver, user, organization, board
):
    overdue_backlog(user=user, organization=organization, board=board, url=receiver.url)
    started = time.monotonic()
    assert outbound.requeue_overdue_deliveries() == BACKLOG  # one run of the beat task
    pending = BACKLOG
    while pending and time.monotonic() - started < 60:
        time.sleep(0.5)
        pending = Delivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).count()
    elapsed = time.monotonic() - started
    print(f"\n{BACKLOG} overdue deliveries drained in {elapsed:.1f}s")
    assert pending == 0, f"{pending} of {BACKLOG} still not delivered after {elapsed:.0f}s"
    assert elapsed < 45  # measured: 27 s on 2 shared cores (4 threads), 33 s with one solo worker
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == BACKLOG
