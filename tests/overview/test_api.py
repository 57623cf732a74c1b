"""`GET /api/v1/metrics/…`: the overview's numbers for tools and agents, in the schema."""

from __future__ import annotations

import pytest

from tests.agents.factories import agent_with_token, bearer
from tests.factories import BoardFactory, TaskFactory

pytestmark = pytest.mark.django_db


def test_kpis_come_with_the_previous_period_and_wip(api_client, board, organization):
    TaskFactory(board=board, status="blocked")
    response = api_client.get("/api/v1/metrics/kpis", {"organization": organization.pk, "days": 30})
    assert response.status_code == 200
    data = response.json()
    assert data["period"]["days"] == 30 and data["previous_period"]["end"] == data["period"]["start"]
    keys = [kpi["key"] for kpi in data["kpis"]]
    assert keys == [
        "tasks_done",
        "throughput_per_day",
        "cycle_median_seconds",
        "cycle_p90_seconds",
        "lead_median_seconds",
        "lead_p90_seconds",
        "webhooks_received",
        "webhooks_refused",
        "delivery_success_rate",
    ]
    assert data["wip"] == {"inbox": 0, "in_progress": 0, "review": 0, "blocked": 1}


def test_the_api_gives_the_same_values_as_the_metrics(api_client, fixed_history, organization):
    # fixed_history is dated March 2026; today's period holds none of it, the figures are zero.
    data = api_client.get("/api/v1/metrics/kpis", {"organization": organization.pk}).json()
    assert {kpi["key"]: kpi["value"] for kpi in data["kpis"]}["tasks_done"] == 0


@pytest.mark.parametrize(
    ("params", "code"), [({"days": "14"}, "invalid_parameter"), ({"board": "x"}, "invalid_parameter")]
)
def test_bad_parameters_are_a_400(api_client, board, organization, params, code):
    response = api_client.get("/api/v1/metrics/kpis", {"organization": organization.pk, **params})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_another_organization_is_a_404(api_client, board, other_organization):
    response = api_client.get("/api/v1/metrics/kpis", {"organization": other_organization.pk})
    assert response.status_code == 404


def test_charts_carry_the_series_the_page_draws(api_client, board, organization):
    data = api_client.get("/api/v1/metrics/charts", {"organization": organization.pk}).json()
    ids = [chart["id"] for chart in data["charts"]]
    assert ids[:3] == ["chart-throughput", "chart-cycle-time", "chart-webhooks"]
    assert len(data["charts"][0]["x"]) == 7


def test_fleet_lists_agents_and_attention_groups(api_client, board, organization):
    agent, _, _ = agent_with_token(organization=organization, boards=[board], name="scout")
    TaskFactory(board=board, assignee_agent=agent, title="held")
    data = api_client.get("/api/v1/metrics/fleet", {"organization": organization.pk}).json()
    (tile,) = data["agents"]
    assert tile["name"] == "scout" and tile["presence"] == "offline" and tile["claimed_count"] == 1
    groups = {group["key"]: group for group in data["attention"]}
    assert groups["offline_holders"]["total"] == 1
    assert groups["offline_holders"]["items"][0]["url"] == f"/agents/{agent.pk}/"


def test_an_agent_reads_its_own_organization_narrowed_to_its_boards(client, board, organization):
    elsewhere = BoardFactory(organization=organization, name="Elsewhere", slug="elsewhere")
    TaskFactory(board=board, status="blocked")
    TaskFactory(board=elsewhere, status="blocked")
    _agent, _token, raw = agent_with_token(organization=organization, boards=[board])
    data = client.get("/api/v1/metrics/kpis", **bearer(raw)).json()
    assert data["boards"] == [board.pk]
    assert data["wip"]["blocked"] == 1
    assert client.get("/api/v1/metrics/kpis", {"board": elsewhere.pk}, **bearer(raw)).status_code == 404


def test_the_schema_documents_the_metrics_and_exports(api_client):
    schema = api_client.get("/api/v1/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/metrics/kpis/",
        "/api/v1/metrics/charts/",
        "/api/v1/metrics/fleet/",
        "/api/v1/exports/{dataset}/",
    ):
        assert path in schema["paths"], path
    assert "KpiReport" in schema["components"]["schemas"]
