"""Browser: a new admin's first-run checklist on the overview, from an empty organization to
green. The board and the invitation through their pages (the checklist's own links), the agent
and the webhook as an agent and a sender would: HTTP calls to the running server with the token
and the signed body, while the overview is open and checks them off live."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request

import pytest
from playwright.sync_api import expect

from agents import services as agent_services
from boards.models import Board
from core.actors import Actor
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.e2e.conftest import log_in
from webhooks import services as webhook_services

pytestmark = [pytest.mark.e2e, pytest.mark.backend_independent, pytest.mark.usefixtures("consumers_inline")]


def _http(url: str, *, body: bytes | None = None, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_from_an_empty_organization_to_a_green_checklist(asgi_server, page, user, organization):
    base = asgi_server.url
    log_in(page, base, "owner")
    page.goto(f"{base}/overview/")
    checklist = page.locator("#overview-onboarding")
    expect(checklist.locator("#onboarding-progress")).to_have_text("0 of 4 done")

    # A board, through the checklist's link.
    checklist.get_by_role("link", name="Create a board").click()
    page.fill("#id_name", "Launch")
    page.get_by_role("button", name="Create board").click()
    expect(page.get_by_text("Board “Launch” created.")).to_be_visible()

    # A colleague, through the checklist's link.
    page.goto(f"{base}/overview/")
    checklist.get_by_role("link", name="Invite a colleague").click()
    page.fill("#id_email", "grace@example.com")
    page.get_by_role("button", name="Create invitation").click()
    expect(page.locator("#invitation-link")).to_be_visible()

    # The agent and the webhook are set up here, before the overview opens: the test's own writes
    # would otherwise contend with the live page's reads for SQLite's shared-cache table locks.
    board = Board.objects.get(name="Launch")
    actor = Actor.for_user(user)
    agent = agent_services.create_agent(organization=organization, actor=actor, name="bot", boards=[board])
    _token, raw = agent_services.issue_agent_token(agent=agent, actor=actor)
    webhook, secret = webhook_services.create_webhook(board=board, actor=actor, description="CI")

    page.goto(f"{base}/overview/")
    expect(checklist.locator("#onboarding-progress")).to_have_text("2 of 4 done")
    expect(checklist.locator('[data-step="board"]')).to_have_attribute("data-done", "true")
    expect(checklist.locator('[data-step="colleague"]')).to_have_attribute("data-done", "true")
    page.wait_for_load_state("networkidle")  # the live socket is open

    # An agent calls the API with its token: checked off live, no reload.
    assert _http(f"{base}/api/v1/agent/boards", headers={"Authorization": f"Bearer {raw}"}) == 200
    expect(checklist.locator('[data-step="agent"]')).to_have_attribute("data-done", "true")
    expect(checklist.locator("#onboarding-progress")).to_have_text("3 of 4 done")

    # A sender posts a signed test payload: the last step, and the checklist is green.
    body = json.dumps({"event": "ping"}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    url = f"{base}/api/v1/boards/{board.pk}/webhooks/{webhook.pk}"
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
    assert _http(url, body=body, headers=headers) == 202
    expect(checklist.get_by_role("heading", name="You are set up")).to_be_visible()
    expect(checklist.locator("#onboarding-progress")).to_have_text("4 of 4 done")
    expect(checklist.locator('[data-done="false"]')).to_have_count(0)

    # Hidden for good once done and dismissed.
    checklist.get_by_role("button", name="Done: hide this checklist").click()
    expect(page.get_by_text("Checklist hidden.")).to_be_visible()
    expect(page.locator("#overview-onboarding")).to_have_count(0)
    assert not page.console_errors
