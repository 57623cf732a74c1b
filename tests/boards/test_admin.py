"""Admin: every boards model is listed, the activity log is read-only, bulk actions use services."""

from __future__ import annotations

import pytest

from activity.models import ActivityEvent
from boards.models import Board, Task
from tests.factories import AgentFactory, TaskFactory


@pytest.mark.parametrize(
    "model",
    [
        "organization",
        "membership",
        "boardgroup",
        "board",
        "tag",
        "task",
        "taskdependency",
        "comment",
        "approval",
        "activityevent",
        "personaltoken",
    ],
)
def test_every_boards_model_has_a_working_changelist(admin_client, board, model):
    TaskFactory(board=board)
    app_label = {
        "organization": "core",
        "membership": "core",
        "personaltoken": "core",
        "activityevent": "activity",
    }.get(model, "boards")
    response = admin_client.get(f"/admin/{app_label}/{model}/?q=a")
    assert response.status_code == 200


def test_the_activity_log_cannot_be_added_changed_or_deleted(admin_client, board):
    event = ActivityEvent.objects.create(
        organization=board.organization, board=board, actor_kind="system", actor_label="system", verb="x"
    )
    assert admin_client.get("/admin/activity/activityevent/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/activity/activityevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    response = admin_client.post(f"/admin/activity/activityevent/{event.pk}/change/", {"verb": "edited"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.verb == "x"
    # view only
    assert admin_client.get(f"/admin/activity/activityevent/{event.pk}/change/").status_code == 200


def test_bulk_archive_records_an_event_per_board(admin_client, board):
    response = admin_client.post(
        "/admin/boards/board/", {"action": "archive_boards", "_selected_action": [board.pk]}, follow=True
    )
    assert response.status_code == 200
    assert Board.objects.get(pk=board.pk).archived
    event = ActivityEvent.objects.get(verb="board.archived")
    assert event.actor_label == "admin (admin)"


def test_bulk_reassign_asks_for_an_assignee_then_assigns(admin_client, board, organization):
    agent = AgentFactory(organization=organization, name="fixer")
    tasks = [TaskFactory(board=board), TaskFactory(board=board)]
    ids = [t.pk for t in tasks]
    response = admin_client.post("/admin/boards/task/", {"action": "reassign_tasks", "_selected_action": ids})
    assert response.status_code == 200 and b"Reassign 2 tasks" in response.content
    response = admin_client.post(
        "/admin/boards/task/",
        {"action": "reassign_tasks", "_selected_action": ids, "apply": "1", "agent": agent.pk, "user": ""},
    )
    assert response.status_code == 302
    assert set(Task.objects.values_list("assignee_agent_id", flat=True)) == {agent.pk}
    assert ActivityEvent.objects.filter(verb="task.assigned").count() == 2


def test_admin_names_read_as_english_plurals():
    from boards.models import TaskDependency
    from deliveries.models import Delivery

    assert TaskDependency._meta.verbose_name_plural == "task dependencies"
    assert Delivery._meta.verbose_name_plural == "deliveries"
