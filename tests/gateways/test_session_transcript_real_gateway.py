"""A message sent from the session page runs on the real gateway, and its streamed transcript
(the tool call, then the assistant's answer) reaches the browser through Mission Control's own
websocket. One gateway (the session's), one supervisor thread, one ASGI server, one browser."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from core.actors import Actor
from gateways import services
from gateways.models import GatewayStatus
from tests.conftest import requires_postgres
from tests.e2e.conftest import _module_asgi_server, asgi_server, browser, log_in, page  # noqa: F401
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.gateways.conftest import wait_until

# The real gateway costs a minute or two of CI: it runs in the production-mode run only.
pytestmark = [requires_postgres, pytest.mark.e2e, pytest.mark.xdist_group("serial"), pytest.mark.runs_long]


def test_a_message_streams_its_tool_call_and_answer_to_the_session_page(
    openclaw_gateway,
    gateway_supervisor,
    asgi_server,  # noqa: F811
    page,  # noqa: F811
):
    organization = OrganizationFactory()
    operator = UserFactory(username="gateway-operator")
    MembershipFactory(user=operator, organization=organization, role="admin")
    gateway = services.create_gateway(
        actor=Actor.for_user(operator),
        organization=organization,
        name="e2e",
        url=openclaw_gateway.url,
        token=openclaw_gateway.token,
    )

    def connected():
        gateway.refresh_from_db()
        return gateway.status == GatewayStatus.CONNECTED

    wait_until(connected, what="the supervisor to connect")
    session_key = f"agent:main:e2e-{uuid.uuid4().hex[:8]}"
    log_in(page, asgi_server.url, operator.username)
    page.goto(f"{asgi_server.url}/gateways/{gateway.pk}/session/?key={session_key}")
    expect(page.locator("#session-live")).to_have_text("Live")
    expect(page.locator("#transcript-state")).to_have_text("No messages yet.", timeout=30_000)

    page.fill("#transcript-message", "USE_TOOL please")
    page.click("#transcript-composer button[type=submit]")

    # Live, from the gateway's events: the tool call as it runs, then the streamed answer.
    expect(page.locator(".transcript-tool").first).to_contain_text("ls", timeout=60_000)
    answer = page.locator(".transcript-assistant").last
    expect(answer).to_contain_text("TOOL RESULT SEEN:", timeout=60_000)
    # Then the history, read again: the tool's arguments and its result.
    expect(page.locator(".transcript-tool-args").first).to_contain_text('{"path":"."}', timeout=30_000)
    expect(page.locator(".transcript-tool-result").first).to_contain_text("AGENTS.md")
    assert page.console_errors == []


def test_wake_on_the_agent_page_and_work_on_this_on_the_task_page_stream_their_runs(
    openclaw_gateway,
    gateway_supervisor,
    asgi_server,  # noqa: F811
    page,  # noqa: F811
):
    from boards import services as board_services
    from tests.factories import AgentFactory, BoardFactory

    organization = OrganizationFactory()
    operator = UserFactory(username="wake-operator")
    MembershipFactory(user=operator, organization=organization, role="admin")
    actor = Actor.for_user(operator)
    gateway = services.create_gateway(
        actor=actor,
        organization=organization,
        name="wake",
        url=openclaw_gateway.url,
        token=openclaw_gateway.token,
    )
    main = wait_until(lambda: gateway.agents.filter(agent_key="main").first(), what="the import of main")
    agent = AgentFactory(organization=organization, name="studio-main")
    services.link_gateway_agent(actor=actor, gateway_agent=main, agent=agent)
    board = BoardFactory(organization=organization)
    task = board_services.create_task(
        board=board, actor=actor, title="Tidy the changelog", assignee_agent=agent
    )
    log_in(page, asgi_server.url, operator.username)

    # Wake, on the agent page: the keyboard's Enter on the focused button, then the session page.
    page.goto(f"{asgi_server.url}/agents/{agent.pk}/")
    page.focus("#gateway-wake")
    page.keyboard.press("Enter")
    page.wait_for_url("**/session/?key=agent:main:main")
    expect(page.locator("#session-live")).to_have_text("Live")
    woken = page.locator(".transcript-assistant", has_text="ECHO: Mission Control is waking you")
    expect(woken.last).to_be_visible(timeout=60_000)

    # Work on this, on the task page: the task's own run streams to the same session.
    page.goto(f"{asgi_server.url}/boards/{board.pk}/tasks/{task.pk}/")
    page.get_by_role("button", name="Work on this").click()
    page.wait_for_url("**/session/?key=agent:main:main")
    answer = page.locator(
        ".transcript-assistant", has_text=f"ECHO: Work on task #{task.pk}: Tidy the changelog"
    )
    expect(answer.last).to_be_visible(timeout=60_000)
    assert page.console_errors == []


def test_the_files_page_saves_soul_md_and_refuses_a_save_over_a_change_made_meanwhile(
    openclaw_gateway,
    gateway_supervisor,
    asgi_server,  # noqa: F811
    page,  # noqa: F811
):
    from gateways.models import CommandState, GatewayCommand

    organization = OrganizationFactory()
    admin = UserFactory(username="files-admin")
    MembershipFactory(user=admin, organization=organization, role="admin")
    actor = Actor.for_user(admin)
    gateway = services.create_gateway(
        actor=actor,
        organization=organization,
        name="files",
        url=openclaw_gateway.url,
        token=openclaw_gateway.token,
    )
    main = wait_until(lambda: gateway.agents.filter(agent_key="main").first(), what="the import of main")
    log_in(page, asgi_server.url, admin.username)
    page.goto(f"{asgi_server.url}/gateways/{gateway.pk}/agents/{main.pk}/files/")
    content = page.locator("#gateway-file-content")
    expect(content).to_be_visible(timeout=30_000)
    expect(page.get_by_role("link", name="AGENTS.md")).to_be_visible()

    content.fill("You are the studio's careful release agent.\n")
    page.click("#gateway-file-save")
    expect(page.locator("#gateway-file-save-state")).to_have_text("Saved SOUL.md.", timeout=30_000)

    # Someone changes SOUL.md on the gateway; this page still holds the version it saved.
    elsewhere, _ = services.request_command(
        actor=actor,
        gateway=gateway,
        method="agents.files.set",
        params={"agentId": "main", "name": "SOUL.md", "content": "Changed elsewhere.\n"},
    )
    wait_until(
        lambda: GatewayCommand.objects.filter(pk=elsewhere.pk, state=CommandState.SUCCEEDED).exists(),
        what="the other save",
    )
    content.fill("My edit, made on a stale copy.\n")
    page.click("#gateway-file-save")
    expect(page.locator("#gateway-file-save-state")).to_contain_text(
        "FILE_CHANGED: SOUL.md was changed on the gateway since you opened it", timeout=30_000
    )
    assert page.console_errors == []
