"""The two pages that talk to a gateway through the command queue (an agent's files, a session's
transcript) share static/js/gateway_commands.js: both still queue their commands through it, with
the idempotency key a retry reuses. The command API is answered by the test (no gateway here)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from core.actors import Actor
from gateways import services
from tests.e2e.conftest import log_in
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.backend_independent]  # the scripts; no queue runs


def answer_commands(page, results: dict[str, dict]) -> list[dict]:
    """Answer every queued command at once as succeeded with results[method]; returns the bodies."""
    queued: list[dict] = []

    def handle(route) -> None:
        body = json.loads(route.request.post_data or "{}")
        queued.append(body)
        command = {"id": len(queued), "state": "succeeded", "result": results.get(body["method"], {})}
        route.fulfill(status=201, content_type="application/json", body=json.dumps(command))

    page.route("**/api/v1/gateways/*/commands/", handle)
    return queued


def test_the_files_and_session_pages_queue_their_commands_through_the_shared_script(asgi_server, page):
    admin = UserFactory(username="ada")
    organization = OrganizationFactory()
    MembershipFactory(organization=organization, user=admin, role="admin")
    actor = Actor.for_user(admin)
    gateway = services.create_gateway(
        actor=actor, organization=organization, name="studio", url="ws://127.0.0.1:9/", token="studio-token"
    )
    (gateway_agent,) = services.sync_gateway_agents(gateway_id=gateway.pk, listed={"agents": [{"id": "bot"}]})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    queued = answer_commands(
        page,
        {
            "agents.files.list": {"files": [{"name": "SOUL.md"}, {"name": "AGENTS.md", "missing": True}]},
            "agents.files.get": {"file": {"name": "SOUL.md", "content": "Be kind.", "hash": "h1"}},
            "agents.files.set": {"file": {"name": "SOUL.md", "hash": "h2"}},
        },
    )
    log_in(page, asgi_server.url, admin.username)

    page.goto(f"{asgi_server.url}/gateways/{gateway.pk}/agents/{gateway_agent.pk}/files/")
    expect(page.locator("#gateway-file-content")).to_have_value("Be kind.")
    expect(page.locator("#gateway-file-list")).to_contain_text("AGENTS.md (not created yet)")
    page.fill("#gateway-file-content", "Be kinder.")
    page.click("#gateway-file-save")
    expect(page.locator("#gateway-file-save-state")).to_have_text("Saved SOUL.md.")
    saved = queued[-1]
    assert [c["method"] for c in queued] == ["agents.files.list", "agents.files.get", "agents.files.set"]
    assert saved["params"] == {
        "agentId": "bot",
        "name": "SOUL.md",
        "content": "Be kinder.",
        "expectedHash": "h1",
    }
    assert saved["idempotency_key"]

    page.goto(f"{asgi_server.url}/gateways/{gateway.pk}/session/?key=agent:bot:main")
    page.fill("#transcript-message", "hello there")
    page.click("#transcript-composer button[type=submit]")
    expect(page.locator(".transcript-user", has_text="hello there")).to_be_visible()
    sent = [c for c in queued if c["method"] == "chat.send"]
    assert len(sent) == 1 and sent[0]["params"] == {"sessionKey": "agent:bot:main", "message": "hello there"}
    assert sent[0]["idempotency_key"]
    assert errors == [] and page.console_errors == []
