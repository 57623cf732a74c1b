"""The alerts API: scoped to the caller's organizations, errors as {"error": {...}}, in the schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import AlertRule, Incident, IncidentState
from tests.agents.test_human_api import client_for
from tests.alerts.conftest import evaluate
from tests.factories import AgentFactory, BoardFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_client(user) -> APIClient:
    """The admin, without CSRF enforcement (tested project-wide in tests/security)."""
    return client_for(user)


@pytest.fixture
def incident(make_rule, organization):
    AgentFactory(organization=organization, name="bot", last_seen_at=timezone.now() - timedelta(hours=1))
    [opened] = evaluate(make_rule("agent_offline", {"minutes": 5})).opened
    return opened


def test_the_catalogue_lists_every_condition_with_its_parameters(api_client):
    response = api_client.get("/api/v1/alert-conditions/")
    conditions = {c["key"]: c for c in response.json()}
    assert set(conditions) == {
        "agent_offline",
        "task_in_column",
        "approval_waiting",
        "dead_letters",
        "subscription_disabled",
        "webhook_refusals",
        "webhook_silence",
        "usage_over_budget",
        "events_matching",
        "gateway_unreachable",
    }
    assert conditions["usage_over_budget"]["active"] is True
    minutes = conditions["agent_offline"]["params"][0]
    assert (minutes["name"], minutes["minimum"], minutes["maximum"]) == ("minutes", 1, 10080)


def test_an_admin_creates_a_rule_and_gets_it_back(api_client, organization, board):
    response = api_client.post(
        "/api/v1/alert-rules/",
        {
            "organization": organization.pk,
            "board": board.pk,
            "name": "Stuck review",
            "condition": "task_in_column",
            "params": {"column": "review", "hours": 48},
            "cooldown_minutes": 120,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["params"] == {"column": "review", "hours": 48} and body["board"] == board.pk
    assert api_client.get(f"/api/v1/alert-rules/{body['id']}/").json()["name"] == "Stuck review"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"column": "done", "hours": 4}, "invalid_params"),
        ({"column": "review", "hours": 0}, "invalid_params"),
        ({"column": "review", "hours": 721}, "invalid_params"),
    ],
)
def test_it_rejects_bad_parameters_with_a_json_error(api_client, organization, params, code):
    response = api_client.post(
        "/api/v1/alert-rules/",
        {
            "organization": organization.pk,
            "name": "x",
            "condition": "task_in_column",
            "params": params,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_it_rejects_an_unknown_condition_and_an_inactive_one(api_client, organization, monkeypatch):
    from alerts.conditions import CATALOGUE, Condition

    class Planned(Condition):
        key = "planned"
        label = "Planned"
        active = False
        inactive_reason = "not built yet."

    monkeypatch.setitem(CATALOGUE, "planned", Planned())
    unknown = api_client.post(
        "/api/v1/alert-rules/",
        {"organization": organization.pk, "name": "x", "condition": "moon_phase"},
        format="json",
    )
    inactive = api_client.post(
        "/api/v1/alert-rules/",
        {
            "organization": organization.pk,
            "name": "y",
            "condition": "planned",
        },
        format="json",
    )
    assert unknown.json()["error"]["code"] == "unknown_condition"
    assert inactive.json()["error"]["code"] == "condition_inactive"


def test_an_operator_cannot_create_a_rule(teammate, organization):
    response = client_for(teammate).post(
        "/api/v1/alert-rules/",
        {
            "organization": organization.pk,
            "name": "x",
            "condition": "approval_waiting",
            "params": {"hours": 1},
        },
        format="json",
    )
    assert response.status_code == 403
    assert not AlertRule.objects.exists()


def test_an_outsider_cannot_create_a_rule_in_another_organization_or_on_its_board(
    outsider, organization, other_organization
):
    client = client_for(outsider)
    response = client.post(
        "/api/v1/alert-rules/",
        {"organization": organization.pk, "name": "x", "condition": "approval_waiting"},
        format="json",
    )
    assert response.status_code == 404
    foreign_board = BoardFactory(organization=organization, slug="foreign")
    response = client.post(
        "/api/v1/alert-rules/",
        {
            "organization": other_organization.pk,
            "board": foreign_board.pk,
            "name": "x",
            "condition": "approval_waiting",
        },
        format="json",
    )
    assert response.status_code == 404


def test_an_outsider_sees_no_incidents_and_gets_404_for_one(outsider, incident):
    client = client_for(outsider)
    assert client.get("/api/v1/incidents/").json()["results"] == []
    assert client.get(f"/api/v1/incidents/{incident.pk}/").status_code == 404
    assert client.post(f"/api/v1/incidents/{incident.pk}/acknowledge/", {}, format="json").status_code == 404


def test_an_operator_acknowledges_and_snoozes_through_the_api(teammate, incident):
    client = client_for(teammate)
    response = client.post(
        f"/api/v1/incidents/{incident.pk}/snooze/", {"minutes": 30, "reason": "deploy"}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "snoozed"
    response = client.post(f"/api/v1/incidents/{incident.pk}/acknowledge/", {"reason": "mine"}, format="json")
    body = response.json()
    assert body["state"] == "acknowledged" and body["acknowledged_by"] == "teammate"
    assert [e["kind"] for e in body["entries"]][-2:] == ["snoozed", "acknowledged"]


@pytest.mark.parametrize("minutes", [0, 10081])
def test_it_rejects_a_snooze_outside_the_limits(teammate, incident, minutes):
    response = client_for(teammate).post(
        f"/api/v1/incidents/{incident.pk}/snooze/", {"minutes": minutes}, format="json"
    )
    assert response.status_code == 400 and "error" in response.json()


def test_acknowledging_a_resolved_incident_is_a_conflict(teammate, incident):
    Incident.objects.filter(pk=incident.pk).update(state=IncidentState.RESOLVED)
    response = client_for(teammate).post(f"/api/v1/incidents/{incident.pk}/acknowledge/", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "incident_resolved"


def test_the_incident_list_filters_by_state_in_few_queries(
    api_client, incident, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        response = api_client.get("/api/v1/incidents/?state=firing&state=acknowledged")
    assert [i["id"] for i in response.json()["results"]] == [incident.pk]
    assert api_client.get("/api/v1/incidents/?state=resolved").json()["results"] == []


def test_the_preview_answers_for_an_unsaved_rule(api_client, organization):
    response = api_client.post(
        "/api/v1/alert-rules/preview/",
        {
            "organization": organization.pk,
            "condition": "approval_waiting",
            "params": {"hours": 3},
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {"fired": 0, "suppressed": 0, "subjects": 0, "days": 7, "note": ""}


def test_the_test_action_refuses_a_channel_that_is_not_set_up(api_client, make_rule):
    rule = make_rule("approval_waiting", {"hours": 3})
    response = api_client.post(f"/api/v1/alert-rules/{rule.pk}/test/", {"channel": "webhook"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "channel_not_configured"


def test_the_schema_documents_the_alerts_endpoints(api_client):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/alert-rules/",
        "/api/v1/alert-rules/preview/",
        "/api/v1/alert-rules/{id}/test/",
        "/api/v1/incidents/",
        "/api/v1/incidents/{id}/acknowledge/",
        "/api/v1/incidents/{id}/snooze/",
        "/api/v1/alert-conditions/",
    ):
        assert path in paths, path
