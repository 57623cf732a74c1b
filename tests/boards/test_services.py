"""Board, task, dependency, comment and approval services: rules, permissions and events."""

from __future__ import annotations

import pytest

from activity.models import ActivityEvent
from agents.models import AgentStatus
from boards import conversation, services
from boards.models import Approval, ApprovalStatus, Board
from core.actors import Actor
from infra.exceptions import Conflict, DomainError, InvalidTransition, NotFound, PermissionDenied
from tests.factories import AgentFactory, BoardFactory, TaskFactory


def verbs(board) -> list[str]:
    return list(ActivityEvent.objects.filter(board=board).order_by("id").values_list("verb", flat=True))


@pytest.fixture
def owner_actor(user):
    return Actor.for_user(user)


@pytest.fixture
def operator_actor(teammate):
    return Actor.for_user(teammate)


@pytest.fixture
def agent(organization, board):
    agent = AgentFactory(organization=organization, name="builder")
    agent.boards.add(board)
    return agent


# --- boards ---------------------------------------------------------------------------------------


def test_it_creates_a_board_with_a_unique_slug_and_an_event(organization, owner_actor):
    first = services.create_board(organization=organization, actor=owner_actor, name="Release Plan")
    second = services.create_board(organization=organization, actor=owner_actor, name="Release plan")
    assert first.slug == "release-plan"
    assert second.slug == "release-plan-2"
    assert verbs(first) == ["board.created"]


def test_it_rejects_an_explicit_slug_already_taken(organization, owner_actor, board):
    with pytest.raises(Conflict):
        services.create_board(organization=organization, actor=owner_actor, name="X", slug=board.slug)


def test_it_rejects_a_board_without_a_name(organization, owner_actor):
    with pytest.raises(DomainError):
        services.create_board(organization=organization, actor=owner_actor, name="   ")


@pytest.mark.parametrize("who", ["teammate", "viewer"])
def test_only_admins_manage_boards(request, organization, who):
    actor = Actor.for_user(request.getfixturevalue(who))
    with pytest.raises(PermissionDenied):
        services.create_board(organization=organization, actor=actor, name="Nope")


def test_an_outsider_gets_not_found_on_a_board_of_another_organization(organization, board, outsider):
    with pytest.raises(NotFound):
        services.update_board(board=board, actor=Actor.for_user(outsider), name="Mine")
    with pytest.raises(NotFound):
        services.create_task(board=board, actor=Actor.for_user(outsider), title="x")


def test_it_updates_and_archives_a_board_recording_changed_fields(board, owner_actor):
    services.update_board(board=board, actor=owner_actor, name="Launch v2", description="Same")
    services.archive_board(board=board, actor=owner_actor)
    board.refresh_from_db()
    assert board.name == "Launch v2" and board.archived
    event = ActivityEvent.objects.get(board=board, verb="board.updated")
    assert set(event.detail["fields"]) == {"name", "description"}
    assert "board.archived" in verbs(board)


def test_an_archived_board_refuses_new_work(board, owner_actor):
    services.archive_board(board=board, actor=owner_actor)
    with pytest.raises(Conflict):
        services.create_task(board=board, actor=owner_actor, title="Late")


# --- tasks ----------------------------------------------------------------------------------------


def test_it_creates_a_task_with_tags_and_notifies_the_assigned_agent(board, operator_actor, agent):
    task = services.create_task(
        board=board,
        actor=operator_actor,
        title="Ship it",
        tag_names=["infra", "infra ", "urgent"],
        assignee_agent=agent,
    )
    assert sorted(t.name for t in task.tags.all()) == ["infra", "urgent"]
    event = ActivityEvent.objects.get(verb="task.created")
    assert event.detail["task_id"] == task.pk
    assert event.actor_user_id == operator_actor.user.pk


def test_it_records_the_assigned_agent_in_notify_ids(board, operator_actor, agent, monkeypatch):
    seen = []
    from activity.services import record_activity as original

    def spy(**kwargs):
        seen.append(list(kwargs.get("notify_agent_ids", ())))
        return original(**kwargs)

    monkeypatch.setattr(services, "record_activity", spy)
    services.create_task(board=board, actor=operator_actor, title="Ship", assignee_agent=agent)
    assert seen == [[agent.pk]]


def test_a_viewer_cannot_create_a_task(board, viewer):
    with pytest.raises(PermissionDenied):
        services.create_task(board=board, actor=Actor.for_user(viewer), title="x")


def test_it_rejects_an_empty_title_a_long_title_and_an_unknown_priority(board, operator_actor):
    with pytest.raises(DomainError):
        services.create_task(board=board, actor=operator_actor, title=" ")
    with pytest.raises(DomainError):
        services.create_task(board=board, actor=operator_actor, title="x" * 201)
    services.create_task(board=board, actor=operator_actor, title="x" * 200)
    with pytest.raises(DomainError):
        services.create_task(board=board, actor=operator_actor, title="x", priority="meh")


def test_it_rejects_both_an_agent_and_a_user_assignee(board, operator_actor, agent, teammate):
    with pytest.raises(DomainError):
        services.create_task(
            board=board, actor=operator_actor, title="x", assignee_agent=agent, assignee_user=teammate
        )


def test_it_rejects_an_assignee_from_another_organization(
    board, operator_actor, other_organization, outsider
):
    stranger_agent = AgentFactory(organization=other_organization)
    with pytest.raises(NotFound):
        services.create_task(board=board, actor=operator_actor, title="x", assignee_agent=stranger_agent)
    with pytest.raises(NotFound):
        services.create_task(board=board, actor=operator_actor, title="x", assignee_user=outsider)


def test_update_lists_the_changed_fields_and_refuses_status(board, operator_actor):
    task = TaskFactory(board=board)
    services.update_task(task=task, actor=operator_actor, title="New", priority="high", tag_names=["a"])
    event = ActivityEvent.objects.get(verb="task.updated")
    assert event.detail["fields"] == ["title", "priority", "tags"]
    with pytest.raises(DomainError):
        services.update_task(task=task, actor=operator_actor, status="done")


def test_an_update_that_changes_nothing_records_nothing(board, operator_actor):
    task = TaskFactory(board=board, title="Same")
    services.update_task(task=task, actor=operator_actor, title="Same")
    assert not ActivityEvent.objects.filter(verb="task.updated").exists()


def test_assign_task_swaps_between_agent_and_user(board, operator_actor, agent, teammate):
    task = TaskFactory(board=board)
    services.assign_task(task=task, actor=operator_actor, agent=agent)
    assert task.assignee_agent == agent
    services.assign_task(task=task, actor=operator_actor, user=teammate)
    task.refresh_from_db()
    assert task.assignee_agent is None and task.assignee_user == teammate
    assert verbs(board).count("task.assigned") == 2


# --- moves ----------------------------------------------------------------------------------------


def test_the_happy_path_moves_through_every_stage(board, operator_actor):
    task = TaskFactory(board=board)
    for status in ("in_progress", "review", "done"):
        task = services.move_task(task=task, actor=operator_actor, status=status)
    assert task.status == "done"
    details = [e.detail for e in ActivityEvent.objects.filter(verb="task.status_changed").order_by("id")]
    assert [(d["from"], d["to"]) for d in details] == [
        ("inbox", "in_progress"),
        ("in_progress", "review"),
        ("review", "done"),
    ]


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("inbox", "done"),
        ("inbox", "review"),
        ("in_progress", "done"),
        ("done", "inbox"),
        ("blocked", "done"),
    ],
)
def test_it_rejects_transitions_that_skip_a_stage(board, operator_actor, start, target):
    task = TaskFactory(board=board, status=start)
    with pytest.raises(InvalidTransition):
        services.move_task(task=task, actor=operator_actor, status=target)


@pytest.mark.parametrize("start", ["inbox", "in_progress", "review"])
def test_blocked_is_reachable_from_and_back_to_any_open_status(board, operator_actor, start):
    task = TaskFactory(board=board, status=start)
    task = services.move_task(task=task, actor=operator_actor, status="blocked")
    task = services.move_task(task=task, actor=operator_actor, status=start)
    assert task.status == start


def test_it_rejects_an_unknown_status(board, operator_actor):
    with pytest.raises(DomainError):
        services.move_task(task=TaskFactory(board=board), actor=operator_actor, status="archived")


def test_a_viewer_cannot_move_a_task(board, viewer):
    with pytest.raises(PermissionDenied):
        services.move_task(task=TaskFactory(board=board), actor=Actor.for_user(viewer), status="in_progress")


def test_position_orders_the_task_within_its_column(board, operator_actor):
    a, b, c = (TaskFactory(board=board, status="in_progress", position=p) for p in (1, 2, 3))
    moved = TaskFactory(board=board, status="inbox")
    services.move_task(task=moved, actor=operator_actor, status="in_progress", position=1)
    column = list(board.tasks.filter(status="in_progress").order_by("position").values_list("pk", flat=True))
    assert column == [a.pk, moved.pk, b.pk, c.pk]
    services.move_task(task=moved, actor=operator_actor, status="in_progress", position=0)
    column = list(board.tasks.filter(status="in_progress").order_by("position").values_list("pk", flat=True))
    assert column[0] == moved.pk
    assert "task.reordered" in verbs(board)


