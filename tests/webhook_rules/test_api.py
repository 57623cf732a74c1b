"""The rules API: scoped to the caller's organizations, admins write, errors in the API's shape."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.webhook_rules import github
from tests.webhook_rules.conftest import store
from webhook_rules import services
from webhook_rules.models import PayloadRuleOutcome, WebhookRule

pytestmark = pytest.mark.django_db

RULE = {
    "name": "Opened",
    "events": "issues",
    "condition": "action == 'opened'",
    "action": "create_task",
    "external_id_template": "${repository.full_name}#${issue.number}",
    "title_template": "${issue.title}",
}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def api_client(user):
    """The owner (an admin), as a session without CSRF enforcement, like the webhooks API tests."""
    return client_for(user)


def test_an_admin_creates_lists_and_updates_rules(api_client, webhook):
    created = api_client.post(f"/api/v1/webhooks/{webhook.pk}/rules/", RULE, format="json")
    assert created.status_code == 201, created.json()
    rule_id = created.json()["id"]

    updated = api_client.patch(
        f"/api/v1/webhooks/{webhook.pk}/rules/{rule_id}/", {"enabled": False}, format="json"
    )
    assert updated.status_code == 200 and updated.json()["enabled"] is False

    listed = api_client.get(f"/api/v1/webhooks/{webhook.pk}/rules/")
    assert [r["name"] for r in listed.json()] == ["Opened"]


def test_a_bad_condition_is_a_400_naming_the_field_and_position(api_client, webhook):
    response = api_client.post(
        f"/api/v1/webhooks/{webhook.pk}/rules/", {**RULE, "condition": "action == 'opened' &&"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_expression",
            "message": "condition: unexpected end of the expression at position 21.",
        }
    }
    assert not WebhookRule.objects.exists()


def test_an_operator_reads_but_cannot_write_rules(teammate, webhook):
    client = client_for(teammate)
    assert client.get(f"/api/v1/webhooks/{webhook.pk}/rules/").status_code == 200
    response = client.post(f"/api/v1/webhooks/{webhook.pk}/rules/", RULE, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_another_organization_gets_404_everywhere(outsider, github_webhook):
    client = client_for(outsider)
    payload = store(github_webhook, github.OPENED)
    rule = github_webhook.rules.first()
    for method, path in [
        ("get", f"/api/v1/webhooks/{github_webhook.pk}/rules/"),
        ("get", f"/api/v1/webhooks/{github_webhook.pk}/rules/{rule.pk}/"),
        ("post", f"/api/v1/webhooks/{github_webhook.pk}/rules/dry-run/"),
        ("get", f"/api/v1/webhooks/{github_webhook.pk}/rule-mappings/"),
        ("get", f"/api/v1/webhooks/{github_webhook.pk}/payloads/{payload.pk}/rule-outcomes/"),
        ("post", f"/api/v1/webhooks/{github_webhook.pk}/payloads/{payload.pk}/reapply-rules/"),
    ]:
        response = getattr(client, method)(path, {"payload": payload.pk}, format="json")
        assert response.status_code == 404, path


def test_applying_the_github_preset_through_the_api(api_client, webhook):
    response = api_client.post(
        f"/api/v1/webhooks/{webhook.pk}/rules/presets/", {"preset": "github"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()[0]["name"] == "GitHub issue opened"
    tables = api_client.get(f"/api/v1/webhooks/{webhook.pk}/rule-mappings/").json()
    assert tables["labels"]["bug"] == {"tag": "bug", "priority": "high"}


def test_an_unknown_preset_is_a_400(api_client, webhook):
    response = api_client.post(
        f"/api/v1/webhooks/{webhook.pk}/rules/presets/", {"preset": "jira"}, format="json"
    )
    assert response.status_code == 400


def test_dry_run_over_the_api_writes_nothing(api_client, github_webhook):
    payload = store(github_webhook, github.OPENED)
    response = api_client.post(
        f"/api/v1/webhooks/{github_webhook.pk}/rules/dry-run/", {"payload": payload.pk}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["matched"]["title"] == "Found a bug"
    assert not PayloadRuleOutcome.objects.exists()


def test_dry_run_of_another_webhooks_payload_is_a_404(api_client, github_webhook, board, user):
    from core.actors import Actor
    from webhooks import services as webhook_services

    other, _ = webhook_services.create_webhook(board=board, actor=Actor.for_user(user), description="other")
    payload = store(other, github.OPENED)
    response = api_client.post(
        f"/api/v1/webhooks/{github_webhook.pk}/rules/dry-run/", {"payload": payload.pk}, format="json"
    )
    assert response.status_code == 404


def test_outcomes_are_listed_per_payload(api_client, github_webhook, django_assert_max_num_queries):
    payload = store(github_webhook, github.OPENED)
    services.apply_rules(payload_id=payload.pk)
    services.apply_rules(payload_id=payload.pk)
    with django_assert_max_num_queries(6):
        response = api_client.get(
            f"/api/v1/webhooks/{github_webhook.pk}/payloads/{payload.pk}/rule-outcomes/"
        )
    assert [o["status"] for o in response.json()] == ["applied", "unchanged"]


def test_the_login_table_refuses_strangers_with_a_clear_error(api_client, webhook):
    response = api_client.put(
        f"/api/v1/webhooks/{webhook.pk}/rule-mappings/", {"logins": {"octocat": "user:nobody"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_assignee"


def test_reapply_queues_the_payload_for_the_worker(
    api_client, github_webhook, monkeypatch, django_capture_on_commit_callbacks
):
    from webhook_rules import tasks

    queued = []
    monkeypatch.setattr(tasks.apply_webhook_rules, "delay", queued.append)
    payload = store(github_webhook, github.OPENED)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            f"/api/v1/webhooks/{github_webhook.pk}/payloads/{payload.pk}/reapply-rules/"
        )
    assert response.status_code == 202
    assert queued == [payload.pk]


def test_the_rules_api_is_in_the_schema(api_client):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "/api/v1/webhooks/{webhook_pk}/rules/" in paths
    assert "/api/v1/webhooks/{webhook_pk}/rules/dry-run/" in paths
    assert "/api/v1/webhooks/{webhook_pk}/payloads/{id}/rule-outcomes/" in paths or any(
        p.endswith("/rule-outcomes/") for p in paths
    )
