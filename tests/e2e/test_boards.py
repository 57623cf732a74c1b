"""Browser: an admin runs a board end to end (drag and keyboard moves, comments, feed); a viewer
only reads. Real uvicorn, real Chromium, the CSP on (console errors would show a violation)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from boards.models import Board, Task
from chat.models import ChatMessage
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.e2e.conftest import log_in
from tests.factories import TaskFactory

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("consumers_inline")]


def card(page, title):
    return page.locator("article.task-card", has_text=title)


def test_an_admin_creates_a_board_adds_tasks_moves_cards_and_comments(asgi_server, page, user):
    base = asgi_server.url
    log_in(page, base, "owner")
    page.goto(f"{base}/")  # login lands on the overview; the boards list is one click away
    expect(page.get_by_text("No boards yet")).to_be_visible()
    page.get_by_role("link", name="Create your first board").click()
    page.fill("#id_name", "Rocket")
    page.get_by_role("button", name="Create board").click()
    expect(page.get_by_role("heading", name="Rocket")).to_be_visible()
    board = Board.objects.get(name="Rocket")
    assert page.url.endswith(f"/boards/{board.pk}/")

    for title in ("Design the fins", "Weld the hull"):
        if page.locator("details.quick-add").get_attribute("open") is None:
            page.locator("details.quick-add summary").click()
        page.fill("#id_title", title)
        page.get_by_role("button", name="Add task").click()
        expect(card(page, title)).to_be_visible()
    expect(page.locator('[data-column="inbox"] .task-card')).to_have_count(2)

    # Keyboard: Tab to the card's menu button, Enter opens it, Tab to "In progress", Enter moves;
    # focus stays on the moved card (not <body>) after the columns re-render.
    card(page, "Design the fins").get_by_role("link", name="Design the fins").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # "Inbox (current)"
    page.keyboard.press("Tab")  # "In progress"
    assert "In progress" in page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    expect(
        page.locator('[data-column="in_progress"]').locator("article", has_text="Design the fins")
    ).to_be_visible()
    expect(page.locator(":focus")).to_have_text("Design the fins")

    # Drag and drop: the other card onto the blocked column.
    with page.expect_response(lambda r: "/move/" in r.url) as moved:
        card(page, "Weld the hull").drag_to(page.locator('[data-column="blocked"] .cards'))
    assert moved.value.ok
    expect(
        page.locator('[data-column="blocked"]').locator("article", has_text="Weld the hull")
    ).to_be_visible()
    assert Task.objects.get(title="Weld the hull").status == "blocked"
    assert Task.objects.get(title="Design the fins").status == "in_progress"

    # Let the live update of that move land first: it re-renders the card, which would reset
    # a select chosen before it arrives.
    moved_text = "moved \u2018Weld the hull\u2019 from Inbox to Blocked"
    expect(page.locator("#activity-feed")).to_contain_text(moved_text)
    page.wait_for_load_state("networkidle")

    # A refused move shows its reason inline, not an error page.
    card(page, "Weld the hull").locator(".card-menu summary").click()
    card(page, "Weld the hull").get_by_role("button", name="Done").click()
    expect(page.locator("#board-columns [role=alert]")).to_contain_text("cannot move from blocked to done")

    card(page, "Design the fins").get_by_role("link", name="Design the fins").click()
    # The task's one conversation: its thread (a message there is the task's comment).
    page.wait_for_selector('#task-thread[data-chat-ready="true"]')
    page.locator("#task-thread textarea").fill("Fins are **swept**.")
    page.locator("#task-thread").get_by_role("button", name="Send").click()
    expect(page.locator("#task-thread .chat-message strong", has_text="swept")).to_be_visible()
    assert ChatMessage.objects.get().body == "Fins are **swept**."

    page.get_by_role("link", name=re.compile("Rocket")).first.click()
    feed = page.locator("#activity-feed")
    expect(feed).to_contain_text("commented on \u2018Design the fins\u2019")
    expect(feed).to_contain_text("moved \u2018Weld the hull\u2019 from Inbox to Blocked")
    page.goto(f"{base}/activity/")
    expect(page.locator(".feed")).to_contain_text("created the board \u2018Rocket\u2019")
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []


def test_a_viewer_sees_the_board_read_only_even_on_a_phone(asgi_server, page, viewer, board):
    TaskFactory(board=board, title="Read me")
    log_in(page, asgi_server.url, "viewer")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{asgi_server.url}/boards/{board.pk}/")
    expect(card(page, "Read me")).to_be_visible()
    assert page.locator(".move-form").count() == 0 and page.locator(".card-menu").count() == 0
    assert page.locator('[draggable="true"]').count() == 0
    assert page.get_by_text("Add a task").count() == 0
    # One column per row at phone width: nothing wider than the screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400
    page.locator("article.task-card a").first.click()
    expect(page.get_by_role("heading", name="Read me")).to_be_visible()
    page.wait_for_selector('#task-thread[data-chat-ready="true"]')
    assert page.locator("#task-thread textarea").count() == 0
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []
