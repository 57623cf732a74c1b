"""The human API: /api/v1/webhooks/ CRUD scoped by membership, rotation, the payload log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.actors import Actor
from tests.factories import BoardFactory
from tests.webhooks_inbound.conftest import SECRET
from webhooks import services
from webhooks.models import BoardWebhook, WebhookPayload

pytestmark = pytest.mark.django_db


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_creating_returns_the_secret_once_and_reads_never_do(board, user):
    client = _client_for(user)
    response = client.post("/api/v1/webhooks/", {"board": board.pk, "description": "GitHub"}, format="json")
    assert response.status_code == 201
    secret = response.json()["secret"]
    assert secret.startswith("whsec_")
    assert response["Cache-Control"] == "no-store"
    assert response.json()["url"].endswith(f"/api/v1/boards/{board.pk}/webhooks/{response.json()['id']}")
    detail = client.get(f"/api/v1/webhooks/{response.json()['id']}/")
    listing = client.get("/api/v1/webhooks/")
    for read in (detail, listing):
        assert read.status_code == 200
        assert secret not in read.content.decode()
        assert "secret_ciphertext" not in read.content.decode()
    assert detail.json()["signed"] is True


def test_creating_an_unsigned_webhook_is_explicit(board, user):
    response = _client_for(user).post(
        "/api/v1/webhooks/", {"board": board.pk, "unsigned": True}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["secret"] is None and response.json()["signed"] is False


def test_creating_validates_fields(board, user, other_organization):
    other_board = BoardFactory(organization=other_organization)
    client = _client_for(user)
    response = client.post("/api/v1/webhooks/", {"board": other_board.pk}, format="json")
    assert response.status_code == 400
    assert "board" in response.json()["error"]["fields"]
    response = client.post("/api/v1/webhooks/", {"board": board.pk, "secret": "short"}, format="json")
    assert "secret" in response.json()["error"]["fields"]
    response = client.post("/api/v1/webhooks/", {"board": board.pk, "signature_header": "a b"}, format="json")
    assert response.status_code == 400


def test_members_read_but_only_admins_write(board, webhook, viewer, teammate):
    for member in (viewer, teammate):
        client = _client_for(member)
        assert client.get(f"/api/v1/webhooks/{webhook.pk}/").status_code == 200
        assert client.post("/api/v1/webhooks/", {"board": board.pk}, format="json").status_code == 403
        assert (
            client.patch(f"/api/v1/webhooks/{webhook.pk}/", {"enabled": False}, format="json").status_code
            == 403
        )
        assert client.post(f"/api/v1/webhooks/{webhook.pk}/rotate/", {}, format="json").status_code == 403
        assert client.delete(f"/api/v1/webhooks/{webhook.pk}/").status_code == 403
    assert BoardWebhook.objects.get(pk=webhook.pk).enabled is True


def test_outsiders_get_404_for_everything(webhook, outsider):
    client = _client_for(outsider)
    assert client.get("/api/v1/webhooks/").json()["results"] == []
    assert client.get(f"/api/v1/webhooks/{webhook.pk}/").status_code == 404
    assert client.post(f"/api/v1/webhooks/{webhook.pk}/rotate/", {}, format="json").status_code == 404
    assert client.get(f"/api/v1/webhooks/{webhook.pk}/payloads/").status_code == 404
    assert client.delete(f"/api/v1/webhooks/{webhook.pk}/").status_code == 404


def test_anonymous_callers_are_refused(anon_client, webhook):
    # 401 with a challenge, like every human API since they all take personal tokens.
    response = anon_client.get("/api/v1/webhooks/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_admins_update_disable_and_delete(webhook, user):
    client = _client_for(user)
    response = client.patch(
        f"/api/v1/webhooks/{webhook.pk}/", {"enabled": False, "description": "x"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["enabled"] is False and response.json()["description"] == "x"
    assert client.delete(f"/api/v1/webhooks/{webhook.pk}/").status_code == 204
    assert not BoardWebhook.objects.exists()


def test_rotate_returns_the_new_secret_and_the_grace_deadline(webhook, user):
    response = _client_for(user).post(
        f"/api/v1/webhooks/{webhook.pk}/rotate/", {"grace_seconds": 3600}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != SECRET
    assert body["grace_until"] is not None
    webhook.refresh_from_db()
    assert services.webhook_secrets(webhook) == [body["secret"], SECRET]


def test_rotate_refuses_a_grace_out_of_range(webhook, user):
    response = _client_for(user).post(
        f"/api/v1/webhooks/{webhook.pk}/rotate/", {"grace_seconds": -5}, format="json"
    )
    assert response.status_code == 400
    assert "grace_seconds" in response.json()["error"]["fields"]


def _store(webhook, count: int) -> list[WebhookPayload]:
    return [
        services.ingest_webhook_payload(
            webhook=webhook,
            body=b'{"n": %d}' % n,
            content_type="application/json",
            headers={"x-hub-signature-256": "sha256=abc", "x-github-event": "push"},
        ).payload
        for n in range(count)
    ]


def test_the_payload_list_is_paginated_newest_first_without_bodies(webhook, viewer):
    payloads = _store(webhook, 3)
    response = _client_for(viewer).get(f"/api/v1/webhooks/{webhook.pk}/payloads/?limit=2")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and len(body["results"]) == 2
    assert [row["id"] for row in body["results"]] == [payloads[2].pk, payloads[1].pk]
    assert body["results"][0]["size"] == len(b'{"n": 2}')
    assert body["results"][0]["status"] == "json"
    assert "body_text" not in body["results"][0]


def test_the_payload_detail_has_body_headers_and_parsed_json(webhook, viewer):
    payload = _store(webhook, 1)[0]
    response = _client_for(viewer).get(f"/api/v1/webhooks/{webhook.pk}/payloads/{payload.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["body_text"] == '{"n": 0}' and body["payload"] == {"n": 0}
    assert body["headers"]["x-hub-signature-256"] == "[redacted]"


def test_the_payload_log_filters_by_status_and_date(webhook, viewer):
    stored = _store(webhook, 1)[0]
    broken = services.ingest_webhook_payload(webhook=webhook, body=b"{", content_type="application/json")
    raw = services.ingest_webhook_payload(webhook=webhook, body=b"x", content_type="text/plain")
    WebhookPayload.objects.filter(pk=stored.pk).update(received_at=timezone.now() - timedelta(days=3))
    client = _client_for(viewer)
    url = f"/api/v1/webhooks/{webhook.pk}/payloads/"

    def ids(query: str) -> set[int]:
        response = client.get(url + query)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids("?status=invalid_json") == {broken.payload.pk}
    assert ids("?status=raw") == {raw.payload.pk}
    assert ids("?status=json") == {stored.pk}
    today = timezone.now().date()
    assert ids(f"?received_from={today}") == {broken.payload.pk, raw.payload.pk}
    assert ids(f"?received_to={today - timedelta(days=1)}") == {stored.pk}
    assert client.get(url + "?status=bogus").status_code == 400


@pytest.mark.parametrize("count", [1, 30])
def test_the_lists_use_a_constant_number_of_queries(
    webhook, board, user, count, django_assert_max_num_queries
):
    _store(webhook, count)
    for _ in range(count):
        services.create_webhook(board=board, actor=Actor.for_user(user))
    client = _client_for(user)
    with django_assert_max_num_queries(6):
        assert client.get(f"/api/v1/webhooks/{webhook.pk}/payloads/").status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get("/api/v1/webhooks/").status_code == 200


def test_replay_needs_an_agent_and_an_operator(webhook, viewer, user):
    payload = _store(webhook, 1)[0]
    url = f"/api/v1/webhooks/{webhook.pk}/payloads/{payload.pk}/replay/"
    assert _client_for(viewer).post(url).status_code == 403
    response = _client_for(user).post(url)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_agent"


def test_out_of_range_ids_are_a_4xx_not_a_500(webhook, user):
    client = _client_for(user)
    big = "99999999999999999999999"
    assert client.get(f"/api/v1/webhooks/?board={big}").status_code == 400
    assert client.get(f"/api/v1/webhooks/{big}/").status_code == 404
    assert client.get(f"/api/v1/webhooks/{webhook.pk}/payloads/{big}/").status_code == 404


def test_the_format_suffixed_rotate_route_works(webhook, user):
    response = _client_for(user).post(f"/api/v1/webhooks/{webhook.pk}/rotate.json/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["secret"].startswith("whsec_")
