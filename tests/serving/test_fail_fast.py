"""Fail fast when PostgreSQL is stuck: through nginx and gunicorn with the shipped timeouts, an
ingest that waits on a lock ends in 503 with nothing stored, before the proxy's timeout.

The drill (PostgreSQL stopped 20 s at 20 webhooks/s) got 659 responses 504 from nginx at 30 s for
payloads that were all committed later: a sender without a delivery id resent and duplicated
them. DB_STATEMENT_TIMEOUT_MS (10 s) < SERVER_TIMEOUT_SECONDS (30 s) makes the answer honest.
"""

from __future__ import annotations

import json
import time

import httpx
import psycopg
import pytest
from django.conf import settings
from django.db import connection

from core.actors import Actor
from core.signing import sha256_signature
from ops.backups import PgConnection
from tests.conftest import requires_postgres, requires_redis
from webhooks import services
from webhooks.models import WebhookPayload

pytestmark = [requires_postgres, requires_redis, pytest.mark.django_db(transaction=True)]

SECRET = "whsec_ZmFpbC1mYXN0LXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODk"


def test_the_shipped_statement_timeout_is_shorter_than_the_proxy_timeout():
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["options"] == f"-c statement_timeout={settings.DB_STATEMENT_TIMEOUT_MS}"
    assert options["connect_timeout"] == settings.DB_CONNECT_TIMEOUT_SECONDS
    assert settings.DB_STATEMENT_TIMEOUT_MS < settings.SERVER_TIMEOUT_SECONDS * 1000
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == f"{settings.DB_STATEMENT_TIMEOUT_MS // 1000}s"


def test_an_ingest_blocked_by_a_lock_answers_503_before_the_proxy_timeout_and_stores_nothing(
    layout, user, board
):
    webhook, _ = services.create_webhook(
        board=board, actor=Actor.for_user(user), description="ci", secret=SECRET
    )
    body = json.dumps({"action": "deployed"}).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sha256_signature(SECRET, body)}
    url = f"{layout.url('proxy')}/api/v1/boards/{board.pk}/webhooks/{webhook.pk}"
    pg = PgConnection.from_settings(connection.settings_dict)
    # Another session holds the payload table, as a stuck migration or a frozen server would.
    with psycopg.connect(**pg.psycopg_kwargs(dbname=connection.settings_dict["NAME"])) as blocker:
        blocker.execute("LOCK TABLE webhooks_webhookpayload IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = httpx.post(url, content=body, headers=headers, timeout=60)
        elapsed = time.monotonic() - started
        blocker.rollback()
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "unavailable"
    timeout = settings.DB_STATEMENT_TIMEOUT_MS / 1000
    assert timeout <= elapsed < settings.SERVER_TIMEOUT_SECONDS, elapsed
    assert not WebhookPayload.objects.filter(webhook=webhook).exists()  # nothing committed later
    # Once the lock is gone the same delivery is stored: the sender's retry is not lost.
    assert httpx.post(url, content=body, headers=headers, timeout=30).status_code == 202
    assert WebhookPayload.objects.filter(webhook=webhook).count() == 1
