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


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("/api/v1/redoc/", ":text('/api/v1/activity/'):visible"),
        # Swagger UI breaks a path's text with zero-width spaces; its data-path attribute is whole.
        ("/api/v1/docs/", '.opblock-summary-path[data-path="/api/v1/activity/"]'),
    ],
)
def test_the_api_reference_pages_load_everything_from_this_server(asgi_server, page, path, operation):
    """ReDoc and Swagger UI render without a single request elsewhere (the CSP allows only 'self',
    so one would show up as a blocked request and a console error)."""
    requested: list[str] = []
    failed: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: failed.append(f"{request.url} {request.failure}"))
    response = page.goto(f"{asgi_server.url}{path}")
    assert response.ok
    # Both render the schema's operations; waiting for one means every bundle and the schema loaded.
    page.locator(operation).first.wait_for()
    page.wait_for_load_state("networkidle")
    foreign = [url for url in requested if not url.startswith((asgi_server.url, "data:", "blob:"))]
    assert foreign == []
    assert failed == []
    assert page.console_errors == []
