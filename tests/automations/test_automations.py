"""Event automations follow the activity log: triggers, conditions, the loop guard, the dry run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from activity.models import ActivityEvent
from agents import services as agent_services
from automations import services
from automations.models import ActionOutcome, AutomationRun, OutcomeStatus, RunStatus, Trigger
from boards import services as board_services
from boards.models import Approval, Task, TaskStatus
from core.actors import Actor
from infra.exceptions import DomainError, PermissionDenied
from tests.activity.log import drain_log
from usage.models import Budget
from usage.services import UsageItem, record_usage

pytestmark = pytest.mark.backend_independent


def automate(board, admin, trigger, actions, **fields):
    return services.create_automation(
        board=board, actor=admin, name=fields.pop("name", trigger), trigger=trigger, actions=actions, **fields
    )


def drain_until_quiet(rounds: int = 10) -> None:
    """Each drain handles what was committed before it; actions write events the next one reads."""
    for _ in range(rounds):
        if not any(count > 0 for count in drain_log().values()):
            return


def test_a_task_entering_a_column_fires_after_the_write_not_inside_it(board, admin, task):
    automate(
        board,
        admin,
        Trigger.TASK_ENTERS_COLUMN,
        [{"action": "comment", "body": "Started: {task.title}"}],
        trigger_params={"column": "in_progress"},
    )
    board_services.move_task(task=task, actor=admin, status=TaskStatus.IN_PROGRESS)
    assert not task.chat_messages.exists()  # the request's write did not run it
    drain_log()
    assert task.chat_messages.get().body == "Started: Ship the release"
    comment_event = ActivityEvent.objects.get(verb="comment.added")
    assert comment_event.actor_label == "automation “task_enters_column”"
    assert comment_event.detail["caused_by"]["depth"] == 1
    assert AutomationRun.objects.get().status == RunStatus.FIRED


def test_conditions_on_the_events_fields_decide(board, admin, task):
    automate(
        board,
        admin,
        Trigger.TASK_DONE,
        [{"action": "post_chat", "body": "Done: {task.title}"}],
        conditions=[{"field": "task.priority", "op": "is", "value": "urgent"}],
    )
    for status in (TaskStatus.IN_PROGRESS, TaskStatus.REVIEW, TaskStatus.DONE):
        board_services.move_task(task=task, actor=admin, status=status)
    drain_log()
    assert not ActionOutcome.objects.exists()  # medium priority: the condition failed
    urgent = board_services.create_task(board=board, actor=admin, title="Hotfix", priority="urgent")
    for status in (TaskStatus.IN_PROGRESS, TaskStatus.REVIEW, TaskStatus.DONE):
        board_services.move_task(task=urgent, actor=admin, status=status)
    drain_log()
    assert ActionOutcome.objects.get().message == "Posted to the board's chat."


def test_a_labelled_task_fires_the_tag_trigger(board, admin, task, agent):
    automate(
        board,
        admin,
        Trigger.TASK_LABELLED,
        [{"action": "assign", "assignee": "agent:release-bot"}],
        trigger_params={"tag": "Release"},
    )
    board_services.update_task(task=task, actor=admin, tag_names=["release"])
    drain_log()
    task.refresh_from_db()
    assert task.assignee_agent == agent


def test_a_chain_of_automations_is_stopped_by_the_loop_guard_with_a_visible_outcome(
    board, admin, task, settings
):
    settings.AUTOMATIONS_MAX_DEPTH = 3
    # Ping-pong: each automation's move fires the other one, for ever without the guard.
    automate(
        board,
        admin,
        Trigger.TASK_ENTERS_COLUMN,
        [{"action": "move", "status": "inbox"}],
        name="ping",
        trigger_params={"column": "in_progress"},
    )
    automate(
        board,
        admin,
        Trigger.TASK_ENTERS_COLUMN,
        [{"action": "move", "status": "in_progress"}],
        name="pong",
        trigger_params={"column": "inbox"},
    )
    board_services.move_task(task=task, actor=admin, status=TaskStatus.IN_PROGRESS)  # depth 0
    drain_until_quiet()
    runs = list(AutomationRun.objects.order_by("id").values_list("automation__name", "depth", "status"))
    assert runs == [
        ("ping", 0, RunStatus.FIRED),
        ("pong", 1, RunStatus.FIRED),
        ("ping", 2, RunStatus.FIRED),
        ("pong", 3, RunStatus.STOPPED),
    ]
    stopped = ActivityEvent.objects.get(verb="automation.stopped")
    assert "chain of 3 automation firings" in stopped.detail["message"]
    assert ActionOutcome.objects.filter(status=OutcomeStatus.STOPPED).count() == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.INBOX  # where ping left it; pong did not move it again


def test_the_rate_limit_stops_an_automation_past_its_runs_per_minute(board, admin, settings):
    settings.AUTOMATIONS_MAX_RUNS_PER_MINUTE = 2
    automate(
        board,
        admin,
        Trigger.TASK_LABELLED,
        [{"action": "comment", "body": "seen"}],
        trigger_params={"tag": "x"},
    )
    for number in range(4):
        board_services.create_task(board=board, actor=admin, title=f"t{number}", tag_names=["x"])
    drain_log()
    statuses = list(AutomationRun.objects.order_by("id").values_list("status", flat=True))
    assert statuses == [RunStatus.FIRED, RunStatus.FIRED, RunStatus.STOPPED, RunStatus.STOPPED]
    # One announcement on the feed for the stop, not one per stopped run.
    assert ActivityEvent.objects.filter(verb="automation.stopped").count() == 1


def test_an_approval_waiting_too_long_fires_once(board, admin, task):
    board.require_approval_for_done = True
    board.save()
    automate(
        board,
        admin,
        Trigger.APPROVAL_WAITING,
        [{"action": "post_chat", "body": "{task.title} waits for approval"}],
        trigger_params={"minutes": 30},
    )
    for status in (TaskStatus.IN_PROGRESS, TaskStatus.REVIEW, TaskStatus.DONE):
        board_services.move_task(task=task, actor=admin, status=status)
    approval = Approval.objects.get()
    assert services.sweep_waiting_approvals(now=approval.created_at + dt.timedelta(minutes=29)) == []
    later = approval.created_at + dt.timedelta(minutes=31)
    assert len(services.sweep_waiting_approvals(now=later)) == 1
    assert services.sweep_waiting_approvals(now=later) == []
    assert ActionOutcome.objects.get().message == "Posted to the board's chat."


def test_an_agent_going_offline_holding_tasks_fires_for_each_task(board, admin, agent):
    held = [
        board_services.create_task(board=board, actor=admin, title=f"held {n}", assignee_agent=agent)
        for n in range(2)
    ]
    automate(board, admin, Trigger.AGENT_OFFLINE, [{"action": "assign", "assignee": ""}])
    agent.presence = "online"
    agent.last_seen_at = timezone.now() - dt.timedelta(days=1)
    agent.save()
    agent_services.record_presence_transitions()
    drain_log()
    assert set(Task.objects.filter(pk__in=[t.pk for t in held]).values_list("assignee_agent", flat=True)) == {
        None
    }
    assert ActionOutcome.objects.filter(status=OutcomeStatus.APPLIED).count() == 2


def test_a_budget_crossing_80_percent_fires(board, organization, admin, agent):
    Budget.objects.create(organization=organization, limit_micros=10_000_000)
    automate(
        board, admin, Trigger.BUDGET_CROSSED, [{"action": "post_chat", "body": "80 % of the budget is spent"}]
    )
    record_usage(
        agent=agent,
        items=[
            UsageItem(model="gpt-4o", idempotency_key="a", occurred_at=timezone.now(), cost=Decimal("8.50"))
        ],
    )
    drain_log()
    assert ActionOutcome.objects.get().status == OutcomeStatus.APPLIED


def test_the_dry_run_counts_last_weeks_firings_without_writing(board, admin, viewer):
    for number in range(3):
        task = board_services.create_task(board=board, actor=admin, title=f"t{number}")
        board_services.move_task(task=task, actor=admin, status=TaskStatus.IN_PROGRESS)
    preview = services.preview_automation(
        board=board,
        actor=Actor.for_user(viewer),
        trigger=Trigger.TASK_ENTERS_COLUMN,
        trigger_params={"column": "in_progress"},
    )
    assert (preview["fired"], preview["days"]) == (3, 7)
    assert not AutomationRun.objects.exists() and not ActionOutcome.objects.exists()
    nothing = services.preview_automation(
        board=board,
        actor=Actor.for_user(viewer),
        trigger=Trigger.TASK_ENTERS_COLUMN,
        trigger_params={"column": "review"},
    )
    assert nothing["fired"] == 0


def test_only_admins_configure_automations(board, teammate):
    with pytest.raises(PermissionDenied):
        automate(board, Actor.for_user(teammate), Trigger.TASK_DONE, [{"action": "post_chat", "body": "x"}])


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"trigger": "on_a_whim"}, "invalid_trigger"),
        ({"trigger": Trigger.TASK_ENTERS_COLUMN, "trigger_params": {"column": "limbo"}}, "invalid_trigger"),
        ({"trigger": Trigger.APPROVAL_WAITING, "trigger_params": {"minutes": 0}}, "invalid_trigger"),
        ({"trigger": Trigger.APPROVAL_WAITING, "trigger_params": {"minutes": 43201}}, "invalid_trigger"),
        ({"conditions": [{"field": "task.priority", "op": "is", "value": "x"}] * 11}, "too_many_conditions"),
        ({"conditions": [{"field": "priority", "op": "is", "value": "x"}]}, "invalid_condition"),
        ({"conditions": [{"field": "task.title", "op": "is", "value": "x" * 201}]}, "too_long"),
    ],
)
def test_bad_automations_are_refused(board, admin, fields, code):
    values = {"trigger": Trigger.TASK_DONE, **fields}
    with pytest.raises(DomainError) as error:
        automate(board, admin, values.pop("trigger"), [{"action": "post_chat", "body": "x"}], **values)
    assert error.value.code == code


def test_the_limits_accept_their_boundaries(board, admin):
    automate(
        board,
        admin,
        Trigger.APPROVAL_WAITING,
        [{"action": "post_chat", "body": "x"}],
        name="month",
        trigger_params={"minutes": 43200},
        conditions=[{"field": "task.title", "op": "contains", "value": "x" * 200}] * 10,
    )


def test_the_automation_count_limit_refuses_one_more(board, admin, monkeypatch):
    monkeypatch.setattr(services, "MAX_AUTOMATIONS_PER_BOARD", 1)
    automate(board, admin, Trigger.TASK_DONE, [{"action": "post_chat", "body": "x"}], name="one")
    with pytest.raises(DomainError) as error:
        automate(board, admin, Trigger.TASK_DONE, [{"action": "post_chat", "body": "x"}], name="two")
    assert error.value.code == "too_many"


def test_an_offline_agent_acts_on_at_most_the_held_task_limit(board, admin, agent, monkeypatch):
    monkeypatch.setattr(services, "MAX_HELD_TASKS", 2)
    for n in range(3):
        board_services.create_task(board=board, actor=admin, title=f"held {n}", assignee_agent=agent)
    automate(
        board, admin, Trigger.AGENT_OFFLINE, [{"action": "comment", "body": "{task.title}: agent offline"}]
    )
    agent.presence = "online"
    agent.last_seen_at = timezone.now() - dt.timedelta(days=1)
    agent.save()
    agent_services.record_presence_transitions()
    drain_log()
    assert ActionOutcome.objects.filter(status=OutcomeStatus.APPLIED).count() == 2


def test_the_dry_run_reads_at_most_its_event_limit(board, admin, viewer, monkeypatch):
    monkeypatch.setattr(services, "PREVIEW_MAX_EVENTS", 2)
    for number in range(3):
        task = board_services.create_task(board=board, actor=admin, title=f"t{number}")
        board_services.move_task(task=task, actor=admin, status=TaskStatus.IN_PROGRESS)
    preview = services.preview_automation(
        board=board,
        actor=Actor.for_user(viewer),
        trigger=Trigger.TASK_ENTERS_COLUMN,
        trigger_params={"column": "in_progress"},
    )
    assert (preview["fired"], preview["scanned"]) == (2, 2)


def test_events_of_a_board_without_automations_cost_no_query(board, admin, task, django_assert_num_queries):
    other = board_services.create_board(organization=board.organization, actor=admin, name="Other")
    automate(board, admin, Trigger.TASK_DONE, [{"action": "post_chat", "body": "x"}])
    elsewhere = board_services.create_task(board=other, actor=admin, title="elsewhere")
    board_services.move_task(task=elsewhere, actor=admin, status=TaskStatus.IN_PROGRESS)
    event = ActivityEvent.objects.filter(verb="task.status_changed").last()
    services.automations_for_event(event)  # builds the organization's map once
    with django_assert_num_queries(0):
        assert services.automations_for_event(event) == []
