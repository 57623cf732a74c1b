"""The outbox without a worker: fan-out, recursion guard, claims, retry maths, auto-disable, SSRF."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from activity.models import ActivityEvent
from agents.models import AgentStatus
from deliveries import sending as http
from deliveries.models import Delivery, DeliveryStatus, Subscription
from deliveries.outbound import (
    RETRY_AFTER_CAP_SECONDS,
    attempt_delivery,
    claim_delivery,
    create_deliveries_for_event,
    dead_letter_count,
    record_attempt,
    requeue_overdue_deliveries,
    retry_delay,
)
from infra import outbound_guard
from tests.deliveries.factories import emit, subscribe
from tests.deliveries.receiver import Answer
from tests.factories import AgentFactory, BoardFactory
from tests.outbound_targets import REFUSED_TARGET_URLS

ALLOWED = override_settings(DELIVERY_ALLOWED_HOSTS=["hooks.internal.test", "127.0.0.1"])
URL = "https://hooks.internal.test/in"


@pytest.fixture
def subscription(user, organization, board):
    with ALLOWED:
        return subscribe(user=user, organization=organization, board=board, url=URL)[0]


# --- fan-out ---------------------------------------------------------------------------------


@ALLOWED
def test_it_fans_out_to_matching_subscriptions_only(user, organization, board, other_organization, outsider):
    other_board = BoardFactory(organization=organization)
    board_sub, _ = subscribe(user=user, organization=organization, board=board, url=URL)
    org_sub, _ = subscribe(user=user, organization=organization, url=URL)
    filtered, _ = subscribe(user=user, organization=organization, url=URL, event_types=["task.moved"])
    subscribe(user=user, organization=organization, board=other_board, url=URL)
    disabled, _ = subscribe(user=user, organization=organization, url=URL)
    Subscription.objects.filter(pk=disabled.pk).update(enabled=False)
    subscribe(user=outsider, organization=other_organization, url=URL)

    emit(organization=organization, board=board, verb="task.created")

    assert set(Delivery.objects.values_list("subscription_id", flat=True)) == {board_sub.pk, org_sub.pk}
    emit(organization=organization, board=board, verb="task.moved")
    assert Delivery.objects.filter(subscription=filtered).count() == 1


def test_it_pushes_only_to_active_agents_with_a_callback(organization, board, other_organization):
    pushed = AgentFactory(organization=organization, callback_url="https://agent.example/cb")
    pulling = AgentFactory(organization=organization)
    suspended = AgentFactory(
        organization=organization, callback_url="https://agent.example/cb", status=AgentStatus.SUSPENDED
    )
    foreign = AgentFactory(organization=other_organization, callback_url="https://agent.example/cb")

    agent_ids = [pushed.pk, pulling.pk, suspended.pk, foreign.pk]
    emit(organization=organization, board=board, notify_agent_ids=agent_ids)

    assert list(Delivery.objects.values_list("agent_id", flat=True)) == [pushed.pk]


@pytest.mark.parametrize("verb", ["delivery.dead", "delivery.replayed", "subscription.auto_disabled"])
def test_it_never_delivers_events_about_deliveries(subscription, organization, board, verb):
    emit(organization=organization, board=board, verb=verb)
    assert not Delivery.objects.exists()


def test_it_costs_one_query_when_nobody_subscribed(organization, board, django_assert_num_queries):
    event = ActivityEvent.objects.create(
        organization=organization, board=board, actor_kind="system", actor_label="system", verb="task.created"
    )
    with django_assert_num_queries(1):
        assert create_deliveries_for_event(event, []) == []
    with django_assert_num_queries(2):
        assert create_deliveries_for_event(event, [1, 2]) == []


def test_a_rolled_back_event_leaves_no_delivery(subscription, organization, board):
    with pytest.raises(RuntimeError), transaction.atomic():
        emit(organization=organization, board=board)
        raise RuntimeError
    assert not Delivery.objects.exists()


def test_deliveries_are_enqueued_only_on_commit(
    subscription, organization, board, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "deliveries.tasks.deliver_webhook.apply_async", lambda args, countdown=None: sent.append(args)
    )
    with django_capture_on_commit_callbacks(execute=True):
        emit(organization=organization, board=board)
        assert sent == []
    assert sent == [(Delivery.objects.get().pk,)]


# --- claims ----------------------------------------------------------------------------------


def pending(subscription, **fields) -> Delivery:
    values = {
        "target_url": subscription.target_url,
        "event_type": "task.created",
        "payload": {},
        "next_attempt_at": timezone.now(),
        **fields,
    }
    return Delivery.objects.create(
        organization=subscription.organization, board=subscription.board, subscription=subscription, **values
    )


def test_a_delivery_is_claimed_once(subscription):
    delivery = pending(subscription)
    assert claim_delivery(delivery.pk).attempt_count == 1
    assert claim_delivery(delivery.pk) is None  # a duplicate message finds it locked


def test_a_stale_lock_expires(subscription):
    delivery = pending(subscription, locked_until=timezone.now() - timedelta(seconds=1), attempt_count=1)
    assert claim_delivery(delivery.pk).attempt_count == 2


@pytest.mark.parametrize("status", [DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.DEAD])
def test_a_finished_delivery_is_never_claimed(subscription, status):
    assert claim_delivery(pending(subscription, status=status).pk) is None


def test_a_delivery_is_not_claimed_before_its_time(subscription):
    delivery = pending(subscription)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() + timedelta(seconds=30))
    assert claim_delivery(delivery.pk) is None


def test_the_sweeper_requeues_overdue_unlocked_deliveries(subscription, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "deliveries.outbound.enqueue_deliveries", lambda ids, countdown=None: sent.extend(ids)
    )
    long_ago = timezone.now() - timedelta(minutes=5)
    overdue = pending(subscription)
    locked = pending(subscription, locked_until=timezone.now() + timedelta(seconds=30))
    recent = pending(subscription)
    Delivery.objects.filter(pk__in=[overdue.pk, locked.pk]).update(next_attempt_at=long_ago)
    pending(subscription, status=DeliveryStatus.SUCCEEDED)

    assert requeue_overdue_deliveries() == 1
    assert sent == [overdue.pk] and recent.pk not in sent


# --- retry maths -----------------------------------------------------------------------------


@override_settings(DELIVERY_RETRY_SCHEDULE=[10, 30])
def test_the_retry_delay_follows_the_schedule_with_jitter_then_gives_up():
    assert 10 <= retry_delay(1, None) <= 12
    assert 30 <= retry_delay(2, None) <= 36
    assert retry_delay(3, None) is None  # the schedule is exhausted: dead


@override_settings(DELIVERY_RETRY_SCHEDULE=[10, 30])
def test_retry_after_replaces_the_schedule_within_bounds():
    assert retry_delay(1, 120) == 120
    assert retry_delay(1, 0) == 1
    assert retry_delay(1, 10**9) == RETRY_AFTER_CAP_SECONDS
    assert retry_delay(3, 5) is None  # never beyond the last attempt


def test_retry_after_parses_seconds_and_http_dates():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert http.parse_retry_after("120") == 120
    assert http.parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90
    assert http.parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now=now) == 0
    assert http.parse_retry_after("soon") is None


# --- outcomes and auto-disable ---------------------------------------------------------------


def fail_finally(delivery: Delivery, result: http.SendResult) -> Delivery:
    claimed = claim_delivery(delivery.pk)
    return record_attempt(
        delivery=claimed, number=claimed.attempt_count, lease=claimed.locked_until, result=result
    )


@override_settings(DELIVERY_RETRY_SCHEDULE=[], DELIVERY_AUTO_DISABLE_AFTER=2)
def test_it_disables_a_subscription_after_consecutive_dead_deliveries(subscription):
    server_error = http.SendResult(503, 5)
    fail_finally(pending(subscription), server_error)
    fail_finally(pending(subscription), http.SendResult(200, 5))  # a success resets the streak
    fail_finally(pending(subscription), server_error)
    subscription.refresh_from_db()
    assert subscription.enabled and subscription.consecutive_dead == 1

    fail_finally(pending(subscription), server_error)

    subscription.refresh_from_db()
    assert not subscription.enabled and "2 consecutive dead" in subscription.disabled_reason
    events = ActivityEvent.objects.filter(verb="subscription.auto_disabled", target_id=str(subscription.pk))
    assert events.count() == 1
    assert dead_letter_count() == 3
    assert Delivery.objects.filter(subscription=subscription).count() == 4  # no deliveries of those events


def test_a_4xx_other_than_408_and_429_is_final(subscription):
    assert fail_finally(pending(subscription), http.SendResult(404, 5)).status == DeliveryStatus.FAILED


@override_settings(DELIVERY_RETRY_SCHEDULE=[60])
@pytest.mark.parametrize("status_code", [408, 429, 500, 503, None])
def test_timeouts_throttles_and_server_errors_are_retried(subscription, status_code):
    delivery = fail_finally(pending(subscription), http.SendResult(status_code, 5))
    assert delivery.status == DeliveryStatus.PENDING and delivery.locked_until is None
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=55)


@ALLOWED
def test_it_does_not_follow_redirects(subscription, receiver):
    Subscription.objects.filter(pk=subscription.pk).update(target_url=receiver.url)
    receiver.script(Answer(status=302, headers={"Location": receiver.url + "/elsewhere"}))
    delivery = pending(subscription, target_url=receiver.url)

    delivery = attempt_delivery(delivery_id=delivery.pk)

    assert delivery.status == DeliveryStatus.FAILED and delivery.last_status_code == 302
    assert len(receiver.requests) == 1


def test_a_send_goes_to_the_subscriptions_current_url(subscription, receiver):
    delivery = pending(subscription, target_url="https://old.example/hook")
    Subscription.objects.filter(pk=subscription.pk).update(target_url=receiver.url)

    with ALLOWED:
        delivery = attempt_delivery(delivery_id=delivery.pk)

    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.target_url == receiver.url
    assert len(receiver.requests) == 1


def test_a_push_to_a_suspended_agent_fails_without_a_request(organization, board, receiver):
    agent = AgentFactory(organization=organization, callback_url=receiver.url)
    emit(organization=organization, board=board, notify_agent_ids=[agent.pk])
    agent.status = AgentStatus.SUSPENDED
    agent.save()

    with ALLOWED:
        delivery = attempt_delivery(delivery_id=Delivery.objects.get().pk)

    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts.get().error_class == "AgentUnreachable" and receiver.requests == []


# --- SSRF guard ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", REFUSED_TARGET_URLS)
def test_the_guard_refuses_internal_targets(url):
    with pytest.raises(outbound_guard.UnsafeTarget):
        outbound_guard.check_url_at_save(url)


@override_settings(DELIVERY_ALLOWED_HOSTS=["127.0.0.1", "localhost"])
def test_the_allowlist_lets_listed_hosts_through():
    outbound_guard.check_url_at_save("http://127.0.0.1:9000/hook")
    outbound_guard.check_url_at_save("http://localhost/hook")
    with pytest.raises(outbound_guard.UnsafeTarget):
        outbound_guard.check_url_at_save("http://[::1]/hook")


@pytest.mark.parametrize("address", ["2002:808:808::1", "64:ff9b::808:808", "2606:4700::1111"])
def test_the_guard_lets_public_ipv4_inside_ipv6_through(address):
    import ipaddress

    assert not outbound_guard.is_refused_address(ipaddress.ip_address(address))


def fake_dns(monkeypatch, address: str) -> None:
    def getaddrinfo(host, port, *args, **kwargs):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_that_resolves_to_an_internal_address_at_send_time_is_refused(monkeypatch, receiver):
    fake_dns(monkeypatch, "127.0.0.1")  # e.g. DNS rebinding after the save-time check passed

    result = http.post("http://rebind.example/hook", b"{}", {})

    assert result.refused and result.error_class == "UnsafeTarget"
    assert receiver.requests == []


def test_the_send_connects_to_the_address_it_checked(monkeypatch):
    fake_dns(monkeypatch, "93.184.216.34")
    address = outbound_guard.resolve_safe_address("https://hooks.example:8443/in?x=1")

    url, headers, extensions = http._pinned_request("https://hooks.example:8443/in?x=1", address, {})

    assert url == "https://93.184.216.34:8443/in?x=1"
    assert headers["Host"] == "hooks.example:8443"
    assert extensions == {"sni_hostname": "hooks.example"}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://10.0.0.1/x",
        "http://169.254.169.254/x",
        "http://localhost/x",
        "http://[::1]/x",
    ],
)
def test_the_send_refuses_internal_targets_without_the_allowlist(url):
    result = http.post(url, b"{}", {})
    assert result.refused and result.status_code is None


def test_an_unsafe_target_is_a_final_failure(subscription):
    # e.g. saved while the name resolved publicly, or written around the services
    Subscription.objects.filter(pk=subscription.pk).update(
        target_url="http://169.254.169.254/latest/meta-data"
    )
    delivery = attempt_delivery(delivery_id=pending(subscription).pk)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts.get().error_class == "UnsafeTarget"


@override_settings(
    DELIVERY_RETRY_SCHEDULE=[7200], CELERY_BROKER_TRANSPORT_OPTIONS={"visibility_timeout": 3600}
)
def test_a_retry_longer_than_half_the_visibility_timeout_is_left_to_the_sweeper(
    subscription, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "deliveries.outbound.enqueue_deliveries", lambda ids, countdown=None: sent.append(countdown)
    )
    with django_capture_on_commit_callbacks(execute=True):
        delivery = fail_finally(pending(subscription), http.SendResult(500, 5))
    assert delivery.status == DeliveryStatus.PENDING and sent == []


@override_settings(DELIVERY_RETRY_SCHEDULE=[10])
def test_a_short_retry_is_enqueued_with_a_countdown(
    subscription, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "deliveries.outbound.enqueue_deliveries", lambda ids, countdown=None: sent.append(countdown)
    )
    with django_capture_on_commit_callbacks(execute=True):
        fail_finally(pending(subscription), http.SendResult(500, 5))
    assert len(sent) == 1 and 10 <= sent[0] <= 12


@ALLOWED
def test_it_keeps_1000_bytes_of_the_response(subscription, receiver):
    Subscription.objects.filter(pk=subscription.pk).update(target_url=receiver.url)
    receiver.script(Answer(status=400, body=b"x" * 999 + b"yz" + b"z" * 5000))

    delivery = attempt_delivery(delivery_id=pending(subscription).pk)

    assert delivery.attempts.get().response_excerpt == "x" * 999 + "y"


@override_settings(DELIVERY_RETRY_SCHEDULE=[1, 1])
def test_a_delivery_whose_attempts_were_all_interrupted_goes_dead_without_a_request(subscription, receiver):
    # Three claims were taken by workers that died mid-send (the lease expired each time).
    delivery = pending(subscription, attempt_count=3, locked_until=timezone.now() - timedelta(seconds=1))

    delivery = attempt_delivery(delivery_id=delivery.pk)

    assert delivery.status == DeliveryStatus.DEAD and receiver.requests == []
    assert delivery.attempts.get().error_class == "AttemptsExhausted"
