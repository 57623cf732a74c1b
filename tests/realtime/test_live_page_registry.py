"""Live is the rule: every page whose data can change names the events that refresh it.

Each row: a page, a live region on it and the event-verb prefixes that must re-render that region
(`{% live_region %}`: data-live-follows, with the hx-get htmx refreshes it from when
static/js/live.js dispatches "live-refresh" on it). A page added to the product that shows
changing data gets a row here; the browser tests (tests/e2e/test_live*.py, test_overview.py,
test_usage.py) prove the wiring works.
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
    (
        "automations",
        "/boards/{board}/automations/",
        {"schedule.", "automation.", "pipeline."},
        "automations-live",
    ),
    ("board pipelines", "/boards/{board}/", {"pipeline.", "task.status_changed"}, "board-pipelines"),
    ("overview numbers", "/overview/", {"task.", "approval.", "webhook.", "delivery."}, "overview-numbers"),
    ("overview fleet", "/overview/", {"task.", "agent."}, "overview-fleet"),
    ("standup", "/standups/", {"task.", "approval.", "usage.", "standup."}, "standup-figures"),
    (
        "board standup",
        "/standups/boards/{board}/",
        {"task.", "approval.", "usage.", "standup."},
        "standup-people",
    ),
]


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
    tag = re.search(rf'<[a-z]+ [^>]*id="{region}"[^>]*>', html)
    assert tag, f"{name}: no live region #{region}"
    declared = re.search(r'data-live-follows="([^"]*)"', tag.group(0))
    assert declared, f"{name}: #{region} follows nothing"
    assert prefixes <= set(declared.group(1).split()), f"{name}: refreshes on {declared.group(1)!r}"
    assert re.search(r'hx-get="[^"]+"', tag.group(0)) and 'hx-trigger="live-refresh"' in tag.group(0)
    assert "js/live.js" in html and 'id="live-status"' in html
