"""Live beyond the board: a task page's one conversation shows an agent's comment and carries a
reply's mention back to the agent; with two pages, the agents
list sees open-task counts and status text change, a board shows a toast when a webhook lands.
Plus the small first-use flows: a failed login keeps the username, the theme toggle sticks.
"""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import expect

from agents.services import issue_agent_token
from boards.services import create_task
from core.actors import Actor
from core.signing import sha256_signature
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.agents.factories import agent_with_token
from tests.e2e.conftest import log_in, new_page
from tests.factories import AgentFactory, TaskFactory
from webhooks.services import create_webhook

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("consumers_inline")]

LIVE = '#live-status[data-state="live"]'


@pytest.fixture
def second_page(browser):
    """Another person's browser: a second context with its own session."""
    context, other = new_page(browser)
    yield other
    context.close()


def test_an_agents_comment_appears_live_in_the_tasks_one_conversation_and_a_mention_reaches_it(
    asgi_server, page, user, organization, board
):
    """One conversation per task: a comment an agent posts through the API shows live in the
    task page's thread, and a person's reply there that @mentions the agent reaches the agent."""
    _agent, _token, raw = agent_with_token(organization=organization, name="probe-bot", boards=[board])
    task = TaskFactory(board=board, title="Calibrate sensors")
    auth = {"Authorization": f"Bearer {raw}"}
    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/boards/{board.pk}/tasks/{task.pk}/")
    page.wait_for_selector(LIVE)
    page.wait_for_selector('#task-thread[data-chat-ready="true"]')
    assert page.locator("#comment-body").count() == 0  # no second, separate comments form
    composer = page.locator(f"#chat-body-{task.pk}")
    composer.fill("half-typed draft")  # outside the live regions: must survive

    response = httpx.post(
        f"{asgi_server.url}/api/v1/agent/tasks/{task.pk}/comments",
        json={"body": "Readings look **stable**."},
        headers=auth,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    comment = page.locator(f"#task-thread #chat-message-{response.json()['id']}")
    expect(comment).to_contain_text("Readings look stable.", timeout=3000)
    expect(page.locator("#task-history")).to_contain_text("probe-bot commented on")
    assert composer.input_value() == "half-typed draft"

    composer.fill("@probe-bot ship it")
    page.locator("#task-thread").get_by_role("button", name="Send").click()
    expect(page.locator("#task-thread .chat-messages")).to_contain_text("ship it")
    mentions = httpx.get(
        f"{asgi_server.url}/api/v1/agent/boards/{board.pk}/chat/?task={task.pk}&mentions=me",
        headers=auth,
        timeout=10,
    ).json()["results"]
    assert [m["body"] for m in mentions] == ["@probe-bot ship it"]
    assert page.locator("#task-thread a.mention", has_text="@probe-bot").count() == 1
    assert page.console_errors == []


def test_the_agents_list_shows_open_tasks_and_status_text_live(asgi_server, page, second_page, user, board):
    agent = AgentFactory(organization=board.organization, name="probe-bot")
    agent.boards.add(board)
    _token, raw = issue_agent_token(agent=agent, actor=Actor.for_user(user), name="t")
    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/agents/")
    page.wait_for_selector(LIVE)
    row = page.locator(f".agent-row[data-agent-id='{agent.pk}']")
    expect(row.locator(".agent-open-tasks")).to_have_text("0")

    # A person assigns work to the agent in another page.
    log_in(second_page, asgi_server.url, "owner")
    second_page.goto(f"{asgi_server.url}/boards/{board.pk}/")
    if second_page.locator("details.quick-add").get_attribute("open") is None:
        second_page.locator("details.quick-add summary").click()
    second_page.fill("#id_title", "Probe the outer ring")
    second_page.select_option("#id_assignee", f"agent:{agent.pk}")
    second_page.get_by_role("button", name="Add task").click()
    expect(row.locator(".agent-open-tasks")).to_have_text("1", timeout=3000)

    # The agent reports what it is doing.
    response = httpx.post(
        f"{asgi_server.url}/api/v1/agent/heartbeat",
        json={"status_text": "Scanning sector 7"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 200, response.text
    expect(row.locator(".agent-status-text")).to_have_text("Scanning sector 7", timeout=3000)
    assert page.console_errors == []


def test_a_webhook_landing_on_an_open_board_shows_a_toast_linking_to_the_payload(
    asgi_server, page, second_page, user, board
):
    webhook, secret = create_webhook(board=board, actor=Actor.for_user(user), description="GitHub")
    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/boards/{board.pk}/")
    page.wait_for_selector(LIVE)

    body = json.dumps({"action": "opened"}).encode()
    response = httpx.post(
        f"{asgi_server.url}/api/v1/boards/{board.pk}/webhooks/{webhook.pk}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sha256_signature(secret, body),
            "X-GitHub-Event": "issues",
        },
    )
    assert response.status_code == 202
    toast = page.locator("#toasts .toast", has_text="GitHub sent a payload")
    expect(toast).to_be_visible(timeout=3000)
    href = toast.get_by_role("link", name="View payload").get_attribute("href")
    payload = webhook.payloads.get()
    assert href == f"/webhooks/payloads/{payload.pk}/"
    # The feed reads as a sentence with links, not "webhook 1 webhook.received webhookpayload 1".
    expect(page.locator("#activity-feed")).to_contain_text("GitHub sent a payload (issues)")

    log_in(second_page, asgi_server.url, "owner")
    second_page.goto(asgi_server.url + href)
    expect(second_page.get_by_role("heading", name=f"Payload #{payload.pk}")).to_be_visible()
    assert page.console_errors == []


def test_a_failed_login_keeps_the_username_and_says_why(asgi_server, page, user):
    page.goto(f"{asgi_server.url}/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "wrong password")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    assert page.input_value("#id_username") == "owner"
    assert page.evaluate("document.activeElement.id") == "id_password"


def test_the_theme_toggle_switches_and_survives_a_reload(asgi_server, page, user):
    log_in(page, asgi_server.url, "owner")
    toggle = page.locator("[data-theme-toggle]")
    background = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate("document.documentElement.dataset.theme") is None
    toggle.click()  # system -> light
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    light = page.evaluate(background)
    toggle.click()  # light -> dark
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    dark = page.evaluate(background)
    assert light != dark
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate(background) == dark
    expect(toggle).to_have_attribute("aria-label", "Colour theme: dark. Switch to system")


def test_a_new_dead_letter_appears_on_the_open_deliveries_list_and_detail_without_reload(
    asgi_server, page, second_page, user, organization, board
):
    from django.db import transaction

    from deliveries import outbound
    from deliveries.models import Delivery, DeliveryStatus, Subscription
    from deliveries.sending import SendResult

    subscription = Subscription.objects.create(
        organization=organization, board=board, description="Pager relay", target_url="https://example.com/h"
    )
    retrying = Delivery.objects.create(
        organization=organization,
        board=board,
        subscription=subscription,
        target_url=subscription.target_url,
        event_type="task.moved",
        payload={},
        status=DeliveryStatus.PENDING,
        attempt_count=2,
    )
    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/deliveries/")
    page.wait_for_selector(LIVE)
    log_in(second_page, asgi_server.url, "owner")
    second_page.goto(f"{asgi_server.url}/deliveries/{retrying.pk}/")
    second_page.wait_for_selector(LIVE)
    expect(page.locator("#delivery-list")).to_contain_text("No dead letters")

    def die(delivery: Delivery) -> None:
        with transaction.atomic():  # as record_attempt does: the status and the event together
            delivery.status, delivery.attempt_count = DeliveryStatus.DEAD, delivery.attempt_count + 1
            delivery.save(update_fields=["status", "attempt_count"])
            outbound._record_dead_letter(delivery, SendResult(status_code=503, duration_ms=12))

    die(retrying)
    expect(page.locator(f"#delivery-{retrying.pk}")).to_contain_text("task.moved", timeout=5000)
    expect(second_page.locator(".delivery-dead")).to_be_visible(timeout=5000)
    assert page.console_errors == [] and second_page.console_errors == []


def test_the_task_pages_cost_card_follows_usage_reported_against_the_task(asgi_server, page, user, board):
    agent = AgentFactory(organization=board.organization, name="cost-bot")
    agent.boards.add(board)
    _token, raw = issue_agent_token(agent=agent, actor=Actor.for_user(user), name="t")
    task = TaskFactory(board=board, title="Expensive task")
    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/boards/{board.pk}/tasks/{task.pk}/")
    page.wait_for_selector(LIVE)
    cost = page.locator("#task-cost")
    expect(cost).not_to_contain_text("1,700")
    report = {"model": "gpt-4o", "input_tokens": 1000, "output_tokens": 500, "cached_tokens": 200}
    response = httpx.post(
        f"{asgi_server.url}/api/v1/agent/usage",
        json={"reports": [{**report, "idempotency_key": "live-1", "task": task.pk}]},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code in (200, 201, 202), response.text
    expect(cost.locator("[data-task-cost]")).to_be_visible(timeout=5000)
    assert page.console_errors == []


@pytest.mark.backend_independent  # the page and live.js; the PostgreSQL run has the service tests
def test_todays_standup_counts_a_task_blocked_elsewhere_live(asgi_server, page, user, board):
    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/standups/boards/{board.pk}/")
    page.wait_for_selector(LIVE)
    expect(page.locator('[data-standup-count="blocked"]')).to_have_text("0")

    create_task(board=board, actor=Actor.for_user(user), title="Waiting on vendor", status="blocked")

    expect(page.locator('[data-standup-count="blocked"]')).to_have_text("1", timeout=5000)
    expect(page.locator("#standup-figures")).to_contain_text(
        "1 task is blocked: \u2018Waiting on vendor\u2019"
    )
    expect(page.locator("#standup-people")).to_contain_text("owner has 1 blocked.")
    assert page.console_errors == []
