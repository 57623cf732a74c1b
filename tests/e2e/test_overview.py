"""The overview in the browser: charts drawn under the CSP, a webhook and a task move showing up
live in a second page, and an export that downloads the filtered rows.

The real ASGI server and Chromium; a console error (a blocked script, a failed chart) fails.
"""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from playwright.sync_api import expect

from activity.models import ActivityEvent
from boards.models import TaskStatus
from boards.services import create_task, move_task
from core.actors import Actor
from core.signing import sha256_signature
from tests.e2e.conftest import log_in
from tests.factories import BoardFactory, TaskFactory
from webhooks.services import create_webhook

pytestmark = pytest.mark.e2e

LIVE = '#live-status[data-state="live"]'


def open_overview(page, base_url: str, username: str, query: str = "") -> None:
    log_in(page, base_url, username)
    page.goto(f"{base_url}/overview/{query}")
    page.wait_for_selector(LIVE)


def kpi(page, key: str) -> str:
    return page.locator(f'[data-kpi="{key}"] [data-kpi-value]').inner_text()


def test_login_lands_on_the_overview_and_every_chart_draws(asgi_server, page, user, board):
    actor = Actor.for_user(user)
    task = create_task(board=board, actor=actor, title="Ship it")
    for status in (TaskStatus.IN_PROGRESS, TaskStatus.REVIEW, TaskStatus.DONE):
        task = move_task(task=task, actor=actor, status=status)
    log_in(page, asgi_server.url, "owner")
    assert page.url.endswith("/overview/")
    figures = page.locator("figure[data-chart]")
    assert figures.count() >= 4
    # uPlot draws into a canvas in each figure; the table stays for screen readers.
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure[data-chart]')].every(f => f.querySelector('canvas'))"
    )
    assert page.locator("figure[data-chart] table caption").count() == figures.count()
    assert kpi(page, "tasks_done") == "1"
    assert page.console_errors == []


def test_the_overview_lays_out_at_desktop_and_phone_width_and_its_feed_skips_sign_ins(
    asgi_server, browser, page, user, teammate, board
):
    create_task(board=board, actor=Actor.for_user(user), title="Before the page")
    open_overview(page, asgi_server.url, "owner")
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure[data-chart]')].every(f => f.querySelector('canvas'))"
    )
    tops = page.eval_on_selector_all(
        "[data-kpi]", "cards => cards.map(c => Math.round(c.getBoundingClientRect().top))"
    )
    assert len(tops) >= 3 and len(set(tops[:3])) == 1, tops  # the first row starts level
    overlaps = page.evaluate(
        """() => {
            const links = [...document.querySelectorAll('.overview-feed a')];
            const l = links.find(a => a.textContent === 'All activity').getBoundingClientRect();
            return [...document.querySelectorAll('#activity-feed > li')].filter(li => {
                const r = li.getBoundingClientRect();
                const apart = r.bottom <= l.top || r.top >= l.bottom
                    || r.right <= l.left || r.left >= l.right;
                return r.height && !apart;
            }).length;
        }"""
    )
    assert overlaps == 0
    feed = page.locator("#activity-feed")
    assert "Before the page" in feed.inner_text() and "signed in" not in feed.inner_text()

    # Live: a colleague signing in stays out of the feed; their task comes in.
    other = browser.new_context()
    try:
        log_in(other.new_page(), asgi_server.url, "teammate")
    finally:
        other.close()
    create_task(board=board, actor=Actor.for_user(teammate), title="After the sign-in")
    page.wait_for_selector("#activity-feed >> text=After the sign-in")
    assert ActivityEvent.objects.filter(verb="auth.login", actor_user=teammate).exists()
    assert "signed in" not in feed.inner_text()

    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)  # charts redraw on resize (150 ms debounce)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    attention = page.locator(".overview-attention").bounding_box()
    first_chart = page.locator("figure[data-chart]").first.bounding_box()
    first_kpi = page.locator("[data-kpi]").first.bounding_box()
    assert attention["y"] < first_kpi["y"] < first_chart["y"]  # needs attention first on a phone
    assert page.console_errors == []


