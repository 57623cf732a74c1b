"""Fixtures for webhook rules: a signed webhook with the GitHub preset, and stored payloads."""

from __future__ import annotations

import json

import pytest

from core.actors import Actor
from tests.webhook_rules.github import github_headers
from tests.webhooks_inbound import conftest as inbound
from webhook_rules import services as rule_services
from webhooks import services as webhook_services

# The inbound suite's signed webhook (its secret is SECRET) and its fast password hashing.
SECRET = inbound.SECRET
webhook = inbound.webhook
_fast_password_hashing = inbound._fast_password_hashing


@pytest.fixture
def github_webhook(webhook, user):
    rule_services.apply_preset(webhook=webhook, actor=Actor.for_user(user), preset="github")
    return webhook


def store(webhook, body: dict, *, event: str = "issues", delivery: str | None = None):
    """Store a payload the way ingest does (without running the rules: the tests apply them)."""
    headers = github_headers(event, delivery)
    result = webhook_services.ingest_webhook_payload(
        webhook=webhook,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers=headers,
        delivery_id=headers["x-github-delivery"],
    )
    return result.payload
