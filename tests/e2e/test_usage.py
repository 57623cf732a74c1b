"""Usage, live: an agent reports usage with curl, as docs/usage.md shows, and the usage page's
spend chart and totals and the agent's page update without a reload."""

from __future__ import annotations

import json
import subprocess

import pytest
from playwright.sync_api import expect

from agents.services import issue_agent_token
from core.actors import Actor
from tests.e2e.conftest import log_in, new_page
from tests.factories import AgentFactory

pytestmark = pytest.mark.e2e

LIVE = '#live-status[data-state="live"]'


@pytest.fixture
def agent_page(browser):
    context, other = new_page(browser)
    yield other
    context.close()


def report_with_curl(base_url: str, token: str, dollars: str, key: str) -> dict:
    body = {
        "reports": [
            {
                "model": "gpt-4o",
                "input_tokens": 1200,
                "output_tokens": 300,
                "cost": dollars,
                "idempotency_key": key,
            }
        ]
    }
    result = subprocess.run(
        [
            "curl", "-sS", "--fail-with-body", "-X", "POST",
            "-H", f"Authorization: Bearer {token}",
            "-H", "Content-Type: application/json",
            "--data", json.dumps(body),
            f"{base_url}/api/v1/agent/usage",
        ],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_usage_reported_with_curl_updates_the_chart_and_the_agent_page_live(
    asgi_server, page, agent_page, user, board
):
    agent = AgentFactory(organization=board.organization, name="token-burner")
    agent.boards.add(board)
    _token, raw = issue_agent_token(agent=agent, actor=Actor.for_user(user), name="t")

    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/usage/")
    page.wait_for_selector(LIVE)
    expect(page.locator("#usage-chart")).to_contain_text("No usage reported in this range")

    log_in(agent_page, asgi_server.url, "owner")
    agent_page.goto(f"{asgi_server.url}/agents/{agent.pk}/")
    agent_page.wait_for_selector(LIVE)
    expect(agent_page.locator("#agent-usage")).to_contain_text("No usage reported")

    report_with_curl(asgi_server.url, raw, "1.25", "first")

    expect(page.locator("[data-usage-total]")).to_have_text("$1.25", timeout=5000)
    chart = page.locator('figure[data-chart="usage-spend-chart"]')
    expect(chart.locator("canvas").first).to_be_visible()
    expect(chart.locator("table")).to_contain_text("gpt-4o")
    expect(page.locator("#usage-top")).to_contain_text("token-burner")
    expect(agent_page.locator("[data-agent-cost]")).to_have_text("$1.25", timeout=5000)

    report_with_curl(asgi_server.url, raw, "0.75", "second")
    expect(page.locator("[data-usage-total]")).to_have_text("$2.00", timeout=5000)
    expect(agent_page.locator("[data-agent-cost]")).to_have_text("$2.00", timeout=5000)
    assert page.console_errors == [] and agent_page.console_errors == []
