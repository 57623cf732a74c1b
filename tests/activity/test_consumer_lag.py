"""Each log consumer's lag, on /metrics and on the operations page."""

from __future__ import annotations

import pytest
from django.db import transaction

from activity import following
from activity.services import record_activity
from core.actors import Actor
from tests.activity.log import drain_log
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "metrics-token-for-the-lag-tests-0123456789"


@pytest.fixture
def worker_away(settings, monkeypatch):
    """Production's arrangement with no worker running: only the live publisher follows."""
    settings.ACTIVITY_CONSUMERS_INLINE = False
    monkeypatch.setattr(following, "enqueue_follow", lambda: None)


def record(board, count: int) -> None:
    for n in range(count):
        with transaction.atomic():
            record_activity(
                organization=board.organization_id,
                board=board,
                actor=Actor.system(),
                verb="task.updated",
                target_type="task",
                target_id=n,
            )


def scrape(client, settings) -> str:
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return response.content.decode()


def test_a_consumer_behind_shows_its_lag_and_none_once_caught_up(client, settings, board, worker_away):
    record(board, 3)
    lags = {lag.name: lag for lag in following.consumer_lags()}
    assert lags["search"].events_behind == 3 and lags["search"].seconds_behind > 0
    assert lags["live"].events_behind == 0  # it runs after every commit, whatever the layout
    body = scrape(client, settings)
    assert 'mc_log_consumer_lag_events{consumer="search"} 3.0' in body
    assert 'mc_log_consumer_lag_events{consumer="live"} 0.0' in body
    drain_log()
    body = scrape(client, settings)
    assert 'mc_log_consumer_lag_events{consumer="search"} 0.0' in body
    assert 'mc_log_consumer_lag_seconds{consumer="search"} 0.0' in body


def test_the_operations_page_lists_every_consumer_with_its_lag(client, board, worker_away):
    record(board, 2)
    client.force_login(UserFactory(username="operator", is_staff=True))
    html = client.get("/ops/").content.decode()
    assert "Log consumers" in html
    for name in ("live", "deliveries", "search", "notifications", "alerts", "webhook-rules"):
        assert f'<td class="mono">{name}</td>' in html


def test_the_activity_api_pages_by_position(board, user):
    from rest_framework.test import APIClient

    record(board, 3)
    client = APIClient()
    client.force_authenticate(user)
    everything = client.get(f"/api/v1/activity/?board={board.pk}").json()["results"]
    positions = sorted(event["position"] for event in everything)
    newer = client.get(f"/api/v1/activity/?board={board.pk}&after_position={positions[0]}").json()["results"]
    assert sorted(event["position"] for event in newer) == positions[1:]
    refused = client.get("/api/v1/activity/?after_position=-1")
    assert refused.status_code == 400 and refused.json()["error"]["code"]
