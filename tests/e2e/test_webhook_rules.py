"""The GitHub preset end to end: one click in the rule editor, a signed `issues` delivery over
HTTP, and the task appearing live on the open board with its source link.

The real ASGI server, a real Celery worker (threads, on the test settings' broker) and Chromium.
"""

from __future__ import annotations

import json

import httpx
import pytest
from celery.contrib.testing.worker import start_worker

from boards.models import Task
from core.actors import Actor
from core.signing import sha256_signature
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.e2e.conftest import log_in
from tests.webhook_rules import github
from webhook_rules.models import WebhookRule
from webhooks.services import create_webhook

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("consumers_inline")]


@pytest.fixture
def rules_worker(transactional_db):
    from missioncontrol.celery import app

    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10):
        yield


def test_the_github_preset_turns_a_signed_issue_into_a_live_card_with_its_source_link(
    asgi_server, rules_worker, page, user, board
):
    webhook, secret = create_webhook(board=board, actor=Actor.for_user(user), description="GitHub")
    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/webhooks/{webhook.pk}/rules/")
    page.click('button[data-preset="github"]')
    page.wait_for_selector(".rule-row")
    assert WebhookRule.objects.filter(webhook=webhook).count() >= 8

    page.goto(f"{asgi_server.url}/boards/{board.pk}/")
    page.wait_for_selector('#live-status[data-state="live"]')

    body = json.dumps(github.OPENED).encode()
    response = httpx.post(
        f"{asgi_server.url}/api/v1/boards/{board.pk}/webhooks/{webhook.pk}",
        content=body,
        timeout=10,
        headers={**github.github_headers("issues"), "X-Hub-Signature-256": sha256_signature(secret, body)},
    )
    assert response.status_code == 202, response.text

    link = page.locator("article.task-card a.source-link")
    link.wait_for(state="visible", timeout=15000)  # no reload: the card arrives over the websocket
    assert link.get_attribute("href") == "https://github.com/octo-org/octo-repo/issues/1347"
    assert "octo-org/octo-repo#1347" in link.inner_text()
    card = link.locator("xpath=ancestor::article[1]")
    assert "Found a bug" in card.locator(".card-title").inner_text()
    assert Task.objects.filter(board=board).count() == 1
    assert page.console_errors == []
