"""The GitHub preset turns GitHub's `issues` deliveries into one task that follows the issue."""

from __future__ import annotations

import pytest

from activity.models import ActivityEvent
from boards import services as board_services
from boards.models import Approval, ApprovalStatus, Task, TaskPriority, TaskStatus
from core.actors import Actor
from tests.activity.log import drain_log
from tests.agents.factories import agent_with_token
from tests.factories import UserFactory
from tests.webhook_rules import github
from tests.webhook_rules.conftest import store
from webhook_rules import services
from webhook_rules.models import OutcomeStatus, PayloadRuleOutcome
from webhooks import services as webhook_services

pytestmark = pytest.mark.django_db


def apply(webhook, body, **kwargs):
    payload = store(webhook, body, **kwargs)
    return services.apply_rules(payload_id=payload.pk)


def the_task(board) -> Task:
    return Task.objects.get(board=board, external_id="octo-org/octo-repo#1347")


def test_it_creates_a_task_with_the_source_link_when_an_issue_is_opened(github_webhook, board):
    outcome = apply(github_webhook, github.OPENED)

    task = the_task(board)
    assert outcome.status == OutcomeStatus.APPLIED and outcome.task == task
    assert outcome.rule_name == "GitHub issue opened"
    assert task.title == "Found a bug"
    assert task.external_url == "https://github.com/octo-org/octo-repo/issues/1347"
    assert task.status == TaskStatus.INBOX
    assert "I'm having a problem with this." in task.description
    assert task.created_by_user is None


def test_it_updates_the_title_when_the_issue_is_edited(github_webhook, board):
    apply(github_webhook, github.OPENED)
    outcome = apply(github_webhook, github.edited("Found a bug in the login form"))

    assert outcome.status == OutcomeStatus.APPLIED
    assert the_task(board).title == "Found a bug in the login form"
    assert Task.objects.filter(board=board).count() == 1


def test_it_maps_labels_to_tags_and_priority(github_webhook, board):
    apply(github_webhook, github.OPENED)
    apply(github_webhook, github.labeled("bug", "frontend"))

    task = the_task(board)
    assert sorted(task.tags.values_list("name", flat=True)) == ["bug", "frontend"]
    assert task.priority == TaskPriority.HIGH  # the preset's label table: bug -> high

    apply(github_webhook, github.issues_event("unlabeled", issue={"labels": [github.label("frontend")]}))
    assert list(the_task(board).tags.values_list("name", flat=True)) == ["frontend"]


def test_it_assigns_the_mapped_person_or_agent(github_webhook, board, user, organization):
    colleague = UserFactory(username="alice")
    from tests.factories import MembershipFactory

    MembershipFactory(organization=organization, user=colleague)
    agent, _, _ = agent_with_token(organization=organization, name="triage-bot")
    services.set_rule_mappings(
        webhook=github_webhook,
        actor=Actor.for_user(user),
        logins={"hubot": "user:alice", "dependabot": "agent:triage-bot"},
    )
    apply(github_webhook, github.OPENED)

    apply(github_webhook, github.assigned("hubot"))
    assert the_task(board).assignee_user == colleague

    apply(github_webhook, github.assigned("dependabot"))
    task = the_task(board)
    assert task.assignee_agent == agent and task.assignee_user is None

    outcome = apply(github_webhook, github.assigned("stranger"))
    assert outcome.status == OutcomeStatus.UNCHANGED
    assert "not in the login table" in outcome.detail["plan"]["notes"][0]
    assert the_task(board).assignee_agent == agent


def test_closed_moves_the_task_to_done_and_reopened_brings_it_back(github_webhook, board):
    apply(github_webhook, github.OPENED)

    apply(github_webhook, github.closed())
    assert the_task(board).status == TaskStatus.DONE  # straight there: GitHub has no review step

    outcome = apply(github_webhook, github.reopened())
    assert outcome.status == OutcomeStatus.APPLIED
    assert the_task(board).status == TaskStatus.INBOX


