"""The webhook pages: index, a board's webhooks, create/rotate (secret once), the payload log."""

from __future__ import annotations

import pytest
from django.test import Client

from core.actors import Actor
from core.encryption import decrypt_secret
from tests.factories import BoardFactory
from tests.webhooks_inbound.conftest import SECRET
from webhooks import services
from webhooks.models import BoardWebhook, WebhookPayload

pytestmark = pytest.mark.django_db


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_index_lists_webhooks_of_the_users_boards_only(webhook, user, outsider, other_organization):
    hidden, _ = services.create_webhook(
        board=BoardFactory(organization=other_organization),
        actor=Actor.system(),
        description="Secret project",
    )
    response = _client_for(user).get("/webhooks/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'href="/webhooks/{webhook.pk}/"' in page
    assert "Secret project" not in page and f'href="/webhooks/{hidden.pk}/"' not in page
    assert f'href="/webhooks/{webhook.pk}/"' not in _client_for(outsider).get("/webhooks/").content.decode()


def test_the_index_needs_a_login(client):
    assert client.get("/webhooks/").status_code == 302


def test_an_admin_creates_a_webhook_and_sees_the_secret_once(board, user):
    client = _client_for(user)
    response = client.post(f"/webhooks/boards/{board.pk}/", {"description": "GitHub", "signature_header": ""})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    webhook = BoardWebhook.objects.get(description="GitHub")
    secret = decrypt_secret(webhook.secret_ciphertext)
    page = response.content.decode()
    assert secret in page
    assert services.webhook_url(webhook) in page
    assert "openssl dgst -sha256 -hmac" in page and "X-Hub-Signature-256" in page
    for later in (f"/webhooks/{webhook.pk}/", f"/webhooks/boards/{board.pk}/", "/webhooks/"):
        assert secret not in client.get(later).content.decode()


def test_an_unsigned_webhook_is_an_explicit_choice(board, user):
    response = _client_for(user).post(
        f"/webhooks/boards/{board.pk}/", {"description": "open", "unsigned": "on"}
    )
    assert response.status_code == 200
    assert BoardWebhook.objects.get(description="open").secret_ciphertext == ""
    assert "unsigned" in response.content.decode()


def test_an_invalid_form_is_shown_again_with_errors(board, user):
    response = _client_for(user).post(f"/webhooks/boards/{board.pk}/", {"signature_header": "bad header!"})
    assert response.status_code == 400
    assert not BoardWebhook.objects.exists()


def test_members_see_webhooks_but_cannot_manage_them(board, webhook, viewer):
    client = _client_for(viewer)
    page = client.get(f"/webhooks/boards/{board.pk}/")
    assert page.status_code == 200 and "New webhook" not in page.content.decode()
    assert client.post(f"/webhooks/boards/{board.pk}/", {"description": "x"}).status_code == 403
    detail = client.get(f"/webhooks/{webhook.pk}/").content.decode()
    assert "Rotate secret" not in detail
    client.post(f"/webhooks/{webhook.pk}/enabled/", {"enabled": "0"})
    client.post(f"/webhooks/{webhook.pk}/delete/")
    assert BoardWebhook.objects.get(pk=webhook.pk).enabled is True


def test_outsiders_get_404(board, webhook, outsider):
    client = _client_for(outsider)
    payload = services.ingest_webhook_payload(webhook=webhook, body=b"{}").payload
    urls = (f"/webhooks/boards/{board.pk}/", f"/webhooks/{webhook.pk}/", f"/webhooks/payloads/{payload.pk}/")
    for url in urls:
        assert client.get(url).status_code == 404
    assert client.post(f"/webhooks/{webhook.pk}/rotate/", {"grace_seconds": "0"}).status_code == 404


def test_an_admin_disables_rotates_and_deletes(board, webhook, user):
    client = _client_for(user)
    assert client.post(f"/webhooks/{webhook.pk}/enabled/", {"enabled": "0"}).status_code == 302
    assert BoardWebhook.objects.get(pk=webhook.pk).enabled is False
    response = client.post(f"/webhooks/{webhook.pk}/rotate/", {"grace_seconds": "3600"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    webhook.refresh_from_db()
    new = decrypt_secret(webhook.secret_ciphertext)
    assert new != SECRET and new in response.content.decode()
    assert services.webhook_secrets(webhook) == [new, SECRET]
    assert client.post(f"/webhooks/{webhook.pk}/rotate/", {"grace_seconds": "999"}).status_code == 302
    assert client.post(f"/webhooks/{webhook.pk}/delete/").status_code == 302
    assert not BoardWebhook.objects.exists()


def test_the_payload_log_lists_and_filters_payloads(webhook, viewer):
    good = services.ingest_webhook_payload(webhook=webhook, body=b'{"a":1}', content_type="application/json")
    bad = services.ingest_webhook_payload(webhook=webhook, body=b"{", content_type="application/json")
    client = _client_for(viewer)
    page = client.get(f"/webhooks/{webhook.pk}/").content.decode()
    assert f'data-payload-id="{good.payload.pk}"' in page and f'data-payload-id="{bad.payload.pk}"' in page
    filtered = client.get(f"/webhooks/{webhook.pk}/?status=invalid_json").content.decode()
    assert f'data-payload-id="{bad.payload.pk}"' in filtered
    assert f'data-payload-id="{good.payload.pk}"' not in filtered


def test_the_payload_viewer_escapes_attacker_controlled_content(webhook, viewer):
    body = b'{"title": "<script>alert(1)</script>", "x": "</pre><img src=x onerror=alert(2)>"}'
    payload = services.ingest_webhook_payload(
        webhook=webhook,
        body=body,
        content_type="application/json",
        headers={"x-evil": "<svg onload=alert(3)>", "x-hub-signature-256": "sha256=abc"},
    ).payload
    response = _client_for(viewer).get(f"/webhooks/payloads/{payload.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "<svg onload" not in page
    assert "[redacted]" in page and "sha256=abc" not in page
    assert "&quot;title&quot;: &quot;&lt;script&gt;" in page  # pretty-printed JSON


def test_the_payload_viewer_shows_binary_bodies_safely(webhook, viewer):
    payload = services.ingest_webhook_payload(
        webhook=webhook, body=b"\xff\xfe<b>", content_type="application/octet-stream"
    ).payload
    page = _client_for(viewer).get(f"/webhooks/payloads/{payload.pk}/").content.decode()
    assert "&lt;b&gt;" in page


def test_replay_to_agent_from_the_viewer(webhook, user):
    payload = services.ingest_webhook_payload(webhook=webhook, body=b"{}").payload
    response = _client_for(user).post(f"/webhooks/payloads/{payload.pk}/replay/", follow=True)
    assert response.status_code == 200
    assert "no target agent" in response.content.decode()
    assert WebhookPayload.objects.count() == 1