def test_an_agents_status_text_changes_live_in_the_fleet(asgi_server, page, user, organization, board):
    from agents.services import record_heartbeat
    from tests.factories import AgentFactory

    agent = AgentFactory(organization=organization, name="fleet-bot")
    agent.boards.add(board)
    record_heartbeat(agent=agent, status_text="Warming up")
    open_overview(page, asgi_server.url, "owner")
    tile = page.locator(f'[data-agent-tile="{agent.pk}"] .fleet-status')
    expect(tile).to_have_text("Warming up")
    record_heartbeat(agent=agent, status_text="Bisecting reconnect flake")
    expect(tile).to_have_text("Bisecting reconnect flake", timeout=5000)
    assert page.console_errors == []


def test_a_webhook_and_a_task_move_show_up_live_in_a_second_page(
    asgi_server, browser, page, user, teammate, board
):
    webhook, secret = create_webhook(board=board, actor=Actor.for_user(user), description="CI")
    task = TaskFactory(board=board, title="Calibrate", status=TaskStatus.INBOX)
    other_context = browser.new_context()
    other = other_context.new_page()
    other_errors: list[str] = []
    other.on("console", lambda msg: other_errors.append(msg.text) if msg.type == "error" else None)
    try:
        open_overview(page, asgi_server.url, "owner")
        open_overview(other, asgi_server.url, "teammate")
        assert kpi(other, "webhooks_received") == "0"

        body = json.dumps({"action": "completed"}).encode()
        response = httpx.post(
            f"{asgi_server.url}/api/v1/boards/{board.pk}/webhooks/{webhook.pk}",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sha256_signature(secret, body),
            },
            timeout=10,
        )
        assert response.status_code == 202, response.text
        received = ActivityEvent.objects.filter(verb="webhook.received").latest("id")
        other.wait_for_selector(f'#activity-feed [data-event-id="{received.pk}"]', timeout=5000)
        other.wait_for_function(
            "() => document.querySelector('[data-kpi=\"webhooks_received\"] [data-kpi-value]')"
            ".textContent === '1'",
            timeout=5000,
        )

        # A move made by the first person: the second page's feed and work in progress follow.
        move_task(task=task, actor=Actor.for_user(user), status=TaskStatus.IN_PROGRESS)
        moved = ActivityEvent.objects.filter(verb="task.status_changed").latest("id")
        other.wait_for_selector(f'#activity-feed [data-event-id="{moved.pk}"]', timeout=5000)
        other.wait_for_function(
            "() => [...document.querySelectorAll('.wip-counts div')].some("
            "d => d.querySelector('dt').textContent === 'In progress'"
            " && d.querySelector('dd').textContent === '1')",
            timeout=5000,
        )
        # The re-rendered charts draw again.
        other.wait_for_function(
            "() => [...document.querySelectorAll('figure[data-chart]')].every(f => f.querySelector('canvas'))"
        )
        assert page.console_errors == [] and other_errors == []
    finally:
        other_context.close()


def test_an_export_downloads_the_rows_that_match_the_filter(asgi_server, page, user, organization, board):
    other = BoardFactory(organization=organization, name="Other", slug="other")
    TaskFactory(board=board, title="blocked here", status=TaskStatus.BLOCKED)
    TaskFactory(board=board, title="inbox here", status=TaskStatus.INBOX)
    TaskFactory(board=other, title="blocked there", status=TaskStatus.BLOCKED)
    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/overview/exports/")
    page.select_option("#tasks-board", str(board.pk))
    page.select_option("#tasks-status", TaskStatus.BLOCKED)
    with page.expect_download() as download_info:
        page.click("form[action$='/exports/tasks/'] button[type=submit]")
    download = download_info.value
    assert download.suggested_filename.startswith("acme-tasks-") and download.suggested_filename.endswith(
        ".csv"
    )
    with open(download.path(), encoding="utf-8") as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read())))
    assert [(row["title"], row["status"], row["board_id"]) for row in rows] == [
        ("blocked here", "blocked", str(board.pk))
    ]
    assert page.console_errors == []
