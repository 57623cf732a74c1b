"""Many ingests at once through the real ASGI server (the embedded default's; production serves
ingest with gunicorn's threads, tests/serving): every 202 stored once, connections given back."""

import concurrent.futures
import hashlib
import hmac

import httpx
import pytest

from core.actors import Actor
from tests.conftest import requires_postgres
from tests.e2e.conftest import _module_asgi_server, asgi_server  # noqa: F401  (the real uvicorn fixture)
from webhooks.models import WebhookPayload
from webhooks.services import create_webhook

REQUESTS = 40


@pytest.fixture
def concurrent_ingest(settings):
    settings.WEBHOOK_INGEST_RATE = "1000/60s"


@requires_postgres  # the in-memory SQLite test database locks whole tables between threads
def test_concurrent_ingest_stores_every_accepted_payload(concurrent_ingest, asgi_server, board, user):  # noqa: F811
    webhook, secret = create_webhook(board=board, actor=Actor.for_user(user))
    url = f"{asgi_server.url}/api/v1/boards/{board.pk}/webhooks/{webhook.pk}"

    def post(n: int) -> int:
        body = f'{{"n": {n}}}'.encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature,
            "Idempotency-Key": f"delivery-{n % (REQUESTS // 2)}",
        }
        return httpx.post(url, content=body, headers=headers, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, range(REQUESTS)))

    assert statuses == [202] * REQUESTS
    # Half the requests repeat a delivery id: deduplicated even when they race.
    assert WebhookPayload.objects.filter(webhook=webhook).count() == REQUESTS // 2