def test_the_same_delivery_twice_makes_one_task(github_webhook, board):
    first = store(github_webhook, github.OPENED, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    again = store(github_webhook, github.OPENED, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    services.apply_rules(payload_id=first.pk)
    services.apply_rules(payload_id=again.pk)
    # Even a redelivery under a new delivery id finds the task by its external id.
    apply(github_webhook, github.OPENED)

    assert Task.objects.filter(board=board).count() == 1


def test_replaying_a_payload_reapplies_it_without_changes(github_webhook, board):
    payload = store(github_webhook, github.OPENED)
    services.apply_rules(payload_id=payload.pk)

    outcome = services.apply_rules(payload_id=payload.pk)

    assert outcome.status == OutcomeStatus.UNCHANGED
    assert Task.objects.filter(board=board).count() == 1


def test_an_older_event_arriving_late_is_skipped_as_stale(github_webhook, board):
    apply(github_webhook, github.OPENED)
    closed = store(github_webhook, github.closed())
    reopened = store(github_webhook, github.reopened())

    services.apply_rules(payload_id=reopened.pk)  # the later event is applied first
    outcome = services.apply_rules(payload_id=closed.pk)

    assert outcome.status == OutcomeStatus.STALE
    assert the_task(board).status == TaskStatus.INBOX


def test_it_records_why_nothing_matched(github_webhook):
    outcome = apply(github_webhook, github.issues_event("milestoned"))

    assert outcome.status == OutcomeStatus.NO_MATCH
    reasons = {rule["rule"]: rule["reason"] for rule in outcome.detail["rules"]}
    assert reasons["GitHub issue opened"] == "condition is false"
    assert reasons["GitHub pull request opened"].startswith("event “issues” is not pull_request")


def test_a_comment_is_added_once_even_when_replayed(github_webhook, board):
    apply(github_webhook, github.OPENED)
    comment = github.issues_event("created", comment={"body": "Me too", "user": github.USER_HUBOT})
    payload = store(github_webhook, comment, event="issue_comment")

    services.apply_rules(payload_id=payload.pk)
    replay = services.apply_rules(payload_id=payload.pk)

    task = the_task(board)
    assert [c.body for c in task.chat_messages.all()] == ["@hubot on GitHub: Me too"]
    assert replay.status == OutcomeStatus.UNCHANGED


def test_a_failure_is_recorded_and_retried_once(github_webhook, board, settings, monkeypatch):
    board.archived = True
    board.save()
    payload = store(github_webhook, github.OPENED)
    retries = []
    from webhook_rules import tasks

    monkeypatch.setattr(
        tasks.apply_webhook_rules, "apply_async", lambda args, countdown: retries.append(args)
    )

    tasks.apply_webhook_rules(payload.pk)
    tasks.apply_webhook_rules(payload.pk, 2)

    outcomes = list(PayloadRuleOutcome.objects.filter(payload=payload))
    assert [(o.status, o.attempt) for o in outcomes] == [(OutcomeStatus.FAILED, 1), (OutcomeStatus.FAILED, 2)]
    assert "archived" in outcomes[0].message
    assert retries == [(payload.pk, 2)]  # one retry, not two
    assert not Task.objects.filter(board=board).exists()


def test_ingest_hands_the_payload_to_the_worker_only_when_rules_exist(
    webhook, board, user, django_capture_on_commit_callbacks, monkeypatch
):
    from webhook_rules import tasks

    queued = []
    monkeypatch.setattr(tasks.apply_webhook_rules, "delay", queued.append)
    # The rules consumer follows the log (drain_log stands in for the worker).
    with django_capture_on_commit_callbacks(execute=True):
        store(webhook, github.OPENED)
        drain_log()
    assert queued == []

    services.apply_preset(webhook=webhook, actor=Actor.for_user(user), preset="github")
    with django_capture_on_commit_callbacks(execute=True):
        payload = store(webhook, github.OPENED)
        drain_log()
    assert queued == [payload.pk]


def test_deleting_the_payload_leaves_the_task(github_webhook, board, user):
    payload = store(github_webhook, github.OPENED)
    services.apply_rules(payload_id=payload.pk)
    webhook_services.prune_webhook_payloads(older_than_days=-1)
    assert the_task(board).title == "Found a bug"


def test_a_closed_overtaking_its_opened_still_ends_closed(github_webhook, board):
    opened = store(github_webhook, github.OPENED)
    closed = store(github_webhook, github.closed())

    services.apply_rules(payload_id=closed.pk)  # the task is made by the first event that comes
    late = services.apply_rules(payload_id=opened.pk)

    assert late.status == OutcomeStatus.STALE
    task = the_task(board)
    assert task.status == TaskStatus.DONE and task.title == "Found a bug"
    assert Task.objects.filter(board=board).count() == 1


def test_an_issue_older_than_the_webhook_gets_its_task_at_its_first_event(github_webhook, board):
    outcome = apply(github_webhook, github.labeled("bug"))

    assert outcome.status == OutcomeStatus.APPLIED and outcome.detail["created"] is True
    assert list(the_task(board).tags.values_list("name", flat=True)) == ["bug"]


def test_without_creates_missing_task_an_update_for_an_unknown_item_is_skipped(github_webhook, board, user):
    for rule in github_webhook.rules.all():
        services.update_rule(rule=rule, actor=Actor.for_user(user), creates_missing_task=False)
    outcome = apply(github_webhook, github.closed())

    assert outcome.status == OutcomeStatus.SKIPPED
    assert "No task has the external id “octo-org/octo-repo#1347”" in outcome.message
    assert not Task.objects.filter(board=board).exists()


def test_the_sweeper_queues_payloads_whose_rules_never_ran(github_webhook, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from webhook_rules import tasks
    from webhooks.models import WebhookPayload

    queued = []
    monkeypatch.setattr(tasks.apply_webhook_rules, "delay", queued.append)
    now = timezone.now()
    lost = store(github_webhook, github.OPENED)
    applied = store(github_webhook, github.edited("x"))
    services.apply_rules(payload_id=applied.pk)
    fresh = store(github_webhook, github.closed())
    before_rules = store(github_webhook, github.reopened())
    github_webhook.rules.update(created_at=now - timedelta(minutes=10))
    WebhookPayload.objects.filter(pk__in=[lost.pk, applied.pk]).update(received_at=now - timedelta(minutes=5))
    WebhookPayload.objects.filter(pk=before_rules.pk).update(received_at=now - timedelta(minutes=30))
    WebhookPayload.objects.filter(pk=fresh.pk).update(received_at=now - timedelta(seconds=30))

    assert services.requeue_unapplied_payloads(now=now) == [lost.pk]
    assert queued == [lost.pk]


def test_closed_on_an_approval_gated_board_asks_for_approval_instead_of_finishing(
    github_webhook, board, user
):
    board.require_approval_for_done = True
    board.save(update_fields=["require_approval_for_done"])
    apply(github_webhook, github.OPENED)

    outcome = apply(github_webhook, github.closed())

    task = the_task(board)
    assert task.status == TaskStatus.REVIEW  # waiting for a person, not done
    approval = Approval.objects.get(task=task)
    assert approval.status == ApprovalStatus.PENDING
    assert outcome.status == OutcomeStatus.APPLIED
    assert f"approval #{approval.pk} requested for done" in outcome.message
    assert outcome.detail["approval_requested"] == approval.pk
    assert ActivityEvent.objects.filter(verb="approval.requested", target_id=str(approval.pk)).exists()
    assert not ActivityEvent.objects.filter(
        verb="task.status_changed", target_id=str(task.pk), detail__to=TaskStatus.DONE
    ).exists()

    # A second close while the approval is pending keeps the one approval.
    apply(github_webhook, github.closed())
    assert Approval.objects.filter(task=task).count() == 1

    # The approval the rule filed is one a person can decide: approving finishes the task.
    board_services.decide_approval(approval=approval, actor=Actor.for_user(user), approve=True)
    assert the_task(board).status == TaskStatus.DONE
