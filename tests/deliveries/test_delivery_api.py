"""The human API: subscriptions (secret once, SSRF check, roles) and deliveries (filters, replay)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from activity import registry
from activity.models import ActivityEvent
from core.encryption import decrypt_secret
from deliveries import outbound
from deliveries.models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription
from deliveries.outbound import agent_signing_secret
from tests.deliveries.factories import subscribe
from tests.factories import AgentFactory, BoardFactory

ALLOWED = override_settings(DELIVERY_ALLOWED_HOSTS=["hooks.internal.test"])
URL = "https://hooks.internal.test/in"


@pytest.fixture
def api_client(user) -> APIClient:
    """Session client without CSRF enforcement (CSRF on the API is tested with the boards API)."""
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(user)
    return client


def make_delivery(subscription, *, status=DeliveryStatus.DEAD, attempts=1, board=None) -> Delivery:
    delivery = Delivery.objects.create(
        organization=subscription.organization,
        board=board or subscription.board,
        subscription=subscription,
        target_url=subscription.target_url,
        event_type="task.created",
        payload={"type": "task.created"},
        status=status,
        attempt_count=attempts,
    )
    for number in range(1, attempts + 1):
        DeliveryAttempt.objects.create(delivery=delivery, number=number, response_status=500)
    return delivery


@ALLOWED
def test_it_creates_a_subscription_and_shows_the_secret_once(api_client, board):
    response = api_client.post(
        "/api/v1/subscriptions/",
        {
            "board": board.pk,
            "target_url": URL,
            "event_types": ["task.status_changed", "task.created"],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    subscription = Subscription.objects.get(pk=body["id"])
    assert body["secret"].startswith("whsec_")
    assert decrypt_secret(subscription.secret_ciphertext) == body["secret"]
    assert body["organization"] == board.organization_id
    assert body["event_types"] == ["task.created", "task.status_changed"]
    detail = api_client.get(f"/api/v1/subscriptions/{subscription.pk}/").json()
    assert "secret" not in detail and body["secret"] not in str(detail)
    assert ActivityEvent.objects.filter(verb="subscription.created").exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:8000/hook",
        "http://[::1]/hook",
        "ftp://example.com/x",
    ],
)
def test_it_refuses_a_subscription_to_an_internal_target(api_client, board, url):
    response = api_client.post(
        "/api/v1/subscriptions/", {"board": board.pk, "target_url": url}, format="json"
    )

    assert response.status_code == 400
    assert "target_url" in response.json()["error"]["fields"]
    assert not Subscription.objects.exists()


def test_it_lets_only_admins_create_subscriptions(api_client, teammate, outsider, board):
    body = {"board": board.pk, "target_url": URL}
    api_client.force_login(teammate)
    with ALLOWED:
        assert api_client.post("/api/v1/subscriptions/", body, format="json").status_code == 403
    api_client.force_login(outsider)
    with ALLOWED:
        assert api_client.post("/api/v1/subscriptions/", body, format="json").status_code == 404


@ALLOWED
def test_it_hides_other_organizations_subscriptions(api_client, outsider, user, organization):
    subscription, _ = subscribe(user=user, organization=organization, url=URL)
    api_client.force_login(outsider)

    assert api_client.get(f"/api/v1/subscriptions/{subscription.pk}/").status_code == 404
    assert api_client.get("/api/v1/subscriptions/").json()["results"] == []


@ALLOWED
def test_re_enabling_a_subscription_clears_its_dead_streak(api_client, user, organization):
    subscription, _ = subscribe(user=user, organization=organization, url=URL)
    Subscription.objects.filter(pk=subscription.pk).update(
        enabled=False, consecutive_dead=5, disabled_reason="auto"
    )

    response = api_client.patch(f"/api/v1/subscriptions/{subscription.pk}/", {"enabled": True}, format="json")

    assert response.status_code == 200, response.json()
    subscription.refresh_from_db()
    assert subscription.enabled and subscription.consecutive_dead == 0 and subscription.disabled_reason == ""


@ALLOWED
def test_it_rotates_a_subscription_secret(api_client, user, organization):
    subscription, old = subscribe(user=user, organization=organization, url=URL)

    response = api_client.post(f"/api/v1/subscriptions/{subscription.pk}/rotate-secret/")

    assert response.status_code == 200
    new = response.json()["secret"]
    subscription.refresh_from_db()
    assert new != old and decrypt_secret(subscription.secret_ciphertext) == new


@ALLOWED
@pytest.mark.parametrize("rows", [1, 30])
def test_it_lists_deliveries_in_constant_queries(
    api_client, user, organization, board, rows, django_assert_max_num_queries
):
    subscription, _ = subscribe(user=user, organization=organization, board=board, url=URL)
    for _ in range(rows):
        make_delivery(subscription)

    with django_assert_max_num_queries(5):
        response = api_client.get("/api/v1/deliveries/?status=dead&status=failed")

    assert response.status_code == 200
    assert response.json()["count"] == rows


@ALLOWED
def test_it_filters_deliveries_by_status_and_board(api_client, user, organization, board):
    other_board = BoardFactory(organization=organization)
    subscription, _ = subscribe(user=user, organization=organization, url=URL)
    dead = make_delivery(subscription, board=board)
    make_delivery(subscription, board=other_board)
    make_delivery(subscription, board=board, status=DeliveryStatus.SUCCEEDED)

    response = api_client.get(f"/api/v1/deliveries/?status=dead&board={board.pk}")

    assert [row["id"] for row in response.json()["results"]] == [dead.pk]


@ALLOWED
def test_it_shows_a_delivery_with_its_attempts(
    api_client, user, organization, board, django_assert_max_num_queries
):
    subscription, _ = subscribe(user=user, organization=organization, board=board, url=URL)
    delivery = make_delivery(subscription, attempts=3)

    with django_assert_max_num_queries(5):
        body = api_client.get(f"/api/v1/deliveries/{delivery.pk}/").json()

    assert [a["number"] for a in body["attempts"]] == [1, 2, 3]
    assert body["payload"] == {"type": "task.created"}


@ALLOWED
def test_it_replays_one_delivery_as_a_new_series(
    api_client, user, organization, board, django_capture_on_commit_callbacks
):
    subscription, _ = subscribe(user=user, organization=organization, board=board, url=URL)
    delivery = make_delivery(subscription, attempts=4)

    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(f"/api/v1/deliveries/{delivery.pk}/replay/")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "pending" and response.json()["attempt_count"] == 0
    assert len(callbacks) >= 1  # enqueued on commit
    assert ActivityEvent.objects.filter(verb="delivery.replayed", target_id=str(delivery.pk)).exists()
    assert api_client.post(f"/api/v1/deliveries/{delivery.pk}/replay/").status_code == 409


@ALLOWED
def test_it_refuses_to_replay_into_a_disabled_subscription(api_client, user, organization, board):
    subscription, _ = subscribe(user=user, organization=organization, board=board, url=URL)
    delivery = make_delivery(subscription)
    Subscription.objects.filter(pk=subscription.pk).update(enabled=False)

    response = api_client.post(f"/api/v1/deliveries/{delivery.pk}/replay/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "subscription_disabled"


@ALLOWED
def test_it_bulk_replays_dead_letters_of_a_board_only_where_the_caller_is_admin(
    api_client, user, organization, board, outsider, other_organization
):
    subscription, _ = subscribe(user=user, organization=organization, board=board, url=URL)
    dead = [make_delivery(subscription) for _ in range(3)]
    failed = make_delivery(subscription, status=DeliveryStatus.FAILED)
    done = make_delivery(subscription, status=DeliveryStatus.SUCCEEDED)
    foreign, _ = subscribe(user=outsider, organization=other_organization, url=URL)
    foreign_dead = make_delivery(foreign)

    response = api_client.post("/api/v1/deliveries/replay/", {"status": "dead"}, format="json")

    assert response.status_code == 202
    assert sorted(response.json()["ids"]) == [d.pk for d in dead]
    assert Delivery.objects.get(pk=failed.pk).status == DeliveryStatus.FAILED
    assert Delivery.objects.get(pk=done.pk).status == DeliveryStatus.SUCCEEDED
    assert Delivery.objects.get(pk=foreign_dead.pk).status == DeliveryStatus.DEAD
    assert ActivityEvent.objects.filter(verb="delivery.replayed").count() == 1  # one per board


def test_bulk_replay_needs_criteria(api_client):
    response = api_client.post("/api/v1/deliveries/replay/", {}, format="json")
    assert response.status_code == 400
    assert "ids" in response.json()["error"]["fields"]


def test_an_operator_cannot_replay(api_client, teammate, user, organization, board):
    with ALLOWED:
        subscription, _ = subscribe(user=user, organization=organization, board=board, url=URL)
    delivery = make_delivery(subscription)
    api_client.force_login(teammate)

    assert api_client.post(f"/api/v1/deliveries/{delivery.pk}/replay/").status_code == 403


def test_an_admin_gets_an_agents_signing_secret_and_others_do_not(api_client, organization, outsider):
    agent = AgentFactory(organization=organization, callback_url="https://agent.example/cb")

    response = api_client.post("/api/v1/agent-signing-secrets/", {"agent": agent.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["secret"] == agent_signing_secret(agent.pk)
    assert response["Cache-Control"] == "no-store"
    api_client.force_login(outsider)
    response = api_client.post("/api/v1/agent-signing-secrets/", {"agent": agent.pk}, format="json")
    assert response.status_code == 404


@ALLOWED
def test_it_accepts_50_event_types_and_refuses_51(api_client, board):
    registered = [t.name for t in registry.event_types() if outbound.event_is_subscribable(t.name)]
    verbs = (registered * 2)[:51]  # the limit counts entries as sent
    at_limit = api_client.post(
        "/api/v1/subscriptions/",
        {"board": board.pk, "target_url": URL, "event_types": verbs[:50]},
        format="json",
    )
    over = api_client.post(
        "/api/v1/subscriptions/", {"board": board.pk, "target_url": URL, "event_types": verbs}, format="json"
    )
    assert at_limit.status_code == 201
    assert over.status_code == 400 and "event_types" in over.json()["error"]["fields"]


@ALLOWED
def test_it_refuses_an_unknown_event_type(api_client, board):
    response = api_client.post(
        "/api/v1/subscriptions/",
        {"board": board.pk, "target_url": URL, "event_types": ["bogus.event"]},
        format="json",
    )
    assert response.status_code == 400
    assert "not an event type" in str(response.json()["error"]["fields"]["event_types"])


@ALLOWED
def test_it_refuses_to_subscribe_to_delivery_events(api_client, board):
    response = api_client.post(
        "/api/v1/subscriptions/",
        {"board": board.pk, "target_url": URL, "event_types": ["delivery.dead"]},
        format="json",
    )
    assert response.status_code == 400 and "event_types" in response.json()["error"]["fields"]


def test_bulk_replay_takes_at_most_1000_ids(api_client):
    at_limit = api_client.post("/api/v1/deliveries/replay/", {"ids": list(range(1, 1001))}, format="json")
    over = api_client.post("/api/v1/deliveries/replay/", {"ids": list(range(1, 1002))}, format="json")
    assert at_limit.status_code == 202 and at_limit.json()["replayed"] == 0
    assert over.status_code == 400
