"""The rule editor, the dry run on it, and the outcomes on the payload page."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.webhook_rules import github
from tests.webhook_rules.conftest import store
from webhook_rules import services
from webhook_rules.models import WebhookRule

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_github_preset_is_one_click(user, webhook):
    response = logged_in(user).post(f"/webhooks/{webhook.pk}/rules/presets/", {"preset": "github"})
    assert response.status_code == 302
    assert WebhookRule.objects.filter(webhook=webhook, name="GitHub issue opened").exists()


def test_a_bad_condition_is_shown_on_its_field_with_the_position(user, webhook):
    response = logged_in(user).post(
        f"/webhooks/{webhook.pk}/rules/",
        {
            "name": "Broken",
            "enabled": "on",
            "position": 1,
            "action": "create_task",
            "condition": "action == 'opened' &&",
            "external_id_template": "${issue.number}",
        },
    )
    assert response.status_code == 400
    assert "condition: unexpected end of the expression at position 21." in response.content.decode()
    assert not WebhookRule.objects.exists()


def test_the_dry_run_on_the_editor_shows_the_rendered_task(
    user, github_webhook, django_assert_max_num_queries
):
    payload = store(github_webhook, github.labeled("bug"))
    client = logged_in(user)
    with django_assert_max_num_queries(16):
        response = client.get(f"/webhooks/{github_webhook.pk}/rules/?payload={payload.pk}")
    page = response.content.decode()
    assert response.status_code == 200
    assert "GitHub issue changed: <strong>matches</strong>" in page
    assert "octo-org/octo-repo#1347" in page


def test_a_viewer_sees_the_rules_but_no_editing(viewer, github_webhook):
    page = logged_in(viewer).get(f"/webhooks/{github_webhook.pk}/rules/").content.decode()
    assert "GitHub issue opened" in page
    assert "Add rule" not in page
    assert (
        logged_in(viewer).post(f"/webhooks/{github_webhook.pk}/rules/presets/", {"preset": "ci"}).status_code
        == 403
    )


def test_the_payload_page_says_what_the_rules_did(user, github_webhook):
    payload = store(github_webhook, github.OPENED)
    services.apply_rules(payload_id=payload.pk)
    missed = store(github_webhook, github.issues_event("milestoned"))
    services.apply_rules(payload_id=missed.pk)

    page = logged_in(user).get(f"/webhooks/payloads/{payload.pk}/").content.decode()
    assert "GitHub issue opened" in page and "Created task #" in page

    page = logged_in(user).get(f"/webhooks/payloads/{missed.pk}/").content.decode()
    assert "No rule matched" in page and "condition is false" in page


def test_the_login_table_is_saved_from_lines(user, teammate, github_webhook):
    response = logged_in(user).post(
        f"/webhooks/{github_webhook.pk}/rules/tables/",
        {
            "labels": "bug | bug | urgent\nwontfix | |",
            "logins": "octocat | user:teammate",
        },
    )
    assert response.status_code == 302
    tables = github_webhook.rule_mappings
    tables.refresh_from_db()
    assert tables.labels == {"bug": {"tag": "bug", "priority": "urgent"}, "wontfix": {"tag": ""}}
    assert tables.logins == {"octocat": "user:teammate"}
