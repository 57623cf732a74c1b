"""Live is the rule: every page whose data can change names the events that refresh it.

Each row: a page, and the event-verb prefixes that must re-render it (body[data-live-refresh],
handled by static/js/live.js, which swaps the page's [data-live-region] elements), or the page's
own live script. A page added to the product that shows changing data gets a row here; the
browser tests (tests/e2e/test_live*.py, test_overview.py, test_usage.py) prove the wiring works.
"""

from __future__ import annotations

import re

import pytest

from deliveries.models import Delivery, DeliveryStatus, Subscription
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

# (name, URL template, prefixes that must refresh it, a live region that must exist)
LIVE_PAGES = [
    ("dead letters", "/deliveries/", {"delivery."}, "delivery-list"),
    ("board deliveries", "/deliveries/boards/{board}/", {"delivery."}, "delivery-list"),
    ("delivery", "/deliveries/{delivery}/", {"delivery."}, "delivery-live"),
    ("task", "/boards/{board}/tasks/{task}/", {"task.", "comment.", "approval.", "usage."}, "task-cost"),
    ("usage", "/usage/", {"usage."}, "usage-summary"),
    ("standup", "/standups/", {"task.", "approval.", "usage.", "standup."}, "standup-figures"),
    (
        "board standup",
        "/standups/boards/{board}/",
        {"task.", "approval.", "usage.", "standup."},
        "standup-people",
    ),
]
# Pages whose own script follows the stream (overview.js: numbers and fleet, incl. agent status).
SCRIPTED_PAGES = [("overview", "/overview/", "js/overview.js", ("overview-numbers", "overview-fleet"))]


@pytest.fixture
def ids(organization, board):
    subscription = Subscription.objects.create(
        organization=organization, board=board, target_url="https://e.x/h"
    )
    delivery = Delivery.objects.create(
        organization=organization,
        board=board,
        subscription=subscription,
        target_url=subscription.target_url,
        event_type="task.moved",
        payload={},
        status=DeliveryStatus.DEAD,
    )
    return {"board": board.pk, "task": TaskFactory(board=board).pk, "delivery": delivery.pk}


@pytest.mark.parametrize(("name", "url", "prefixes", "region"), LIVE_PAGES, ids=[p[0] for p in LIVE_PAGES])
def test_each_live_page_refreshes_on_its_events(client, user, ids, name, url, prefixes, region):
    client.force_login(user)
    html = client.get(url.format(**ids)).content.decode()
    declared = re.search(r'<body[^>]*data-live-refresh="([^"]*)"', html)
    assert declared, f"{name}: no data-live-refresh on <body>"
    assert prefixes <= set(declared.group(1).split()), f"{name}: refreshes on {declared.group(1)!r}"
    assert re.search(rf'id="{region}"[^>]*data-live-region', html), f"{name}: no live region #{region}"
    assert "js/live.js" in html and 'id="live-status"' in html


@pytest.mark.parametrize(
    ("name", "url", "script", "regions"), SCRIPTED_PAGES, ids=[p[0] for p in SCRIPTED_PAGES]
)
def test_each_scripted_live_page_loads_its_script_and_regions(client, user, ids, name, url, script, regions):
    client.force_login(user)
    html = client.get(url.format(**ids)).content.decode()
    assert script in html and "js/live.js" in html
    for region in regions:
        assert f'id="{region}" data-fragment-url=' in html, f"{name}: #{region}"