def test_a_task_cannot_start_while_a_dependency_is_open(board, operator_actor):
    first = TaskFactory(board=board, title="Design")
    second = services.create_task(board=board, actor=operator_actor, title="Build", depends_on=[first])
    with pytest.raises(InvalidTransition, match="Design"):
        services.move_task(task=second, actor=operator_actor, status="in_progress")
    for status in ("in_progress", "review", "done"):
        services.move_task(task=first, actor=operator_actor, status=status)
    assert services.move_task(task=second, actor=operator_actor, status="in_progress").status == "in_progress"


def test_review_needs_a_comment_when_the_board_requires_one(board, operator_actor):
    board.require_comment_for_review = True
    board.save()
    task = TaskFactory(board=board, status="in_progress")
    with pytest.raises(InvalidTransition, match="comment"):
        services.move_task(task=task, actor=operator_actor, status="review")
    task = services.move_task(task=task, actor=operator_actor, status="review", note="Done, see PR 12")
    assert task.status == "review"
    assert conversation.task_messages(task=task).get().body == "Done, see PR 12"


def test_a_comment_added_before_the_move_satisfies_the_review_rule(board, operator_actor):
    board.require_comment_for_review = True
    board.save()
    task = TaskFactory(board=board, status="in_progress")
    services.add_comment(task=task, actor=operator_actor, body="Ready")
    assert services.move_task(task=task, actor=operator_actor, status="review").status == "review"


# --- approvals ------------------------------------------------------------------------------------


@pytest.fixture
def gated_board(board):
    board.require_approval_for_done = True
    board.save()
    return board


def test_done_on_a_gated_board_files_a_pending_approval_and_stays_in_review(gated_board, operator_actor):
    task = TaskFactory(board=gated_board, status="review")
    task = services.move_task(task=task, actor=operator_actor, status="done")
    assert task.status == "review"
    assert task.approval_requested.status == ApprovalStatus.PENDING
    again = services.move_task(task=task, actor=operator_actor, status="done")
    assert again.approval_requested.pk == task.approval_requested.pk
    assert Approval.objects.filter(task=task).count() == 1
    assert verbs(gated_board) == ["approval.requested"]


def test_approving_completes_the_task(gated_board, operator_actor, owner_actor):
    task = services.move_task(
        task=TaskFactory(board=gated_board, status="review"), actor=operator_actor, status="done"
    )
    approval = services.decide_approval(approval=task.approval_requested, actor=owner_actor, approve=True)
    task.refresh_from_db()
    assert approval.status == "approved" and approval.decided_by == owner_actor.user
    assert task.status == "done"
    assert verbs(gated_board)[-2:] == ["approval.decided", "task.status_changed"]
    with pytest.raises(Conflict):
        services.decide_approval(approval=approval, actor=owner_actor, approve=False)


def test_rejecting_leaves_the_task_in_review(gated_board, operator_actor):
    task = services.move_task(
        task=TaskFactory(board=gated_board, status="review"), actor=operator_actor, status="done"
    )
    services.decide_approval(
        approval=task.approval_requested, actor=operator_actor, approve=False, reason="No"
    )
    task.refresh_from_db()
    assert task.status == "review"


def test_viewers_and_agents_cannot_decide_an_approval(gated_board, operator_actor, viewer, agent):
    task = services.move_task(
        task=TaskFactory(board=gated_board, status="review"), actor=operator_actor, status="done"
    )
    with pytest.raises(PermissionDenied):
        services.decide_approval(approval=task.approval_requested, actor=Actor.for_user(viewer), approve=True)
    with pytest.raises(PermissionDenied):
        services.decide_approval(approval=task.approval_requested, actor=Actor.for_agent(agent), approve=True)


# --- dependencies ---------------------------------------------------------------------------------


def test_it_rejects_a_dependency_cycle_naming_the_loop(board, operator_actor):
    a, b, c = (TaskFactory(board=board, title=t) for t in ("Alpha", "Beta", "Gamma"))
    services.add_dependency(task=a, depends_on=b, actor=operator_actor)
    services.add_dependency(task=b, depends_on=c, actor=operator_actor)
    with pytest.raises(InvalidTransition, match="cycle") as excinfo:
        services.add_dependency(task=c, depends_on=a, actor=operator_actor)
    assert "Alpha" in str(excinfo.value) and "Gamma" in str(excinfo.value)
    with pytest.raises(InvalidTransition):
        services.add_dependency(task=a, depends_on=a, actor=operator_actor)


def test_it_rejects_a_dependency_on_another_board(board, operator_actor, organization):
    other = BoardFactory(organization=organization)
    with pytest.raises(DomainError):
        services.add_dependency(
            task=TaskFactory(board=board), depends_on=TaskFactory(board=other), actor=operator_actor
        )


def test_it_removes_a_dependency_and_404s_an_absent_one(board, operator_actor):
    a, b = TaskFactory(board=board), TaskFactory(board=board)
    services.add_dependency(task=a, depends_on=b, actor=operator_actor)
    services.remove_dependency(task=a, depends_on=b, actor=operator_actor)
    assert not a.dependencies.exists()
    with pytest.raises(NotFound):
        services.remove_dependency(task=a, depends_on=b, actor=operator_actor)
    assert verbs(board) == ["task.dependency_added", "task.dependency_removed"]


