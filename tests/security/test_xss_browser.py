"""Stored XSS: script-shaped text in every user- and agent-writable field is rendered inert.

Chromium visits every page that shows the stored values while listening for dialogs (an alert
that ran) and console errors (which include CSP refusals: a refused inline script means markup
got through unescaped, even though CSP stopped it). Neither may happen, and the DOM may hold no
element or attribute the payloads tried to create.
"""

from __future__ import annotations

import json

import pytest

from activity.models import ActivityEvent
from chat.models import ChatMessage
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.e2e.conftest import log_in
from tests.factories import AgentFactory, TaskFactory
from tests.security.world import build_world
from webhooks.services import ingest_webhook_payload

# Escaping is the templates' and the scripts' business, the same on either database.
pytestmark = [pytest.mark.e2e, pytest.mark.backend_independent, pytest.mark.usefixtures("consumers_inline")]

SCRIPT = "<script>alert('xss-script')</script>"
IMG = "<img src=x onerror=\"alert('xss-img')\">"
SVG = "<svg onload=\"alert('xss-svg')\"></svg>"
JS_LINK_MD = "[click me](javascript:alert('xss-link'))"
JS_LINK_HTML = "<a href=\"javascript:alert('xss-a')\">click</a>"
EVERYTHING = f"{SCRIPT} {IMG} {SVG} {JS_LINK_MD} {JS_LINK_HTML}"


def test_script_shaped_text_everywhere_is_rendered_inert(asgi_server, page):
    world = build_world()
    board = world.board
    task = TaskFactory(board=board, title=f"{SCRIPT}{IMG}", description=EVERYTHING)
    # Comments: messages of the task's thread, which the task page loads as its conversation.
    ChatMessage.objects.create(
        board=board, task=task, author_user=world.users["admin"], author_label=SCRIPT, body=EVERYTHING
    )
    ChatMessage.objects.create(
        board=board, task=task, author_agent=world.agent, author_label=IMG, body=f"{JS_LINK_MD} {SVG}"
    )
    agent = AgentFactory(organization=world.organization, name=f"{IMG}{SCRIPT}", description=EVERYTHING)
    agent.boards.add(board)
    world.webhook.description = f"{SCRIPT}{IMG}"
    world.webhook.save(update_fields=["description"])
    payload = ingest_webhook_payload(
        webhook=world.webhook,
        body=json.dumps({"title": SCRIPT, "html": IMG, "link": JS_LINK_HTML}).encode(),
        content_type="application/json",
        headers={"X-Evil": SCRIPT},
        source_ip="127.0.0.1",
    ).payload
    ActivityEvent.objects.create(
        organization=world.organization,
        board=board,
        actor_kind="agent",
        actor_agent=agent,
        actor_label=f"{IMG}",
        verb="task.updated",
        target_type="task",
        target_id=str(task.pk),
        detail={"title": SCRIPT, "progress_note": IMG},
    )

    dialogs: list[str] = []
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, asgi_server.url, "admin")
    pages = [
        "/",
        f"/boards/{board.pk}/",
        f"/boards/{board.pk}/tasks/{task.pk}/",
        f"/boards/{board.pk}/tasks/{task.pk}/card/",
        f"/boards/{board.pk}/activity/",
        "/activity/",
        "/agents/",
        f"/agents/{agent.pk}/",
        "/webhooks/",
        f"/webhooks/{world.webhook.pk}/",
        f"/webhooks/boards/{board.pk}/",
        f"/webhooks/payloads/{payload.pk}/",
        "/deliveries/",
    ]
    visited = []
    for path in pages:
        response = page.goto(asgi_server.url + path)
        if response is None or response.status == 404:
            continue  # a page not (yet) in the tree
        assert response.status < 400, f"{path}: {response.status}"
        page.wait_for_load_state("networkidle")
        visited.append(path)
        injected = page.evaluate("""() => ({
            scripts: [...document.querySelectorAll('script')]
                .filter(s => s.textContent.includes('xss-')).length,
            handlers: [...document.querySelectorAll('*')].filter(el =>
                [...el.attributes].some(a => a.name.startsWith('on'))).length,
            jsLinks: [...document.querySelectorAll('[href],[src],[action],[formaction]')].filter(el =>
                ['href', 'src', 'action', 'formaction'].some(n =>
                    (el.getAttribute(n) || '').trim().toLowerCase().startsWith('javascript:'))).length,
        })""")
        assert injected == {"scripts": 0, "handlers": 0, "jsLinks": 0}, f"{path}: {injected}"
    assert len(visited) >= 8, visited
    # The payloads are on the pages as text (so the test looked at the right places).
    page.goto(f"{asgi_server.url}/boards/{board.pk}/tasks/{task.pk}/")
    assert "alert('xss-script')" in page.inner_text("body")
    assert dialogs == []
    assert missing == [], missing  # e.g. an <img src=x> that became a real element
    # Chromium's own /favicon.ico probe (invisible to Playwright's response events) is not ours.
    errors = [e for e in page.console_errors if not e.startswith("Failed to load resource") or "404" not in e]
    assert errors == []
