"""The action engine: each action through the domain services, one outcome record per action,
the approval gate kept (an action asks for approval instead of skipping it)."""

from __future__ import annotations

import pytest

from automations import engine
from automations.models import ActionOutcome, OutcomeStatus, SourceKind
from boards import services as board_services
from boards.models import Approval, ApprovalStatus, TaskStatus
from chat.models import ChatMessage
from infra.exceptions import DomainError

pytestmark = pytest.mark.backend_independent


def firing(**overrides) -> engine.Firing:
    values = {
        "kind": SourceKind.AUTOMATION,
        "id": 7,
        "name": "Triage",
        "key": "event:1",
        "date": "2026-12-07",
    }
    return engine.Firing(**{**values, **overrides})


def run(board, actions, task=None) -> list[ActionOutcome]:
    return engine.run_actions(
        board=board, actions=engine.validate_actions(board, actions), firing=firing(), task=task
    )


def test_closing_a_task_on_a_board_that_requires_approval_asks_for_it_instead(board, admin, task):
    board.require_approval_for_done = True
    board.save()
    [outcome] = run(board, [{"action": "close_task"}], task)
    task.refresh_from_db()
    assert outcome.status == OutcomeStatus.APPROVAL_REQUESTED
    assert task.status == TaskStatus.REVIEW  # waiting for a person, not done
    approval = Approval.objects.get(task=task)
    assert approval.status == ApprovalStatus.PENDING
    assert outcome.detail == {"approval_id": approval.pk}
    assert "a person decides" in outcome.message


def test_moving_to_done_through_the_workflow_asks_for_approval_too(board, admin, task):
    board.require_approval_for_done = True
    board.save()
    board_services.move_task(task=task, actor=admin, status=TaskStatus.IN_PROGRESS)
    board_services.move_task(task=task, actor=admin, status=TaskStatus.REVIEW)
    [outcome] = run(board, [{"action": "move", "status": "done"}], task)
    task.refresh_from_db()
    assert (outcome.status, task.status) == (OutcomeStatus.APPROVAL_REQUESTED, TaskStatus.REVIEW)


def test_a_move_the_workflow_refuses_is_a_failed_outcome_not_a_skipped_rule(board, admin, task):
    [outcome] = run(board, [{"action": "move", "status": "done"}], task)  # inbox → done is not allowed
    assert outcome.status == OutcomeStatus.FAILED
    assert "review" in outcome.message
    task.refresh_from_db()
    assert task.status == TaskStatus.INBOX


def test_assign_comment_chat_and_create_go_through_the_services_and_name_the_automation(
    board, admin, task, agent
):
    outcomes = run(
        board,
        [
            {"action": "assign", "assignee": "agent:release-bot"},
            {"action": "comment", "body": "Picked up {task.title}"},
            {"action": "post_chat", "body": "Task #{task.id} went to release-bot"},
            {"action": "create_task", "title": "Follow up on {task.title}", "tags": ["follow-up"]},
        ],
        task,
    )
    assert [o.status for o in outcomes] == [OutcomeStatus.APPLIED] * 4
    task.refresh_from_db()
    assert task.assignee_agent == agent
    assert task.chat_messages.get().body == "Picked up Ship the release"
    message = ChatMessage.objects.get(board=board, task=None)
    assert message.body == f"Task #{task.pk} went to release-bot"
    assert message.author_label == "automation “Triage”"
    follow_up = outcomes[3].task
    assert follow_up.title == "Follow up on Ship the release"
    assert list(follow_up.tags.values_list("name", flat=True)) == ["follow-up"]
    assert ActionOutcome.objects.filter(source_kind="automation", source_id=7).count() == 4