# --- comments -------------------------------------------------------------------------------------


def test_it_adds_a_comment_and_rejects_an_empty_one(board, operator_actor):
    task = TaskFactory(board=board)
    comment = services.add_comment(task=task, actor=operator_actor, body="  **Hi**  ")
    assert comment.body == "**Hi**" and comment.author_user == operator_actor.user
    with pytest.raises(DomainError):
        services.add_comment(task=task, actor=operator_actor, body="   ")
    # A comment is a message in the task's thread: the thread's post and the comment's event.
    assert verbs(board) == ["chat.message_posted", "comment.added"]


def test_a_viewer_cannot_comment(board, viewer):
    with pytest.raises(PermissionDenied):
        services.add_comment(task=TaskFactory(board=board), actor=Actor.for_user(viewer), body="hi")


# --- agents ---------------------------------------------------------------------------------------


def test_an_agent_on_the_board_works_on_tasks(board, agent):
    actor = Actor.for_agent(agent)
    task = services.create_task(board=board, actor=actor, title="Self-made")
    assert task.created_by_agent == agent
    services.move_task(task=task, actor=actor, status="in_progress")
    comment = services.add_comment(task=task, actor=actor, body="on it")
    assert comment.author_agent == agent


def test_an_agent_not_on_the_board_or_suspended_gets_not_found(board, organization, agent):
    off_board = AgentFactory(organization=organization)
    with pytest.raises(NotFound):
        services.create_task(board=board, actor=Actor.for_agent(off_board), title="x")
    agent.status = AgentStatus.SUSPENDED
    agent.save()
    with pytest.raises(NotFound):
        services.create_task(board=board, actor=Actor.for_agent(agent), title="x")


def test_an_agent_cannot_create_tasks_when_the_board_forbids_it(board, agent):
    board.agents_can_create_tasks = False
    board.save()
    with pytest.raises(PermissionDenied):
        services.create_task(board=board, actor=Actor.for_agent(agent), title="x")


def test_an_agent_cannot_manage_boards(board, agent, organization):
    with pytest.raises(PermissionDenied):
        services.create_board(organization=organization, actor=Actor.for_agent(agent), name="x")
    assert Board.objects.count() == 1


def test_events_publish_only_after_commit(
    board, operator_actor, django_capture_on_commit_callbacks, monkeypatch
):
    from infra import realtime

    published = []
    monkeypatch.setattr(
        realtime, "publish_events_in_order", lambda events: published.extend(p for p, _ in events)
    )
    with django_capture_on_commit_callbacks(execute=True):
        task = services.create_task(board=board, actor=operator_actor, title="Live")
        assert published == []
    assert published[0]["verb"] == "task.created"
    assert published[0]["target"] == {"type": "task", "id": str(task.pk)}


def test_tag_services_enforce_unique_names_and_length(organization, operator_actor):
    tag = services.create_tag(organization=organization, actor=operator_actor, name="ops")
    with pytest.raises(Conflict):
        services.create_tag(organization=organization, actor=operator_actor, name="ops")
    services.create_tag(organization=organization, actor=operator_actor, name="x" * 40)
    with pytest.raises(DomainError):
        services.create_tag(organization=organization, actor=operator_actor, name="x" * 41)
    services.update_tag(tag=tag, actor=operator_actor, name="ops2")
    services.delete_tag(tag=tag, actor=operator_actor)


def test_an_approval_cannot_finish_a_task_that_left_review(gated_board, operator_actor, owner_actor):
    task = services.move_task(
        task=TaskFactory(board=gated_board, status="review"), actor=operator_actor, status="done"
    )
    approval = task.approval_requested
    services.move_task(task=task, actor=operator_actor, status="in_progress")
    with pytest.raises(Conflict):
        services.decide_approval(approval=approval, actor=owner_actor, approve=True)
    rejected = services.decide_approval(approval=approval, actor=owner_actor, approve=False)
    assert rejected.status == "rejected"


def test_an_agent_cannot_change_a_task_it_neither_holds_nor_filed(board, agent):
    """The holder rule lives in the service, so every caller (API, stream, rules) gets it."""
    task = TaskFactory(board=board)
    actor = Actor.for_agent(agent)
    with pytest.raises(PermissionDenied):
        services.move_task(task=task, actor=actor, status="in_progress")
    with pytest.raises(PermissionDenied):
        services.update_task(task=task, actor=actor, progress_note="x")
    task.assignee_agent = agent
    task.save(update_fields=["assignee_agent"])
    assert services.move_task(task=task, actor=actor, status="in_progress").status == "in_progress"
