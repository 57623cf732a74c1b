"""Saving rules: bad expressions refused with their position; safe templates; dry run; presets."""

from __future__ import annotations

import pytest

from boards.models import Task
from core.actors import Actor
from infra.exceptions import DomainError, PermissionDenied
from tests.webhook_rules import github
from tests.webhook_rules.conftest import store
from webhook_rules import services
from webhook_rules.expressions import ExpressionError, render_template
from webhook_rules.models import PayloadRuleOutcome, RuleAction, WebhookRule

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Opened issues",
    "events": "issues",
    "condition": "action == 'opened' && issue.pull_request == null",
    "action": RuleAction.CREATE_TASK,
    "external_id_template": "${repository.full_name}#${issue.number}",
    "title_template": "${issue.title}",
}


def test_it_saves_a_valid_rule_at_the_end_of_the_list(webhook, user):
    first = services.create_rule(webhook=webhook, actor=Actor.for_user(user), **VALID)
    second = services.create_rule(webhook=webhook, actor=Actor.for_user(user), **{**VALID, "name": "Two"})
    assert list(WebhookRule.objects.filter(webhook=webhook)) == [first, second]


@pytest.mark.parametrize(
    ("field", "text", "position"),
    [
        ("condition", "action == 'opened' &&", 21),
        ("condition", "action === 'opened'", 9),
        ("tags_expression", "issue.labels[.name", 13),
        ("assignee_expression", "issue.assignee.login ~", 21),
        ("title_template", "Issue ${issue.title", 6),
        ("external_id_template", "$ {repository.full_name}", 0),
    ],
)
def test_it_refuses_a_bad_expression_with_its_position(webhook, user, field, text, position):
    with pytest.raises(ExpressionError) as refused:
        services.create_rule(webhook=webhook, actor=Actor.for_user(user), **{**VALID, field: text})
    assert refused.value.field == field
    assert refused.value.position == position
    assert f"at position {position}" in refused.value.message
    assert not WebhookRule.objects.exists()


def test_it_refuses_a_bad_expression_on_update_too(webhook, user):
    rule = services.create_rule(webhook=webhook, actor=Actor.for_user(user), **VALID)
    with pytest.raises(ExpressionError):
        services.update_rule(rule=rule, actor=Actor.for_user(user), condition="action ==")
    rule.refresh_from_db()
    assert rule.condition == VALID["condition"]


def test_task_actions_need_an_external_id(webhook, user):
    with pytest.raises(DomainError, match="external id"):
        services.create_rule(
            webhook=webhook, actor=Actor.for_user(user), **{**VALID, "external_id_template": ""}
        )


def test_only_admins_manage_rules(webhook, teammate):
    with pytest.raises(PermissionDenied):
        services.create_rule(webhook=webhook, actor=Actor.for_user(teammate), **VALID)


def test_the_rule_count_is_limited(webhook, user, monkeypatch):
    monkeypatch.setattr(services, "MAX_RULES_PER_WEBHOOK", 2)
    for name in ("one", "two"):
        services.create_rule(webhook=webhook, actor=Actor.for_user(user), **{**VALID, "name": name})
    with pytest.raises(DomainError, match="at most 2 rules"):
        services.create_rule(webhook=webhook, actor=Actor.for_user(user), **{**VALID, "name": "three"})


# --- templates cannot reach past the payload ---------------------------------------------------------


def test_a_template_cannot_read_settings_or_python_attributes(settings):
    settings.SECRET_KEY = "s3cret-key-that-must-not-leak-0123456789"
    payload = {"issue": {"title": "Hello"}, "items": [1, 2]}
    for template in (
        "${settings.SECRET_KEY}",
        "${issue.__class__}",
        "${issue.title.__class__.__init__.__globals__}",
        "${__builtins__}",
        "${issue.title.upper}",  # a method of str: not a key, so nothing
        "${items.__len__}",
        "{{ settings.SECRET_KEY }}{0.__class__}",
    ):
        rendered = render_template(template, payload)
        assert "s3cret" not in rendered
        assert "class" not in rendered.replace("__class__", "") or rendered == template
        assert "<" not in rendered  # no Python object repr, ever
    assert render_template("${issue.title.upper}", payload) == ""
    assert render_template("{0.__class__}", payload) == "{0.__class__}"  # not str.format


def test_a_template_reads_nested_values_and_list_items():
    payload = {"issue": {"number": 7, "labels": [{"name": "bug"}], "locked": False}}
    assert render_template("#${issue.number} ${issue.labels.0.name} $$ ${issue.locked}", payload) == (
        "#7 bug $ false"
    )


# --- dry run -------------------------------------------------------------------------------------------


