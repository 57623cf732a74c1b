"""A chat mention of a push-mode agent is one signed delivery to its callback, sent by the real
worker (a subprocess on Redis in production mode); a pull-mode agent gets its stream event only."""

from __future__ import annotations

import json
import time

import pytest

from chat.services import post_message
from core.actors import Actor
from core.signing import verify_standard_webhook_signature
from deliveries.models import Delivery, DeliveryStatus
from deliveries.outbound import agent_signing_secret
from notifications.models import Notification
from tests.deliveries.conftest import wait_for_status
from tests.factories import AgentFactory

pytestmark = pytest.mark.timeout(90)


def test_a_mention_is_one_signed_delivery_per_push_mode_agent(
    celery_worker, receiver, organization, board, user, teammate
):
    pushed = AgentFactory(organization=organization, name="push-bot", callback_url=receiver.url)
    pulled = AgentFactory(organization=organization, name="pull-bot")
    for agent in (pushed, pulled):
        agent.boards.set([board])

    message = post_message(
        board=board,
        actor=Actor.for_user(teammate),
        body="@push-bot @pull-bot @owner please check the release; @push-bot!",
    )

    # The deliveries consumer follows the log after the commit (in the worker with Redis, in this
    # process on the embedded default): the row appears within its lag.
    deadline = time.monotonic() + 30
    while not Delivery.objects.filter(event_type="chat.mentioned").exists():
        assert time.monotonic() < deadline, "the deliveries consumer never fanned the mention out"
        time.sleep(0.05)
    [delivery] = Delivery.objects.filter(event_type="chat.mentioned")
    delivery = wait_for_status(delivery, {DeliveryStatus.SUCCEEDED})
    [request] = receiver.wait_for(1)
    assert delivery.agent_id == pushed.pk
    assert verify_standard_webhook_signature(
        agent_signing_secret(pushed.pk),
        request.headers["webhook-id"],
        request.headers["webhook-timestamp"],
        request.body,
        request.headers["webhook-signature"],
    )
    body = json.loads(request.body)
    assert body["type"] == "chat.mentioned"
    assert body["data"]["detail"]["message_id"] == message.pk
    assert body["data"]["detail"]["agent_ids"] == sorted([pushed.pk, pulled.pk])
    assert Notification.objects.filter(recipient=user).count() == 1
    assert Delivery.objects.count() == 1
