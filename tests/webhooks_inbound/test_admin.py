"""Django admin for webhooks: secrets and ciphertexts never shown, changes through services."""

from __future__ import annotations

import pytest
from django.test import Client

from activity.models import ActivityEvent
from tests.factories import UserFactory
from tests.webhooks_inbound.conftest import SECRET
from webhooks import services
from webhooks.models import BoardWebhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_admin_never_shows_a_secret_or_its_ciphertext(admin_client, webhook):
    webhook.refresh_from_db()
    for url in ("/admin/webhooks/boardwebhook/", f"/admin/webhooks/boardwebhook/{webhook.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert SECRET not in page
        assert webhook.secret_ciphertext not in page
        assert "secret_ciphertext" not in page


def test_the_admin_cannot_add_webhooks(admin_client):
    assert admin_client.get("/admin/webhooks/boardwebhook/add/").status_code == 403


def test_admin_changes_go_through_the_services(admin_client, webhook):
    response = admin_client.post(
        f"/admin/webhooks/boardwebhook/{webhook.pk}/change/",
        {
            "description": "renamed",
            "enabled": "",
            "signature_header": "",
            "target_agent": "",
            "task_title_template": "",
        },
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.description, webhook.enabled) == ("renamed", False)
    assert ActivityEvent.objects.filter(verb="webhook.updated").exists()


def test_the_payload_admin_is_read_only(admin_client, webhook):
    payload = services.ingest_webhook_payload(webhook=webhook, body=b'{"a":1}').payload
    assert admin_client.get("/admin/webhooks/webhookpayload/").status_code == 200
    assert admin_client.get(f"/admin/webhooks/webhookpayload/{payload.pk}/change/").status_code == 200
    assert BoardWebhook.objects.count() == 1
