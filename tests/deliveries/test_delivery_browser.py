"""In Chromium, against the real ASGI server: the dead-letter page's htmx replay button swaps
its row, under the strict CSP (no inline script), without console errors."""

from __future__ import annotations

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from deliveries.models import Delivery, DeliveryStatus
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.deliveries.factories import subscribe
from tests.deliveries.test_delivery_api import make_delivery
from tests.e2e.conftest import _module_asgi_server, asgi_server, browser, log_in, page  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("consumers_inline")]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_replaying_a_dead_letter_from_the_page(asgi_server, page, user, organization, board):  # noqa: F811
    with override_settings(DELIVERY_ALLOWED_HOSTS=["hooks.internal.test"]):
        subscription, _ = subscribe(
            user=user, organization=organization, board=board, url="https://hooks.internal.test/in"
        )
    delivery = make_delivery(subscription, attempts=2)

    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/deliveries/")
    row = page.locator(f"#delivery-{delivery.pk}")
    row.get_by_role("button", name="Replay").click()
    # Replay asks first, in the page's own dialog; cancelling sends nothing.
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    assert f"Replay delivery #{delivery.pk}" in dialog.inner_text()
    dialog.get_by_role("button", name="Cancel").click()
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DEAD
    row.get_by_role("button", name="Replay").click()
    dialog.get_by_role("button", name="Replay").click()
    # The row turns Pending, then the list's live refresh (delivery.replayed) drops it: the page
    # lists dead letters, and this one is no longer dead.
    expect(page.locator(f"#delivery-{delivery.pk}")).to_have_count(0)
    expect(page.locator("#delivery-list")).to_contain_text("No dead letters")

    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.PENDING
    assert page.console_errors == []
