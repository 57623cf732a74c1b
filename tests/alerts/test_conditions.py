"""Each condition of the catalogue: fires at its threshold and not before, resolves when the
condition clears, and is evaluated at once by the events that trigger it."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from alerts.models import Incident, IncidentState
from boards.models import Approval, TaskStatus
from core.actors import Actor
from deliveries.models import Subscription
from infra.exceptions import DomainError
from tests.activity.log import drain_log
from tests.alerts.conftest import evaluate, event_at
from tests.factories import AgentFactory, TaskFactory
from webhooks import refusals
from webhooks.models import WebhookPayload
from webhooks.services import create_webhook

pytestmark = pytest.mark.django_db


def states(rule) -> list[str]:
    return list(Incident.objects.filter(rule=rule).order_by("id").values_list("state", flat=True))


# --- events matching --------------------------------------------------------------------------


def test_events_matching_fires_at_the_nth_event_in_the_window_and_resolves_when_it_slides(
    make_rule, organization, board
):
    rule = make_rule(
        "events_matching", {"event_types": ["comment.added"], "threshold": 3, "window_minutes": 10}
    )
    start = timezone.now() - timedelta(minutes=5)
    for offset in (0, 1):
        event_at(
            start + timedelta(minutes=offset), organization=organization, board=board, verb="comment.added"
        )
    event_at(start + timedelta(minutes=2), organization=organization, board=board, verb="task.created")

    assert evaluate(rule).opened == []
    event_at(start + timedelta(minutes=3), organization=organization, board=board, verb="comment.added")
    [incident] = evaluate(rule).opened
    assert incident.summary == "3 events (comment.added) in the last 10 minutes."

    # The first event leaves the window 10 minutes after it happened.
    assert evaluate(rule, start + timedelta(minutes=9, seconds=59)).resolved == []
    assert len(evaluate(rule, start + timedelta(minutes=10, seconds=1)).resolved) == 1


def test_events_matching_counts_only_the_chosen_board_and_agent(make_rule, organization, board):
    from tests.factories import BoardFactory

    other_board = BoardFactory(organization=organization, slug="other")
    agent = AgentFactory(organization=organization)
    rule = make_rule(
        "events_matching",
        {"event_types": ["comment.added"], "threshold": 2, "window_minutes": 10, "agent": agent.pk},
        board=board,
    )
    now = timezone.now()
    event_at(
        now, organization=organization, board=other_board, verb="comment.added", actor=Actor.for_agent(agent)
    )
    event_at(now, organization=organization, board=board, verb="comment.added")
    event_at(now, organization=organization, board=board, verb="comment.added", actor=Actor.for_agent(agent))
    assert evaluate(rule).opened == []
    event_at(now, organization=organization, board=board, verb="comment.added", actor=Actor.for_agent(agent))
    assert len(evaluate(rule).opened) == 1


def test_it_rejects_unknown_and_alert_event_types(make_rule):
    with pytest.raises(DomainError, match="unknown event type"):
        make_rule("events_matching", {"event_types": ["task.exploded"], "threshold": 1, "window_minutes": 5})
    with pytest.raises(DomainError, match="alert events cannot trigger"):
        make_rule("events_matching", {"event_types": ["alert.fired"], "threshold": 1, "window_minutes": 5})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"threshold": 0}, "at least 1"),
        ({"threshold": 100_001}, "at most 100000"),
        ({"window_minutes": 0}, "at least 1"),
        ({"window_minutes": 7 * 24 * 60 + 1}, "at most 10080"),
        ({"threshold": "many"}, "whole number"),
        ({"colour": "red"}, "Unknown parameters"),
    ],
)
def test_it_rejects_parameters_outside_their_limits(make_rule, params, message):
    base = {"event_types": ["comment.added"], "threshold": 1, "window_minutes": 5}
    with pytest.raises(DomainError, match=message):
        make_rule("events_matching", {**base, **params})


def test_it_accepts_parameters_at_their_limits(make_rule):
    make_rule(
        "events_matching",
        {"event_types": ["comment.added"], "threshold": 100_000, "window_minutes": 7 * 24 * 60},
        name="upper",
    )
    make_rule(
        "events_matching",
        {"event_types": ["comment.added"], "threshold": 1, "window_minutes": 1},
        name="lower",
    )


def test_it_rejects_an_agent_of_another_organization(make_rule, other_organization):
    stranger = AgentFactory(organization=other_organization)
    with pytest.raises(DomainError, match="no such agent"):
        make_rule("agent_offline", {"minutes": 5, "agent": stranger.pk})


# --- dead letters and subscriptions -------------------------------------------------------------


def test_dead_letters_fire_per_subscription_at_the_threshold(make_rule, organization, board):
    rule = make_rule("dead_letters", {"threshold": 2, "window_minutes": 30})
    now = timezone.now()
    event_at(now, organization=organization, board=board, verb="delivery.dead", detail={"subscription_id": 7})
    event_at(now, organization=organization, board=board, verb="delivery.dead", detail={"subscription_id": 8})
    event_at(now, organization=organization, board=board, verb="delivery.failed", detail={"agent_id": 3})
    assert evaluate(rule).opened == []

    event_at(now, organization=organization, board=board, verb="delivery.dead", detail={"subscription_id": 7})
    [incident] = evaluate(rule).opened
    assert incident.subject_key == "subscription:7"
    assert len(evaluate(rule, now + timedelta(minutes=31)).resolved) == 1


def test_dead_letter_incidents_are_named_by_their_subscription_and_agent(make_rule, organization, board):
    subscription = Subscription.objects.create(
        organization=organization, description="Pager relay", target_url="https://example.com/h"
    )
    agent = AgentFactory(organization=organization, name="release-bot")
    rule = make_rule("dead_letters", {"threshold": 1, "window_minutes": 30})
    now = timezone.now()
    for detail in ({"subscription_id": subscription.pk}, {"agent_id": agent.pk}, {"subscription_id": 999}):
        event_at(now, organization=organization, board=board, verb="delivery.dead", detail=detail)
    opened = evaluate(rule).opened
    labels = {incident.subject_key: incident.subject_label for incident in opened}
    assert labels == {
        f"subscription:{subscription.pk}": "Pager relay",
        f"agent:{agent.pk}": "release-bot",
        "subscription:999": "Subscription 999",  # deleted since: the id is all there is
    }
    summaries = {incident.summary for incident in opened}
    assert "1 dead letter for release-bot in the last 30 minutes." in summaries


def test_a_dead_letter_event_evaluates_the_rule_at_once(
    make_rule, organization, board, eager_tasks, django_capture_on_commit_callbacks
):
    make_rule("dead_letters", {"threshold": 1, "window_minutes": 30})
    with django_capture_on_commit_callbacks(execute=True):
        event_at(
            timezone.now(),
            organization=organization,
            board=board,
            verb="delivery.dead",
            detail={"agent_id": 4},
        )
        drain_log()  # the alerts consumer follows the log, as the worker would
    assert Incident.objects.get().subject_key == "agent:4"


def test_only_the_trigger_events_enqueue_an_evaluation(
    make_rule, organization, board, django_capture_on_commit_callbacks
):
    rule = make_rule("dead_letters", {"threshold": 1, "window_minutes": 30})
    with mock.patch("alerts.tasks.evaluate_alert_rules.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            event_at(timezone.now(), organization=organization, board=board, verb="task.created")
            drain_log()  # the alerts consumer follows the log, as the worker would
        assert delay.call_count == 0
        with django_capture_on_commit_callbacks(execute=True):
            event_at(timezone.now(), organization=organization, board=board, verb="delivery.failed")
            drain_log()
        delay.assert_called_once_with([rule.pk])


def test_an_auto_disabled_subscription_fires_and_resolves_when_enabled_again(make_rule, organization, user):
    subscription = Subscription.objects.create(
        organization=organization, target_url="https://example.com/h", enabled=True
    )
    rule = make_rule("subscription_disabled", {})
    assert evaluate(rule).opened == []

    Subscription.objects.filter(pk=subscription.pk).update(
        enabled=False, disabled_reason="Disabled automatically after 5 consecutive dead deliveries."
    )
    [incident] = evaluate(rule).opened
    assert incident.subject_key == f"subscription:{subscription.pk}"

    Subscription.objects.filter(pk=subscription.pk).update(enabled=True, disabled_reason="")
    assert len(evaluate(rule).resolved) == 1


def test_a_subscription_disabled_by_hand_does_not_fire(make_rule, organization):
    Subscription.objects.create(organization=organization, target_url="https://example.com/h", enabled=False)
    assert evaluate(make_rule("subscription_disabled", {})).opened == []


# --- inbound webhooks ----------------------------------------------------------------------------


@pytest.fixture
def webhook(board, user):
    hook, _ = create_webhook(board=board, actor=Actor.for_user(user), description="CI")
    return hook


def test_webhook_refusals_fire_at_the_threshold_within_the_window(make_rule, webhook):
    rule = make_rule("webhook_refusals", {"threshold": 3, "window_minutes": 5, "statuses": [403, 429]})
    now = timezone.now()
    refusals.mark_webhook_known(webhook.pk)
    refusals.record_refusal(webhook.pk, 403, now=now - timedelta(minutes=1))
    refusals.record_refusal(webhook.pk, 413, now=now)  # not a status this rule counts
    refusals.record_refusal(webhook.pk, 429, now=now, require_known=True)
    assert evaluate(rule, now).opened == []

    refusals.record_refusal(webhook.pk, 403, now=now)
    [incident] = evaluate(rule, now).opened
    assert incident.subject_key == f"webhook:{webhook.pk}" and "refused 3 requests" in incident.summary
    assert incident.subject_label == "CI" and incident.summary.startswith("\u2018CI\u2019 refused")
    assert len(evaluate(rule, now + timedelta(minutes=6)).resolved) == 1


def test_a_webhook_without_a_description_is_named_by_its_board(make_rule, board, user):
    hook, _ = create_webhook(board=board, actor=Actor.for_user(user), description="")
    rule = make_rule("webhook_refusals", {"threshold": 1, "window_minutes": 5, "statuses": [403]})
    refusals.mark_webhook_known(hook.pk)
    refusals.record_refusal(hook.pk, 403, now=timezone.now())
    [incident] = evaluate(rule).opened
    assert incident.subject_label == f"Webhook of {board.name}"
    assert "webhook " + str(hook.pk) not in incident.summary.lower()


def test_a_429_for_a_webhook_never_looked_up_is_not_counted(webhook):
    now = timezone.now()
    refusals.record_refusal(99999, 429, now=now, require_known=True)
    assert refusals.refusal_counts([99999], statuses=[429], since=now, until=now) == {}


def test_a_bad_signature_at_the_ingest_endpoint_is_counted(client, webhook, board):
    response = client.post(
        f"/api/v1/boards/{board.pk}/webhooks/{webhook.pk}",
        data=b"{}",
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256="sha256=00",
    )
    assert response.status_code == 403
    now = timezone.now()
    [(_, count)] = refusals.refusal_counts([webhook.pk], statuses=[403], since=now, until=now)[webhook.pk]
    assert count == 1


def test_a_silent_webhook_that_usually_gets_traffic_fires_after_the_silence(make_rule, webhook, board):
    rule = make_rule("webhook_silence", {"hours": 6, "usual_per_week": 3})
    now = timezone.now()
    for hours_ago in (30, 20, 10):
        payload = WebhookPayload.objects.create(webhook=webhook, board=board, body=b"{}")
        WebhookPayload.objects.filter(pk=payload.pk).update(received_at=now - timedelta(hours=hours_ago))
    last = now - timedelta(hours=10)

    assert evaluate(rule, last + timedelta(hours=5, minutes=59)).opened == []
    [incident] = evaluate(rule, last + timedelta(hours=6, minutes=1)).opened
    assert incident.subject_key == f"webhook:{webhook.pk}"
    WebhookPayload.objects.create(webhook=webhook, board=board, body=b"{}")
    assert len(evaluate(rule, timezone.now()).resolved) == 1


def test_a_webhook_without_usual_traffic_never_counts_as_silent(make_rule, webhook, board):
    rule = make_rule("webhook_silence", {"hours": 1, "usual_per_week": 3})
    payload = WebhookPayload.objects.create(webhook=webhook, board=board, body=b"{}")
    WebhookPayload.objects.filter(pk=payload.pk).update(received_at=timezone.now() - timedelta(hours=3))
    assert evaluate(rule).opened == []


# --- tasks and approvals ----------------------------------------------------------------------------


def test_a_task_in_a_column_too_long_fires_and_resolves_when_it_moves(make_rule, organization, board, user):
    from boards.services import move_task

    task = TaskFactory(board=board, title="Run load test", status=TaskStatus.INBOX)
    rule = make_rule("task_in_column", {"column": "blocked", "hours": 4})
    moved_at = timezone.now() - timedelta(hours=5)
    event_at(
        moved_at,
        organization=organization,
        board=board,
        verb="task.status_changed",
        target_type="task",
        target_id=task.pk,
        detail={"from": "inbox", "to": "blocked"},
    )
    task.status = TaskStatus.BLOCKED
    task.save(update_fields=["status"])

    assert evaluate(rule, moved_at + timedelta(hours=3, minutes=59)).opened == []
    [incident] = evaluate(rule, moved_at + timedelta(hours=4, minutes=1)).opened
    assert incident.subject_key == f"task:{task.pk}" and "blocked for 4 hours" in incident.summary

    with transaction.atomic():
        move_task(task=task, actor=Actor.for_user(user), status=TaskStatus.IN_PROGRESS)
    assert len(evaluate(rule).resolved) == 1


def test_an_approval_waiting_too_long_fires_and_resolves_when_decided(make_rule, board, user):
    task = TaskFactory(board=board, title="Ship")
    approval = Approval.objects.create(task=task, requested_by_user=user)
    created = timezone.now() - timedelta(hours=3)
    Approval.objects.filter(pk=approval.pk).update(created_at=created)
    rule = make_rule("approval_waiting", {"hours": 2})

    assert evaluate(rule, created + timedelta(hours=1, minutes=59)).opened == []
    [incident] = evaluate(rule, created + timedelta(hours=2, minutes=1)).opened
    assert incident.subject_key == f"approval:{approval.pk}"
    Approval.objects.filter(pk=approval.pk).update(status="approved", decided_at=timezone.now())
    assert len(evaluate(rule).resolved) == 1


# --- the usage seam ---------------------------------------------------------------------------------


def _budget_with_spend(organization, agent, *, limit_dollars: int, spent_dollars: float, day=None):
    from usage.models import Budget, UsageDailyByAgent

    budget = Budget.objects.create(organization=organization, limit_micros=limit_dollars * 1_000_000)
    UsageDailyByAgent.objects.create(
        organization=organization,
        day=day or timezone.now().date(),
        agent=agent,
        model="gpt-4o",
        reports=1,
        cost_micros=int(spent_dollars * 1_000_000),
    )
    return budget


def test_usage_over_budget_fires_at_its_share_of_the_limit_and_names_the_budget(make_rule, organization):
    agent = AgentFactory(organization=organization)
    budget = _budget_with_spend(organization, agent, limit_dollars=100, spent_dollars=79.99)
    at_80 = make_rule("usage_over_budget", {"budget": budget.pk, "percent": "80"}, name="At 80")
    at_100 = make_rule("usage_over_budget", {"budget": budget.pk})
    assert at_80.params == {"budget": budget.pk, "percent": 80} and at_100.params["percent"] == 100
    assert evaluate(at_80).opened == [] and evaluate(at_100).opened == []

    from usage.models import UsageDailyByAgent

    UsageDailyByAgent.objects.filter(agent=agent).update(cost_micros=80_000_000)
    [incident] = evaluate(at_80).opened
    assert incident.summary == (
        "The monthly budget of the organization is at 80%: $80.00 of $100.00 spent this month."
    )
    assert evaluate(at_100).opened == []


def test_usage_over_budget_resolves_when_a_new_period_starts(make_rule, organization):
    agent = AgentFactory(organization=organization)
    budget = _budget_with_spend(organization, agent, limit_dollars=10, spent_dollars=12)
    rule = make_rule("usage_over_budget", {"budget": budget.pk})
    today = timezone.now()
    assert len(evaluate(rule, today).opened) == 1
    first_of_next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1, hour=1)
    assert len(evaluate(rule, first_of_next_month).resolved) == 1


def test_usage_over_budget_refuses_another_organizations_budget(make_rule, organization, other_organization):
    foreign = _budget_with_spend(
        other_organization, AgentFactory(organization=other_organization), limit_dollars=1, spent_dollars=2
    )
    with pytest.raises(DomainError, match="no such budget") as raised:
        make_rule("usage_over_budget", {"budget": foreign.pk})
    assert raised.value.code == "invalid_params"


def test_incident_states_are_the_documented_four():
    assert [s.value for s in IncidentState] == ["firing", "acknowledged", "snoozed", "resolved"]
