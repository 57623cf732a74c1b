"""Posting standups: once per (board or organization, local day) across two runs of the beat task,
to board chat, as a signed delivery a receiver can verify, and by mail to the members who opted
in (locmem); after downtime only yesterday's; a quiet day is recorded, not sent."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.core import mail

from activity.models import ActivityEvent
from boards.models import Board
from chat.models import ChatMessage
from chat.services import post_message
from core.actors import Actor
from core.models import Organization
from core.signing import verify_standard_webhook_signature
from deliveries.models import Delivery, DeliveryStatus
from deliveries.outbound import attempt_delivery, create_subscription
from infra.exceptions import NotFound, PermissionDenied, RateLimited
from standups import services
from standups.models import Standup, StandupEmailOptIn
from tests.deliveries.receiver import Receiver
from tests.factories import AgentFactory
from tests.standups.history import DAY, build, clock, utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.DELIVERY_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.DELIVERY_TIMEOUT_SECONDS = 2
    server = Receiver().start()
    yield server
    server.stop()


def existed_since_november(organization: Organization) -> None:
    """The fixtures' rows are created today; the standups under test are of earlier days."""
    Organization.objects.filter(pk=organization.pk).update(created_at=utc(11, 1, 0))
    Board.objects.filter(organization=organization).update(created_at=utc(11, 1, 0))


def test_each_standup_is_posted_once_to_chat_webhook_and_mail_across_two_runs(
    organization, board, user, teammate, receiver, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    history = build(organization=organization, board=board, user=user, teammate=teammate)
    owner = Actor.for_user(user)
    # Not subscribed to standup.posted itself: the standup's own delivery is the only one.
    subscription, secret = create_subscription(
        actor=owner, organization=organization, target_url=receiver.url, event_types=["task.created"]
    )
    services.update_standup_settings(actor=owner, organization=organization, subscription=subscription)
    services.set_standup_email(
        actor=Actor.for_user(teammate), organization=organization, board=board, enabled=True
    )
    services.set_standup_email(actor=owner, organization=organization, enabled=True)
    existed_since_november(organization)
    morning = utc(12, 4, 8, 30)  # 09:30 in Paris, the standup hour (9) has come

    with clock(morning), django_capture_on_commit_callbacks() as callbacks:
        first = services.post_due_standups(now=morning)
    with clock(morning):
        second = services.post_due_standups(now=morning)  # a restarted beat, a second worker

    assert (first, second) == (3, 0)
    standups = {s.board_id: s for s in Standup.objects.filter(date=DAY)}
    assert set(standups) == {board.pk, history.gated.pk, None}
    assert not any(s.quiet for s in standups.values())
    assert ActivityEvent.objects.filter(verb="standup.posted").count() == 3
    assert callbacks  # mail and deliveries are handed to the worker after the commit

    # Board chat: one message per board, by the Standup, saying the figures.
    messages = ChatMessage.objects.filter(author_label="Standup")
    assert sorted(m.board_id for m in messages) == sorted([board.pk, history.gated.pk])
    launch = messages.get(board=board)
    assert "1 task was finished: \u2018Write release notes\u2019 (release-bot)." in launch.body
    assert f"/standups/boards/{board.pk}/?date=2026-12-03" in launch.body
    assert standups[board.pk].chat_message_id == launch.pk

    # Mail: what the worker runs after the commit; twice sends once.
    for standup in standups.values():
        services.send_standup_emails(standup_id=standup.pk)
        assert services.send_standup_emails(standup_id=standup.pk) == 0
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("owner@example.com", "Standup of Acme for Thursday 3 December 2026 (Europe/Paris)"),
        ("teammate@example.com", "Standup of Launch for Thursday 3 December 2026 (Europe/Paris)"),
    ]
    assert "2 tasks were finished" in next(m.body for m in mail.outbox if m.to == ["owner@example.com"])

    # The signed webhook: one delivery per standup, verifiable with the subscription's secret.
    assert Delivery.objects.filter(subscription=subscription).count() == 3
    organization_standup = standups[None]
    delivery = attempt_delivery(delivery_id=organization_standup.delivery_id)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    [request] = receiver.wait_for(1)
    assert verify_standard_webhook_signature(
        secret,
        request.headers["webhook-id"],
        request.headers["webhook-timestamp"],
        request.body,
        request.headers["webhook-signature"],
    )
    body = json.loads(request.body)
    assert body["type"] == "standup.posted"
    assert body["data"]["detail"]["figures"]["counts"] == {
        "done": 2,
        "in_progress": 2,
        "blocked": 2,
        "waiting": 1,
    }
    assert body["data"]["detail"]["sentences"][0].startswith("2 tasks were finished")


@pytest.mark.backend_independent
def test_after_downtime_only_yesterday_is_posted_and_only_once_the_hour_has_come(organization, board, user):
    existed_since_november(organization)

    with clock(utc(12, 4, 10)):
        services.post_due_standups(now=utc(12, 4, 10))  # back after days down: Dec 3 only
    with clock(utc(12, 5, 8, 59)):
        services.post_due_standups(now=utc(12, 5, 8, 59))  # 08:59 UTC (default zone): not yet
    posted_before_the_hour = set(Standup.objects.values_list("date", flat=True))
    with clock(utc(12, 5, 9, 0)):
        services.post_due_standups(now=utc(12, 5, 9, 0))

    assert posted_before_the_hour == {DAY}
    assert sorted(set(Standup.objects.values_list("date", flat=True))) == [DAY, DAY.replace(day=4)]
    assert Standup.objects.count() == 4  # the board and the organization, each day once
    # Nothing happened on those days: recorded (so never retried), not sent.
    assert all(Standup.objects.values_list("quiet", flat=True))
    assert not ChatMessage.objects.exists()
    assert not ActivityEvent.objects.filter(verb="standup.posted").exists()


@pytest.mark.backend_independent
def test_a_member_opts_in_for_themselves_and_nobody_else_can(organization, board, viewer, outsider):
    assert services.set_standup_email(actor=Actor.for_user(viewer), organization=organization, enabled=True)
    assert services.set_standup_email(actor=Actor.for_user(viewer), organization=organization, enabled=True)
    assert StandupEmailOptIn.objects.filter(user=viewer, board__isnull=True).count() == 1

    with pytest.raises(NotFound):
        services.set_standup_email(actor=Actor.for_user(outsider), organization=organization, enabled=True)
    agent = AgentFactory(organization=organization)
    with pytest.raises(PermissionDenied):
        services.set_standup_email(actor=Actor.for_agent(agent), organization=organization, enabled=True)
    assert not services.set_standup_email(
        actor=Actor.for_user(viewer), organization=organization, enabled=False
    )
    assert not StandupEmailOptIn.objects.exists()


@pytest.mark.backend_independent
def test_the_standup_is_not_held_to_a_persons_chat_rate(organization, board, user, settings):
    """CHAT_POST_RATE is per author; the system posts one standup per board and day, so one shared
    budget would refuse the standups of every board past the rate."""
    settings.CHAT_POST_RATE = "1/60s"
    second_board = Board.objects.create(organization=organization, name="Second", slug="second")

    post_message(board=board, actor=services.STANDUP_ACTOR, body="standup one")
    post_message(board=second_board, actor=services.STANDUP_ACTOR, body="standup two")
    post_message(board=board, actor=Actor.for_user(user), body="first")
    with pytest.raises(RateLimited):
        post_message(board=board, actor=Actor.for_user(user), body="second")

    assert ChatMessage.objects.filter(author_label="Standup").count() == 2
