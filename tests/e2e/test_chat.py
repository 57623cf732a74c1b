"""Board chat and notifications in Chromium against the real ASGI server: an agent's post shows on
people's open board pages, a mention composed from the keyboard, the bell's live count, a muted
board, and script-shaped messages and agent names that stay inert."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from chat.services import post_message
from core.actors import Actor
from notifications.models import BoardMute, Notification
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.agents.factories import agent_with_token
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("consumers_inline")]

CHAT_READY = '#board-chat[data-chat-ready="true"]'
LIVE = '#live-status[data-state="live"]'
XSS = (
    "<script>alert('xss-script')</script> <img src=x onerror=\"alert('xss-img')\"> "
    "[x](javascript:alert('xss-link'))"
)


def open_board(page, base_url: str, username: str, board) -> None:
    log_in(page, base_url, username)
    page.goto(f"{base_url}/boards/{board.pk}/")
    page.wait_for_selector(LIVE)
    page.wait_for_selector(CHAT_READY)


def agent_post(base_url: str, raw_token: str, board, body: str) -> dict:
    response = httpx.post(
        f"{base_url}/api/v1/agent/boards/{board.pk}/chat/",
        json={"body": body},
        headers={"Authorization": f"Bearer {raw_token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


def second_page(browser):
    context = browser.new_context()
    other = context.new_page()
    other.set_default_timeout(10_000)
    errors: list[str] = []
    other.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    other.console_errors = errors
    return context, other


def test_an_agents_post_appears_on_two_peoples_open_board_pages(
    asgi_server, browser, page, user, teammate, organization, board
):
    _agent, _token, raw = agent_with_token(organization=organization, name="release-bot", boards=[board])
    context, other = second_page(browser)
    try:
        open_board(page, asgi_server.url, "owner", board)
        open_board(other, asgi_server.url, "teammate", board)
        # The event carries the message: no page fetches it (chat.services.message_wire).
        fetched: list[str] = []
        for viewer in (page, other):
            viewer.on("request", lambda r: fetched.append(r.url) if "/chat/" in r.url else None)

        message = agent_post(asgi_server.url, raw, board, "Load test **finished**: p99 120 ms")

        for viewer in (page, other):
            item = viewer.wait_for_selector(f"#chat-message-{message['id']}")
            assert "Load test finished" in item.inner_text()
            assert viewer.locator(f"#chat-message-{message['id']} strong", has_text="finished").count() == 1
            assert viewer.locator(f"#chat-message-{message['id']}").count() == 1
            assert "agent" in viewer.locator(f"#chat-message-{message['id']} .chat-message-head").inner_text()
        # An agent's message: the owner (an admin) may delete it, the teammate (operator) may not.
        expect(page.locator(f"#chat-message-{message['id']} .chat-delete")).to_have_count(1)
        expect(other.locator(f"#chat-message-{message['id']} .chat-delete")).to_have_count(0)
        assert fetched == []
        assert not page.console_errors and not other.console_errors
    finally:
        context.close()


def test_a_mention_typed_with_the_keyboard_reaches_the_agent_and_the_bell(
    asgi_server, browser, page, user, teammate, organization, board
):
    agent_with_token(organization=organization, name="release-bot", boards=[board])
    context, other = second_page(browser)
    try:
        # The owner keeps another page open; the bell on it counts live.
        missing: list[str] = []
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        log_in(page, asgi_server.url, "owner")
        page.goto(f"{asgi_server.url}/")
        page.wait_for_selector('#notification-count[data-unread="0"]', state="attached")

        open_board(other, asgi_server.url, "teammate", board)
        composer = other.locator("#board-chat textarea[name=body]")
        composer.click()
        composer.type("Ship it @rel")
        other.wait_for_selector('#board-chat .chat-suggestions [role="option"]')
        other.keyboard.press("Enter")  # picks the highlighted suggestion
        composer.type("and @own")
        other.wait_for_selector('#board-chat .chat-suggestions [role="option"][data-name="owner"]')
        other.keyboard.press("ArrowDown")
        other.keyboard.press("ArrowUp")
        other.keyboard.press("Tab")
        assert composer.input_value() == "Ship it @release-bot and @owner "
        other.keyboard.press("Enter")  # sends
        other.wait_for_selector("#board-chat .chat-message a.mention")

        page.wait_for_selector('#notification-count[data-unread="1"]')
        assert page.locator("#notification-count").inner_text() == "1"
        assert Notification.objects.filter(recipient=user).count() == 1
        links = other.locator("#board-chat .chat-message a.mention")
        assert sorted(links.all_inner_texts()) == ["@owner", "@release-bot"]

        # Reading it on the notifications page brings the bell back to zero, live.
        page.goto(f"{asgi_server.url}/notifications/")
        page.click("#mark-all-read")
        page.wait_for_selector('#notification-count[data-unread="0"]', state="attached")
        assert not missing, missing
        assert not page.console_errors and not other.console_errors
    finally:
        context.close()


def test_a_muted_board_notifies_nothing(asgi_server, browser, page, user, teammate, board):
    context, other = second_page(browser)
    try:
        open_board(page, asgi_server.url, "owner", board)
        page.click(".mute-toggle button")
        page.wait_for_selector(".mute-toggle button[aria-pressed=true]")
        assert BoardMute.objects.filter(user=user, board=board).exists()
        page.wait_for_selector('#notification-count[data-unread="0"]', state="attached")

        open_board(other, asgi_server.url, "teammate", board)
        other.fill("#board-chat textarea[name=body]", "@owner @here are you there?")
        other.click("#board-chat .chat-composer button[type=submit]")
        message = other.wait_for_selector("#board-chat .chat-message")
        page.wait_for_selector(f"#{message.get_attribute('id')}")  # the muted board still shows it live

        assert not Notification.objects.filter(recipient=user).exists()
        assert page.locator("#notification-count").get_attribute("data-unread") == "0"
    finally:
        context.close()


def test_script_in_messages_and_agent_names_is_inert(asgi_server, page, user, organization, board):
    _agent, _token, raw = agent_with_token(
        organization=organization, name="<img src=x onerror=\"alert('xss-name')\">", boards=[board]
    )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_board(page, asgi_server.url, "owner", board)

    live = agent_post(asgi_server.url, raw, board, XSS)
    page.wait_for_selector(f"#chat-message-{live['id']}")
    page.reload()  # the server-rendered panel, and the live fragment above
    page.wait_for_selector(f"#chat-message-{live['id']}")
    page.wait_for_timeout(300)

    assert dialogs == []
    message = page.locator(f"#chat-message-{live['id']}")
    assert message.locator("script, img, [onerror]").count() == 0
    assert message.locator("a[href^='javascript']").count() == 0
    assert "onerror" in message.locator(".chat-author").inner_text()  # shown as text
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_scrolling_up_loads_history_back_to_the_first_message(
    asgi_server, page, user, teammate, board, settings
):
    settings.CHAT_POST_RATE = "10000/60s"
    for n in range(65):
        post_message(board=board, actor=Actor.for_user(teammate), body=f"history note {n}")
    open_board(page, asgi_server.url, "owner", board)
    messages = page.locator("#board-chat .chat-messages")
    assert page.locator("#board-chat .chat-message").count() == 30
    for expected in (60, 65):
        messages.evaluate("list => { list.scrollTop = 0; }")
        expect(page.locator("#board-chat .chat-message")).to_have_count(expected)
    assert page.locator("#board-chat .chat-message").first.inner_text().find("history note 0") >= 0
    assert page.locator("#board-chat .chat-history-sentinel").count() == 0
    assert not page.console_errors
