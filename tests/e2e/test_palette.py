"""Browser: the command palette's actions by keyboard only (Ctrl-K, type, arrows, Enter), each
ending on the page its endpoint redirects to, with the service's change made. Real uvicorn, real
Chromium, the CSP on. Navigation by the palette first."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from boards import services
from boards.models import Task, TaskStatus
from core.actors import Actor
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.backend_independent, pytest.mark.usefixtures("consumers_inline")]


def _palette(page):
    # After a form's redirect the new page can be painted (its toast visible) before its deferred
    # scripts ran; a Ctrl-K then reaches no handler (CI6). They have run by DOMContentLoaded.
    page.wait_for_load_state("domcontentloaded")
    page.keyboard.press("Control+k")
    expect(page.locator("#palette-input")).to_be_focused()


def _choose(page, text: str, option: str) -> None:
    """Type `text`, wait for `option` to be the active one (arrows if needed), press Enter."""
    page.keyboard.type(text)
    target = page.locator('#palette-list [role="option"]', has_text=option).first
    expect(target).to_be_visible()
    for _ in range(20):  # bounded: a handful of options match
        if target.get_attribute("aria-selected") == "true":
            break
        page.keyboard.press("ArrowDown")
    expect(target).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")


def test_the_command_palette_goes_to_a_page_and_a_task_by_keyboard_only(asgi_server, page, user, board):
    task = services.create_task(board=board, actor=Actor.for_user(user), title="Feed the wombat")
    base = asgi_server.url
    log_in(page, base, "owner")
    page.goto(f"{base}/overview/")

    page.keyboard.press("Control+k")
    palette_input = page.locator("#palette-input")
    expect(palette_input).to_be_focused()
    expect(page.get_by_role("dialog", name="Go to a page, board, task or agent")).to_be_visible()
    # Pages from the sidebar, filtered as one types; the first option is active.
    page.keyboard.type("agen")
    active = page.locator('#palette-list [role="option"][aria-selected="true"]')
    expect(active).to_contain_text("Agents")
    assert palette_input.get_attribute("aria-activedescendant") == active.get_attribute("id")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/agents/")

    # Search results inline: the arrow keys reach the task, Enter opens it.
    page.keyboard.press("Control+k")
    page.keyboard.type("wombat")
    option = page.locator('#palette-list [role="option"]', has_text="Feed the wombat")
    expect(option).to_be_visible()
    for _ in range(20):  # bounded: the options are the matching pages, then at most 8 hits
        if option.get_attribute("aria-selected") == "true":
            break
        page.keyboard.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/boards/{board.pk}/tasks/{task.pk}/")

    # "?" lists the shortcuts; Escape closes the dialog.
    page.locator("body").press("?")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts).to_be_visible()
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()
    assert not page.console_errors


def test_palette_actions_new_task_move_and_assign_by_keyboard_only(asgi_server, page, user, teammate, board):
    task = services.create_task(board=board, actor=Actor.for_user(user), title="Feed the wombat")
    base = asgi_server.url
    log_in(page, base, "teammate")
    page.goto(f"{base}/overview/")

    # New task: the action, then the board, then the title; the board page says it is added.
    _palette(page)
    _choose(page, "new task", "New task…")
    expect(page.locator("#palette-step")).to_have_text(
        "New task \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} On which board?"
    )
    _choose(page, "laun", "Launch")
    page.keyboard.type("Water the ferns")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Task “Water the ferns” added to the inbox.")).to_be_visible()
    assert Task.objects.get(title="Water the ferns").board == board

    # Move: Backspace on an empty box goes back a step, then on to the task and its new status.
    _palette(page)
    _choose(page, "move", "Move a task…")
    page.keyboard.press("Backspace")
    expect(page.locator("#palette-step")).to_be_hidden()
    _choose(page, "move", "Move a task…")
    _choose(page, "wombat", "Feed the wombat")
    # The open palette mid-action, at a phone's width and in dark: axe-clean, nothing overflows.
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme="dark")
    blocking = [
        v["id"] for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert blocking == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _choose(page, "progr", "In progress")
    expect(page).to_have_url(f"{base}/boards/{board.pk}/tasks/{task.pk}/")
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS

    # Assign: to a colleague of the task's organization.
    _palette(page)
    _choose(page, "assign", "Assign a task…")
    _choose(page, "wombat", "Feed the wombat")
    _choose(page, "owner", "owner")
    expect(page.get_by_text("“Feed the wombat” is assigned to owner.")).to_be_visible()
    task.refresh_from_db()
    assert task.assignee_user == user
    assert not page.console_errors


def test_a_viewer_is_offered_no_action_in_the_palette(asgi_server, page, viewer, board):
    base = asgi_server.url
    log_in(page, base, "viewer")
    with page.expect_response(lambda r: r.url.endswith("/overview/palette/")):
        _palette(page)
    page.keyboard.type("task")
    expect(page.locator("#palette-status")).to_have_text("Nothing found.")
    expect(page.locator('#palette-list [role="option"]', has_text="New task")).to_have_count(0)
