"""Personal API tokens: shown once, stored as a digest, scoped to the owner's roles, revocable."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core import services as core_services
from core.models import PersonalToken
from infra.exceptions import DomainError


def token_client(raw: str) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def test_a_token_is_stored_only_as_its_digest(user):
    token, raw = core_services.create_personal_token(user=user, name="ci")
    assert raw.startswith("mcp_") and raw not in str(PersonalToken.objects.values().get())
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()


def test_a_token_authenticates_api_calls_without_csrf(user, board):
    _, raw = core_services.create_personal_token(user=user, name="ci")
    client = token_client(raw)
    assert client.get("/api/v1/boards/").json()["results"][0]["id"] == board.pk
    response = client.post("/api/v1/tasks/", {"board": board.pk, "title": "From a script"}, format="json")
    assert response.status_code == 201
    assert PersonalToken.objects.get().last_used_at is not None


def test_a_token_carries_its_owners_role_only(viewer, board):
    _, raw = core_services.create_personal_token(user=viewer, name="ro")
    client = token_client(raw)
    assert client.get("/api/v1/tasks/").status_code == 200
    assert client.post("/api/v1/tasks/", {"board": board.pk, "title": "x"}, format="json").status_code == 403


@pytest.mark.parametrize("state", ["revoked", "expired", "wrong_secret", "malformed"])
def test_a_bad_token_gets_401_and_is_logged_without_the_token(user, board, state, caplog):
    token, raw = core_services.create_personal_token(user=user, name="ci")
    if state == "revoked":
        core_services.revoke_personal_token(token=token, user=user)
    elif state == "expired":
        PersonalToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "wrong_secret":
        raw = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    else:
        raw = "not-a-token"
    with caplog.at_level(logging.WARNING):
        response = token_client(raw).get("/api/v1/boards/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert raw not in caplog.text and token.public_id not in caplog.text


def test_repeated_failures_are_rate_limited(user, settings):
    settings.AGENT_AUTH_RATE = "3/60s"
    codes = [
        token_client("mcp_0000000000000000_" + "x" * 43).get("/api/v1/boards/").status_code for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]


def test_the_api_creates_shows_once_lists_and_revokes(api_client, user):
    client = APIClient()
    client.force_login(user)
    response = client.post(
        "/api/v1/personal-tokens/", {"name": "deploy", "expires_in_days": 30}, format="json"
    )
    assert response.status_code == 201
    raw = response.json()["token"]
    listed = client.get("/api/v1/personal-tokens/").json()["results"]
    assert "token" not in listed[0] and raw not in str(listed)
    assert (
        client.post(
            "/api/v1/personal-tokens/", {"name": "x", "expires_in_days": 366}, format="json"
        ).status_code
        == 400
    )
    assert client.delete(f"/api/v1/personal-tokens/{listed[0]['id']}/").status_code == 204
    assert token_client(raw).get("/api/v1/boards/").status_code == 401


def test_someone_elses_token_cannot_be_revoked(user, teammate):
    token, _ = core_services.create_personal_token(user=user, name="mine")
    client = APIClient()
    client.force_login(teammate)
    assert client.delete(f"/api/v1/personal-tokens/{token.pk}/").status_code == 404
    with pytest.raises(DomainError):
        core_services.revoke_personal_token(token=token, user=teammate)


def test_the_tokens_page_shows_a_new_token_once(client, user):
    client.force_login(user)
    response = client.post("/tokens/", {"action": "create", "name": "laptop"})
    raw = PersonalToken.objects.get()
    html = response.content.decode()
    assert response.status_code == 200 and 'id="new-token" value="mcp_' in html
    assert response["Cache-Control"] == "no-store"
    assert "mcp_" not in client.get("/tokens/").content.decode()
    client.post("/tokens/", {"action": "revoke", "token": raw.pk})
    assert PersonalToken.objects.get().revoked_at is not None
