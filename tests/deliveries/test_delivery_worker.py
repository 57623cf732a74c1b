"""End to end with a real receiver and a real Celery worker (thread on memory://, or a
subprocess on Redis in production mode): signing, retries, timeouts, Retry-After, dead, replay.
"""

from __future__ import annotations

import json

import pytest

from activity.models import ActivityEvent
from core.actors import Actor
from core.signing import verify_standard_webhook_signature
from deliveries.models import Delivery, DeliveryStatus
from deliveries.outbound import agent_signing_secret, dead_letter_count, replay_delivery
from tests.deliveries.conftest import wait_for_status
from tests.deliveries.factories import emit, subscribe
from tests.deliveries.receiver import Answer
from tests.factories import AgentFactory

pytestmark = pytest.mark.timeout(90)


def verified(secret: str, request) -> bool:
    return verify_standard_webhook_signature(
        secret,
        request.headers["webhook-id"],
        request.headers["webhook-timestamp"],
        request.body,
        request.headers["webhook-signature"],
    )


def only_delivery() -> Delivery:
    return Delivery.objects.get()


def test_it_delivers_a_signed_event_the_first_time(celery_worker, receiver, user, organization, board):
    _, secret = subscribe(user=user, organization=organization, board=board, url=receiver.url)
    event = emit(organization=organization, board=board)

    delivery = wait_for_status(only_delivery(), {DeliveryStatus.SUCCEEDED})

    [request] = receiver.wait_for(1)
    assert request.headers["webhook-id"] == str(delivery.pk)
    assert verified(secret, request)
    body = json.loads(request.body)
    assert body["type"] == "task.created"
    assert body["data"]["id"] == event.pk
    assert delivery.attempt_count == 1
    assert [a.response_status for a in delivery.attempts.all()] == [200]


def test_it_retries_a_500_under_the_same_webhook_id(celery_worker, receiver, user, organization, board):
    _, secret = subscribe(user=user, organization=organization, board=board, url=receiver.url)
    receiver.script(Answer(status=500, body=b"boom"), Answer(status=200))
    emit(organization=organization, board=board)

    delivery = wait_for_status(only_delivery(), {DeliveryStatus.SUCCEEDED})

    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(delivery.pk)
    assert verified(secret, first) and verified(secret, second)
    attempts = list(delivery.attempts.all())
    assert [(a.number, a.response_status) for a in attempts] == [(1, 500), (2, 200)]
    assert attempts[0].response_excerpt == "boom"
    assert second.at - first.at >= 0.9  # the schedule's first delay (1s), not an immediate retry


def test_it_stops_at_a_410_as_failed(celery_worker, receiver, user, organization, board):
    subscribe(user=user, organization=organization, board=board, url=receiver.url)
    receiver.script(Answer(status=410, body=b"gone"))
    emit(organization=organization, board=board)

    delivery = wait_for_status(only_delivery(), {DeliveryStatus.FAILED})

    assert delivery.attempt_count == 1 and delivery.last_status_code == 410
    assert len(receiver.requests) == 1
    assert ActivityEvent.objects.filter(verb="delivery.failed", target_id=str(delivery.pk)).exists()
    # The failure's own event is not delivered anywhere (no recursion).
    assert Delivery.objects.count() == 1


def test_it_retries_after_a_timeout(celery_worker, receiver, user, organization, board):
    subscribe(user=user, organization=organization, board=board, url=receiver.url)
    receiver.script(Answer(delay=4), Answer(status=204, body=b""))
    emit(organization=organization, board=board)

    delivery = wait_for_status(only_delivery(), {DeliveryStatus.SUCCEEDED})

    first, second = delivery.attempts.all()
    assert first.response_status is None and "Timeout" in first.error_class
    assert 1400 <= first.duration_ms < 4000
    assert second.response_status == 204


def test_it_honours_retry_after(celery_worker, receiver, user, organization, board):
    subscribe(user=user, organization=organization, board=board, url=receiver.url)
    receiver.script(Answer(status=503, headers={"Retry-After": "3"}), Answer(status=200))
    emit(organization=organization, board=board)

    wait_for_status(only_delivery(), {DeliveryStatus.SUCCEEDED})

    first, second = receiver.wait_for(2)
    assert second.at - first.at >= 2.8  # Retry-After 3s, although the schedule says 1s


def test_it_gives_up_as_dead_after_the_last_attempt_and_replays(
    celery_worker, receiver, user, organization, board
):
    receiver.script(*[Answer(status=502)] * 4)
    subscribe(user=user, organization=organization, board=board, url=receiver.url)
    emit(organization=organization, board=board)

    delivery = wait_for_status(only_delivery(), {DeliveryStatus.DEAD})

    assert delivery.attempt_count == 4  # the first try plus one per scheduled retry (3)
    assert len(receiver.wait_for(4)) == 4
    assert dead_letter_count() == 1
    assert ActivityEvent.objects.filter(verb="delivery.dead", target_id=str(delivery.pk)).exists()

    replay_delivery(delivery=delivery, actor=Actor.for_user(user))
    delivery = wait_for_status(delivery, {DeliveryStatus.SUCCEEDED})

    requests = receiver.wait_for(5)
    assert {r.headers["webhook-id"] for r in requests} == {str(delivery.pk)}
    assert [a.number for a in delivery.attempts.all()] == [1, 2, 3, 4, 1]  # a new series
    assert dead_letter_count() == 0


def test_it_pushes_to_an_agent_callback_signed_with_the_agent_secret(
    celery_worker, receiver, organization, board
):
    agent = AgentFactory(organization=organization, callback_url=receiver.url)
    emit(organization=organization, board=board, verb="task.assigned", notify_agent_ids=[agent.pk])

    delivery = wait_for_status(only_delivery(), {DeliveryStatus.SUCCEEDED})

    [request] = receiver.wait_for(1)
    assert delivery.agent_id == agent.pk
    assert verified(agent_signing_secret(agent.pk), request)
