"""The overview's gauges on /metrics and the beat task that keeps the rollup caught up."""

from __future__ import annotations

import pytest

from boards.services import create_task
from core.actors import Actor
from overview.models import TaskFlow
from overview.tasks import refresh_task_flow_rollup
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests-0123456789"


def scrape(client, settings) -> str:
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return response.content.decode()


def test_open_tasks_per_organization_and_column_are_gauges(client, settings, board):
    TaskFactory(board=board, status="blocked")
    TaskFactory(board=board, status="blocked")
    TaskFactory(board=board, status="done")
    text = scrape(client, settings)
    assert 'mc_tasks_open{organization="acme",status="blocked"} 2.0' in text
    assert 'status="done"' not in text


def test_the_rollup_lag_gauge_drops_to_zero_after_the_beat_task(client, settings, board, user):
    create_task(board=board, actor=Actor.for_user(user), title="new")
    # (The lag before the task is measured in tests/overview/test_metrics.py: on PostgreSQL an
    # event has its position only once committed, which this test's transaction never is.)
    assert refresh_task_flow_rollup() >= 1
    assert TaskFlow.objects.filter(task__title="new").exists()
    assert "mc_overview_rollup_lag_events 0.0" in scrape(client, settings)
