"""Browser: an admin invites a colleague who joins from another browser (two contexts); a member
finds a task from the keyboard shortcut. Real uvicorn, real Chromium, the CSP on."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from boards import services
from core.actors import Actor
from core.models import Membership, Role
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("consumers_inline")]


def test_an_admin_invites_a_colleague_who_joins_from_another_browser(
    asgi_server, page, browser, user, organization, settings
):
    settings.PUBLIC_BASE_URL = asgi_server.url  # the link we hand out points at this server
    base = asgi_server.url
    log_in(page, base, "owner")
    page.get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    page.fill("#id_email", "grace@example.com")
    page.select_option("#id_role", "operator")
    page.get_by_role("button", name="Create invitation").click()
    link = page.locator("#invitation-link").input_value()
    assert link.startswith(f"{base}/organizations/invitations/accept/?token=inv_")
    page.get_by_role("button", name="Copy link").click()

    guest_context = browser.new_context()
    guest = guest_context.new_page()
    guest.set_default_timeout(10_000)
    errors: list[str] = []
    guest.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    guest.goto(link)
    expect(guest.get_by_role("heading", name="Join Acme")).to_be_visible()
    guest.fill("#id_username", "grace")
    guest.fill("#id_password1", "a-long-unusual-passphrase")
    guest.fill("#id_password2", "a-long-unusual-passphrase")
    guest.get_by_role("button", name="Create account and join").click()
    expect(guest.get_by_text("Welcome to Acme: you joined as operator.")).to_be_visible()
    assert Membership.objects.get(user__username="grace", organization=organization).role == Role.OPERATOR

    guest.goto(link)  # the same link a second time
    expect(guest.get_by_role("heading", name="This invitation was already used")).to_be_visible()
    guest_context.close()

    page.goto(f"{base}/organizations/{organization.pk}/members/")
    grace = page.locator('tr[data-member="grace"]')
    expect(grace).to_be_visible()
    expect(grace.locator("select")).to_have_value("operator")
    expect(page.locator('tr[data-invitation="grace@example.com"]')).to_contain_text("Used")
    # The used link's page answers 410 on purpose; anything else (a CSP violation) is a bug.
    assert not page.console_errors and not [e for e in errors if "status of 410" not in e]


def test_a_member_searches_from_the_keyboard_shortcut_to_the_task(asgi_server, page, user, board):
    task = services.create_task(
        board=board, actor=Actor.for_user(user), title="Feed the quokka", description="Twice a day"
    )
    base = asgi_server.url
    log_in(page, base, "owner")
    page.keyboard.press("/")
    box = page.locator("#app-search-input")
    expect(box).to_be_focused()
    box.fill("quokkas")
    box.press("Enter")
    result = page.locator(".search-hit").first  # the task itself ranks above its activity entry
    expect(result.locator(".badge")).to_have_text("Task")
    expect(result.locator(".search-hit-title mark")).to_have_text("quokka")
    result.locator(".search-hit-title").click()
    expect(page).to_have_url(f"{base}/boards/{board.pk}/tasks/{task.pk}/")

    assert not page.console_errors
