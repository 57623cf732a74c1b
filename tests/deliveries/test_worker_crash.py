"""A worker process SIGKILLed in the middle of a delivery: the delivery completes later, once.

Production mode only (a `celery worker` subprocess on Redis and the Postgres test database).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from deliveries.models import Delivery, DeliveryStatus
from deliveries.outbound import requeue_overdue_deliveries
from tests.conftest import requires_postgres, requires_redis
from tests.deliveries.conftest import wait_for_status
from tests.deliveries.factories import emit, subscribe
from tests.deliveries.receiver import Answer

pytestmark = [requires_postgres, requires_redis, pytest.mark.timeout(120)]


def test_a_delivery_interrupted_by_a_killed_worker_completes_once_after_a_restart(
    transactional_db, fast_delivery_settings, start_worker_process, receiver, user, organization, board
):
    release = threading.Event()
    receiver.script(Answer(hold=release), Answer(status=200))
    subscribe(user=user, organization=organization, board=board, url=receiver.url)
    worker = start_worker_process()
    emit(organization=organization, board=board)

    receiver.wait_for(1, timeout=30)  # the worker is now inside the POST
    worker.kill()
    release.set()

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.locked_until > timezone.now()  # claimed, never finished
    assert not delivery.attempts.exists()

    start_worker_process()
    # The claim must expire before anyone may send again; then the beat sweeper's service
    # re-enqueues it (the killed worker's unacked message may come back too; one claim wins).
    while timezone.now() <= delivery.locked_until:
        time.sleep(0.2)
    assert requeue_overdue_deliveries(grace=timedelta(0)) == 1

    delivery = wait_for_status(delivery, {DeliveryStatus.SUCCEEDED}, timeout=30)
    assert delivery.attempts.filter(response_status=200).count() == 1
    assert delivery.attempt_count == 2  # the interrupted claim counted
    requests = receiver.requests
    assert len(requests) == 2
    assert {r.headers["webhook-id"] for r in requests} == {str(delivery.pk)}
    # Another sweep finds nothing: a delivery that succeeded is never sent again.
    assert requeue_overdue_deliveries(grace=timedelta(0)) == 0