def test_notify_agent_pushes_to_the_tasks_agent_stream(board, admin, task, agent):
    board_services.assign_task(task=task, actor=admin, agent=agent)
    [outcome] = run(board, [{"action": "notify_agent", "message": "Look at {task.title}"}], task)
    assert outcome.status == OutcomeStatus.APPLIED
    from activity.models import ActivityEvent

    event = ActivityEvent.objects.get(verb="automation.agent_notified")
    assert event.notify_agent_ids == [agent.pk]
    assert event.detail["message"] == "Look at Ship the release"


def test_wake_without_a_gateway_link_is_skipped_with_the_reason(board, agent):
    [outcome] = run(board, [{"action": "wake_agent", "agent": "release-bot", "message": "Standup"}])
    assert outcome.status == OutcomeStatus.SKIPPED
    assert "not linked to a gateway agent" in outcome.message


def test_wake_queues_one_command_per_firing_on_the_linked_gateway(board, organization, user, agent):
    from core.actors import Actor
    from gateways import services as gateway_services
    from gateways.models import GatewayAgent, GatewayCommand

    gateway = gateway_services.create_gateway(
        actor=Actor.for_user(user),
        organization=organization,
        name="studio",
        url="ws://127.0.0.1:9",
        token="t",
    )
    GatewayAgent.objects.create(gateway=gateway, agent_key="main", agent=agent)
    actions = engine.validate_actions(
        board, [{"action": "wake_agent", "agent": "release-bot", "message": "Go"}]
    )
    first = engine.run_actions(board=board, actions=actions, firing=firing())
    again = engine.run_actions(board=board, actions=actions, firing=firing())  # the same firing replayed
    assert [first[0].status, again[0].status] == [OutcomeStatus.APPLIED, OutcomeStatus.UNCHANGED]
    command = GatewayCommand.objects.get()
    assert (command.method, command.params["message"], command.params["agentId"]) == ("agent", "Go", "main")


def test_task_actions_without_a_task_are_skipped(board):
    [outcome] = engine.run_actions(
        board=board, actions=[{"action": "comment", "body": "hello"}], firing=firing(), task=None
    )
    assert outcome.status == OutcomeStatus.SKIPPED


@pytest.mark.parametrize(
    ("actions", "code"),
    [
        ([], "actions_required"),
        ([{"action": "create_task", "title": "t"}] * 6, "too_many_actions"),
        ([{"action": "explode"}], "invalid_action"),
        ([{"action": "create_task", "title": " "}], "title_required"),
        ([{"action": "create_task", "title": "x" * 5001}], "too_long"),
        ([{"action": "create_task", "title": "t", "colour": "red"}], "invalid_action"),
        ([{"action": "assign", "assignee": "agent:nobody"}], "unknown_assignee"),
        ([{"action": "move", "status": "nowhere"}], "invalid_status"),
        ([{"action": "create_from_template"}], "invalid_template"),
    ],
)
def test_invalid_actions_are_refused_with_a_code(board, actions, code):
    with pytest.raises(DomainError) as error:
        engine.validate_actions(board, actions)
    assert error.value.code == code


def test_the_action_count_and_text_limits_accept_their_boundary(board):
    assert len(engine.validate_actions(board, [{"action": "create_task", "title": "t"}] * 5)) == 5
    engine.validate_actions(board, [{"action": "create_task", "title": "x" * 5000}])


def test_a_schedule_cannot_use_actions_that_need_a_task(board):
    with pytest.raises(DomainError) as error:
        engine.validate_actions(board, [{"action": "comment", "body": "hi"}], for_schedule=True)
    assert error.value.code == "needs_a_task"


def test_twenty_tags_are_allowed_twenty_one_are_not(board):
    engine.validate_actions(
        board, [{"action": "create_task", "title": "t", "tags": [f"t{n}" for n in range(20)]}]
    )
    with pytest.raises(DomainError) as error:
        engine.validate_actions(
            board, [{"action": "create_task", "title": "t", "tags": [f"t{n}" for n in range(21)]}]
        )
    assert error.value.code == "invalid_tags"
