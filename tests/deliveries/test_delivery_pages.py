"""Pages: dead letters (global, per board), delivery timeline, htmx replay, subscriptions."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from deliveries.models import Delivery, DeliveryStatus, Subscription
from tests.deliveries.factories import subscribe
from tests.deliveries.test_delivery_api import make_delivery
from tests.factories import BoardFactory

ALLOWED = override_settings(DELIVERY_ALLOWED_HOSTS=["hooks.internal.test"])
URL = "https://hooks.internal.test/in"


@pytest.fixture
def client_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def subscription(user, organization, board):
    with ALLOWED:
        return subscribe(user=user, organization=organization, board=board, url=URL)[0]


@pytest.mark.parametrize("rows", [1, 20])
def test_the_dead_letter_list_shows_dead_and_failed_in_constant_queries(
    client_for, user, subscription, rows, django_assert_max_num_queries
):
    dead = [make_delivery(subscription) for _ in range(rows)]
    failed = make_delivery(subscription, status=DeliveryStatus.FAILED)
    done = make_delivery(subscription, status=DeliveryStatus.SUCCEEDED)
    client = client_for(user)

    with django_assert_max_num_queries(10):
        response = client.get("/deliveries/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="delivery-{dead[0].pk}"' in html and f'id="delivery-{failed.pk}"' in html
    assert f'id="delivery-{done.pk}"' not in html
    assert "Replay all dead and failed" in html


def test_a_board_page_lists_only_that_boards_deliveries(client_for, user, organization, subscription, board):
    here = make_delivery(subscription, board=board)
    elsewhere = make_delivery(subscription, board=BoardFactory(organization=organization))

    html = client_for(user).get(f"/deliveries/boards/{board.pk}/?status=all").content.decode()

    assert f'id="delivery-{here.pk}"' in html and f'id="delivery-{elsewhere.pk}"' not in html


def test_the_status_filter_shows_what_it_selects(client_for, user, subscription, board):
    dead = make_delivery(subscription, board=board)
    done = make_delivery(subscription, board=board, status=DeliveryStatus.SUCCEEDED)
    client = client_for(user)
    unfiltered = client.get(f"/deliveries/boards/{board.pk}/").content.decode()
    # Showing everything, the menu says "Any" (it said "Dead and failed" while showing all).
    assert '<option value="all" selected>' in unfiltered
    assert f'id="delivery-{done.pk}"' in unfiltered
    only_dead = client.get(f"/deliveries/boards/{board.pk}/?status=dead_letters").content.decode()
    assert '<option value="dead_letters" selected>' in only_dead
    assert f'id="delivery-{dead.pk}"' in only_dead and f'id="delivery-{done.pk}"' not in only_dead


def test_the_deliveries_page_is_titled_deliveries(client_for, user):
    html = client_for(user).get("/deliveries/").content.decode()
    assert "<title>Deliveries · Mission Control</title>" in html


def test_outsiders_see_nothing(client_for, outsider, subscription, board):
    delivery = make_delivery(subscription)
    client = client_for(outsider)

    assert f'id="delivery-{delivery.pk}"' not in client.get("/deliveries/").content.decode()
    assert client.get(f"/deliveries/{delivery.pk}/").status_code == 404
    assert client.get(f"/deliveries/boards/{board.pk}/").status_code == 404
    assert client.get(f"/deliveries/subscriptions/{subscription.pk}/").status_code == 404
    assert client.post(f"/deliveries/{delivery.pk}/replay").status_code == 404


def test_the_detail_page_shows_the_attempts_timeline(client_for, user, subscription):
    delivery = make_delivery(subscription, attempts=3)

    html = client_for(user).get(f"/deliveries/{delivery.pk}/").content.decode()

    assert html.count('<li class="attempt') == 3 and "HTTP 500" in html
    assert "<script>" not in html.split("</head>", 1)[1]


def test_htmx_replay_swaps_the_row(client_for, user, subscription):
    delivery = make_delivery(subscription)

    response = client_for(user).post(f"/deliveries/{delivery.pk}/replay", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert f'id="delivery-{delivery.pk}"' in response.content.decode()
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.PENDING


def test_a_viewer_cannot_replay(client_for, viewer, subscription):
    delivery = make_delivery(subscription)
    assert client_for(viewer).post(f"/deliveries/{delivery.pk}/replay").status_code == 403
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DEAD


def test_bulk_replay_from_the_page(client_for, user, subscription):
    deliveries = [make_delivery(subscription) for _ in range(3)]

    response = client_for(user).post(
        "/deliveries/replay", {"subscription": subscription.pk}, HTTP_HX_REQUEST="true"
    )

    assert "Replaying 3 deliveries" in response.content.decode()
    statuses = Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).values_list("status", flat=True)
    assert set(statuses) == {DeliveryStatus.PENDING}


@ALLOWED
def test_an_admin_creates_a_subscription_and_sees_the_secret_once(client_for, user, organization, board):
    client = client_for(user)
    response = client.post(
        "/deliveries/subscriptions/",
        {
            "organization": organization.pk,
            "board": board.pk,
            "target_url": URL,
            "event_types": ["task.created", "task.status_changed"],
            "enabled": "on",
        },
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    subscription = Subscription.objects.get()
    assert subscription.event_types == ["task.created", "task.status_changed"]
    assert "whsec_" in response.content.decode()
    assert "whsec_" not in client.get(f"/deliveries/subscriptions/{subscription.pk}/").content.decode()


def test_the_form_refuses_an_internal_target(client_for, user, organization):
    response = client_for(user).post(
        "/deliveries/subscriptions/",
        {
            "organization": organization.pk,
            "target_url": "http://169.254.169.254/latest",
            "enabled": "on",
        },
    )
    assert response.status_code == 200
    assert "private, loopback" in response.content.decode()
    assert not Subscription.objects.exists()


def test_a_disabled_subscription_shows_a_banner(client_for, user, subscription):
    Subscription.objects.filter(pk=subscription.pk).update(
        enabled=False, disabled_reason="Disabled automatically after 5 consecutive dead deliveries."
    )
    html = client_for(user).get(f"/deliveries/subscriptions/{subscription.pk}/").content.decode()
    assert "banner-warn" in html and "5 consecutive dead" in html


@ALLOWED
def test_an_admin_edits_a_subscription(client_for, user, subscription, board):
    response = client_for(user).post(
        f"/deliveries/subscriptions/{subscription.pk}/",
        {
            "board": board.pk,
            "target_url": URL,
            "event_types": ["task.status_changed"],
            "description": "CI",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.event_types == ["task.status_changed"] and subscription.description == "CI"


def test_the_form_refuses_an_unknown_event_type(client_for, user, organization):
    response = client_for(user).post(
        "/deliveries/subscriptions/",
        {
            "organization": organization.pk,
            "target_url": URL,
            "event_types": ["bogus.event"],
            "enabled": "on",
        },
    )
    assert response.status_code == 200
    assert "bogus.event is not one of the available choices" in response.content.decode()
    assert not Subscription.objects.exists()


def test_the_form_offers_event_types_by_category_with_human_names(client_for, user, organization):
    html = client_for(user).get("/deliveries/subscriptions/").content.decode()
    assert "Task moved (task.status_changed)" in html and "Tasks" in html
    assert 'value="delivery.dead"' not in html
    # One organization: preselected.
    assert f'<option value="{organization.pk}" selected>' in html


def test_a_teammate_cannot_edit_a_subscription(client_for, teammate, subscription):
    response = client_for(teammate).post(
        f"/deliveries/subscriptions/{subscription.pk}/", {"description": "x"}
    )
    assert response.status_code == 403
