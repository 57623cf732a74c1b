"""In Chromium: an admin creates an agent, issues a token, sees it once in a dialog; after a
reload it is gone from the page for good."""

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect
from rest_framework.test import APIClient

from agents.models import Agent
from tests.agent_tokens import authenticate_agent_token
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e


def _agent_calls_me(raw: str, statuses: list[int]) -> None:
    try:
        statuses.append(APIClient().get("/api/v1/agent/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code)
    finally:
        connection.close()


def test_admin_creates_an_agent_and_sees_its_token_exactly_once(asgi_server, page, user, board):
    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/agents/")
    page.click("text=New agent")
    page.fill("#id_name", "e2e-bot")
    page.check(f"input[name=boards][value='{board.pk}']")
    page.fill("#id_capabilities", "python, review")
    page.click("button[type=submit]:has-text('Create agent')")
    page.wait_for_url("**/agents/*/")
    agent = Agent.objects.get(name="e2e-bot")

    page.fill("#new-token-name", "laptop")
    page.click("button:has-text('Issue token')")
    dialog = page.locator("dialog.token-dialog")
    dialog.wait_for(state="visible")
    raw = page.input_value("#new-token-value")
    assert raw.startswith("mca_")
    assert authenticate_agent_token(raw).agent_id == agent.pk
    # The partial arrives as an open dialog (readable without script); app.js then reopens it as a
    # modal after the swap settles. Wait for that rather than race it.
    page.wait_for_function("document.querySelector('dialog.token-dialog').matches(':modal')", timeout=5000)
    page.click("dialog.token-dialog button:has-text('I have copied it')")
    # The close handler removes the dialog from the page; wait for it rather than race it.
    expect(page.locator("dialog.token-dialog")).to_have_count(0)
    assert raw not in page.content()
    assert page.locator(".token-row", has_text="laptop").count() == 1

    page.reload()
    assert page.locator("dialog.token-dialog").count() == 0
    html = page.content()
    assert raw not in html and raw[4:20] not in html
    assert page.locator(".token-row", has_text="laptop").count() == 1
    page.goto(f"{asgi_server.url}/agents/")
    dot = page.locator(f".agent-row[data-agent-id='{agent.pk}'] .presence")
    assert dot.get_attribute("data-presence") == "offline"
    page.wait_for_selector("#live-status[data-state='live'], #live-status[data-state='open']")
    # The agent calls the API: the presence change is published and the dot turns online live.
    # (From another thread: Playwright's sync API keeps an event loop on this one.)
    statuses: list[int] = []
    caller = threading.Thread(target=_agent_calls_me, args=(raw, statuses))
    caller.start()
    caller.join(15)
    assert statuses == [200]
    page.wait_for_selector(f".agent-row[data-agent-id='{agent.pk}'] .presence[data-presence='online']")
    assert dot.locator(".presence-label").inner_text() == "online"
    assert page.console_errors == []