def test_a_dry_run_shows_the_matching_rule_and_the_rendered_task_without_writing(github_webhook, user, board):
    payload = store(github_webhook, github.labeled("bug"))
    events_before = board.activity.count()

    result = services.dry_run_rules(payload=payload, actor=Actor.for_user(user))

    assert result["matched"]["rule"] == "GitHub issue changed"
    assert result["matched"]["external_id"] == "octo-org/octo-repo#1347"
    assert result["matched"]["tags"] == ["bug"]
    assert result["matched"]["priority"] == "high"
    assert result["matched"]["task"] is None
    assert [r["matched"] for r in result["rules"][:2]] == [False, True]
    assert not Task.objects.exists()
    assert not PayloadRuleOutcome.objects.exists()
    assert board.activity.count() == events_before


def test_a_dry_run_shows_the_task_it_would_change(github_webhook, user):
    services.apply_rules(payload_id=store(github_webhook, github.OPENED).pk)
    payload = store(github_webhook, github.closed())

    result = services.dry_run_rules(payload=payload, actor=Actor.for_user(user))

    assert result["matched"]["action"] == "close_task"
    assert result["matched"]["task"]["title"] == "Found a bug"


def test_outsiders_cannot_dry_run(github_webhook, outsider):
    payload = store(github_webhook, github.OPENED)
    with pytest.raises(DomainError):
        services.dry_run_rules(payload=payload, actor=Actor.for_user(outsider))


# --- presets and mapping tables ------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["github", "ci", "alertmanager"])
def test_every_preset_saves_valid_rules(webhook, user, preset):
    rules = services.apply_preset(webhook=webhook, actor=Actor.for_user(user), preset=preset)
    assert rules and all(rule.pk for rule in rules)


def test_the_ci_preset_turns_a_failed_build_into_one_urgent_task_and_a_pass_closes_it(webhook, user, board):
    services.apply_preset(webhook=webhook, actor=Actor.for_user(user), preset="ci")
    failed = {
        "pipeline": "api",
        "branch": "main",
        "status": "failed",
        "build": 42,
        "commit": "abc123",
        "url": "https://ci.example/builds/42",
    }
    services.apply_rules(payload_id=store(webhook, failed, event="").pk)
    services.apply_rules(payload_id=store(webhook, {**failed, "build": 43}, event="").pk)

    task = Task.objects.get(board=board)
    assert task.priority == "urgent" and task.title == "Build failed: api on main"
    assert task.external_url == "https://ci.example/builds/42"

    services.apply_rules(payload_id=store(webhook, {**failed, "status": "passed"}, event="").pk)
    task.refresh_from_db()
    assert task.status == "done"


def test_the_alertmanager_preset_maps_severity_to_priority(webhook, user, board):
    services.apply_preset(webhook=webhook, actor=Actor.for_user(user), preset="alertmanager")
    alert = {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "status": "firing",
        "receiver": "mc",
        "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": {"alertname": "HighLatency", "severity": "critical"},
        "commonAnnotations": {"summary": "p99 over 2s", "description": "API latency is high."},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{"status": "firing", "labels": {"instance": "api-1"}, "annotations": {}}],
    }
    services.apply_rules(payload_id=store(webhook, alert, event="").pk)
    task = Task.objects.get(board=board)
    assert task.title == "HighLatency: p99 over 2s"
    assert task.priority == "urgent"
    assert sorted(task.tags.values_list("name", flat=True)) == ["alert", "critical"]


def test_a_source_url_that_is_not_a_web_link_is_left_out(webhook, user, board):
    services.create_rule(
        webhook=webhook,
        actor=Actor.for_user(user),
        **{**VALID, "events": "", "condition": "", "source_url_template": "${link}"},
    )
    body = {
        "repository": {"full_name": "o/r"},
        "issue": {"number": 1, "title": "x"},
        "link": "javascript:alert(1)",
    }
    outcome = services.apply_rules(payload_id=store(webhook, body, event="").pk)
    assert Task.objects.get(board=board).external_url == ""
    assert "not an http(s) link" in outcome.detail["plan"]["notes"][0]


def test_the_login_table_refuses_someone_outside_the_organization(webhook, user, outsider):
    with pytest.raises(DomainError, match="not user:<username> or agent:<name>"):
        services.set_rule_mappings(webhook=webhook, actor=Actor.for_user(user), logins={"x": "user:outsider"})


def test_the_label_table_refuses_an_unknown_priority(webhook, user):
    with pytest.raises(DomainError, match="unknown priority"):
        services.set_rule_mappings(
            webhook=webhook, actor=Actor.for_user(user), labels={"bug": {"priority": "p0"}}
        )


def test_a_preset_is_one_event_in_the_feed(webhook, user, board):
    before = board.activity.count()
    services.apply_preset(webhook=webhook, actor=Actor.for_user(user), preset="github")
    assert list(board.activity.order_by("id").values_list("verb", flat=True)[before:]) == [
        "webhook_rule.preset_applied"
    ]


def test_only_webhooks_set_a_status_past_the_workflow(board, user):
    from boards.services import sync_task_status
    from tests.factories import TaskFactory

    task = TaskFactory(board=board)
    with pytest.raises(PermissionDenied):
        sync_task_status(task=task, actor=Actor.for_user(user), status="done")
