"""Fixtures for inbound webhooks: a signed webhook with a known secret and a way to post to it."""

from __future__ import annotations

import pytest
from django.test import Client

from core.actors import Actor
from core.signing import sha256_signature
from webhooks import services

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 costs most of a second per user on a busy CI machine; these tests are not about it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def webhook(board, user):
    created, _ = services.create_webhook(
        board=board, actor=Actor.for_user(user), description="CI", secret=SECRET
    )
    return created


@pytest.fixture
def unsigned_webhook(board, user):
    created, _ = services.create_webhook(
        board=board, actor=Actor.for_user(user), description="open", secret=""
    )
    return created


@pytest.fixture
def sender():
    """A client with no session and CSRF checks on, like any outside sender."""
    return Client(enforce_csrf_checks=True)


def ingest_path(webhook) -> str:
    return f"/api/v1/boards/{webhook.board_id}/webhooks/{webhook.pk}"


def post_signed(
    client,
    webhook,
    body: bytes,
    *,
    secret: str = SECRET,
    header: str = "X-Hub-Signature-256",
    content_type: str = "application/json",
    **extra,
):
    headers = {header: sha256_signature(secret, body), **extra.pop("headers", {})}
    return client.post(ingest_path(webhook), data=body, content_type=content_type, headers=headers, **extra)
