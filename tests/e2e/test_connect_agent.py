"""In Chromium: the "Connect your agent" page issues a token, shows configurations with it, and
its connection indicator turns green by itself when the first MCP call with that token arrives."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from tests.agent_mcp.conftest import call_tool
from tests.e2e.conftest import log_in
from tests.factories import AgentFactory

pytestmark = pytest.mark.e2e


def test_the_connect_page_issues_a_token_and_turns_green_on_the_first_call(asgi_server, page, user, board):
    agent = AgentFactory(organization=board.organization, name="claude-worker")
    agent.boards.set([board])
    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/agents/{agent.pk}/")
    page.click("a:has-text('Connect')")
    expect(page.locator("#connection-status [data-connection='no-token']")).to_be_visible()

    page.click("#issue-token")
    raw = page.input_value("#connect-token-value")
    assert raw.startswith("mca_")
    expect(page.locator("#config-claude-code-text")).to_contain_text(
        f"claude mcp add --transport http mission-control {asgi_server.url}/mcp"
    )
    for slug in ("claude-code", "cursor", "openclaw", "curl", "python"):
        expect(page.locator(f"#config-{slug}-text")).to_contain_text(raw)
    expect(page.locator("#config-codex-text")).to_contain_text("bearer_token_env_var")
    expect(page.locator("#connection-status [data-connection='waiting']")).to_be_visible()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    # Playwright's sync API keeps an event loop on this thread: the MCP client runs on another one.
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(call_tool, asgi_server.url, raw, "whoami").result(timeout=60)
    assert result.structuredContent["name"] == "claude-worker"
    expect(page.locator("#connection-status [data-connection='connected']")).to_be_visible()
    # The token is still on the page the person is reading, but only in this one response.
    expect(page.locator("#connect-token-value")).to_have_value(raw)
