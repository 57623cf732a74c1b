"""The real ASGI server serves the login page and a logged-in user reaches the boards page."""

import pytest

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e


def test_a_user_logs_in_and_sees_the_app_chrome(asgi_server, page, user):
    response = page.goto(f"{asgi_server.url}/")
    assert response.ok
    assert "/login/" in page.url
    log_in(page, asgi_server.url, "owner")
    assert page.locator("nav.nav").is_visible()
    for label in ("Boards", "Agents", "Webhooks", "Deliveries", "Activity"):
        assert page.locator("nav.nav", has_text=label).count() == 1
    assert page.console_errors == []
