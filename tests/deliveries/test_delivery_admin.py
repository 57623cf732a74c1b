"""Admin: dead letters with their attempts inline, replay as an action, no secret anywhere."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from deliveries.models import Delivery, DeliveryStatus
from tests.deliveries.factories import subscribe
from tests.deliveries.test_delivery_api import make_delivery
from tests.factories import UserFactory


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def subscription(user, organization, board):
    with override_settings(DELIVERY_ALLOWED_HOSTS=["hooks.internal.test"]):
        return subscribe(
            user=user, organization=organization, board=board, url="https://hooks.internal.test/"
        )[0]


def test_the_admin_lists_dead_letters_and_shows_attempts(admin_client, subscription):
    delivery = make_delivery(subscription, attempts=2)

    assert admin_client.get("/admin/deliveries/delivery/?status__exact=dead").status_code == 200
    page = admin_client.get(f"/admin/deliveries/delivery/{delivery.pk}/change/").content.decode()
    assert "deliveryattempt" in page.lower()
    subscription_page = admin_client.get(f"/admin/deliveries/subscription/{subscription.pk}/change/")
    assert subscription_page.status_code == 200
    assert "whsec_" not in subscription_page.content.decode()


def test_the_admin_replays_selected_deliveries(admin_client, subscription):
    dead, failed, done = (
        make_delivery(subscription, status=status)
        for status in (DeliveryStatus.DEAD, DeliveryStatus.FAILED, DeliveryStatus.SUCCEEDED)
    )

    response = admin_client.post(
        "/admin/deliveries/delivery/",
        {
            "action": "replay",
            "_selected_action": [dead.pk, failed.pk, done.pk],
        },
    )

    assert response.status_code == 302
    statuses = dict(Delivery.objects.values_list("id", "status"))
    assert statuses == {dead.pk: "pending", failed.pk: "pending", done.pk: "succeeded"}
