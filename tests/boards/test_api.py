"""The human API: scoping (404 for non-members), roles, validation errors, rules and query counts."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from activity.models import ActivityEvent
from boards.models import Approval, Board, Task, TaskStatus
from chat import services as chat_services
from chat.models import ChatMessage
from core.actors import Actor
from tests.factories import AgentFactory, BoardFactory, TagFactory, TaskFactory


def client_for(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(user)
    return client


@pytest.fixture
def operator_client(teammate):
    return client_for(teammate)


@pytest.fixture
def viewer_client(viewer):
    return client_for(viewer)


@pytest.fixture
def outsider_client(outsider):
    return client_for(outsider)


# --- auth and scoping -----------------------------------------------------------------------------


def test_it_requires_a_login(anon_client, board):
    response = anon_client.get("/api/v1/boards/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_session_writes_need_the_csrf_token(api_client, board):
    response = api_client.post("/api/v1/tasks/", {"board": board.pk, "title": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed" or "CSRF" in response.json()["error"]["message"]


def test_organizations_lists_only_mine_with_my_role(api_client, organization, other_organization, user):
    response = api_client.get("/api/v1/organizations/")
    assert response.status_code == 200
    assert [(o["id"], o["role"]) for o in response.json()["results"]] == [(organization.pk, "admin")]
    assert api_client.get(f"/api/v1/organizations/{other_organization.pk}/").status_code == 404


def test_an_outsider_gets_404_for_every_object_of_another_organization(outsider_client, board, user):
    task = TaskFactory(board=board)
    for url in (
        f"/api/v1/boards/{board.pk}/",
        f"/api/v1/tasks/{task.pk}/",
        f"/api/v1/tasks/{task.pk}/comments/",
    ):
        assert outsider_client.get(url).status_code == 404
    response = outsider_client.post(f"/api/v1/tasks/{task.pk}/move", {"status": "in_progress"}, format="json")
    assert response.status_code == 404
    assert outsider_client.get("/api/v1/tasks/").json()["results"] == []
    assert outsider_client.get("/api/v1/activity/").json()["results"] == []


def test_an_outsider_cannot_create_a_task_on_a_board_it_cannot_see(outsider_client, board):
    response = outsider_client.post("/api/v1/tasks/", {"board": board.pk, "title": "x"}, format="json")
    assert response.status_code == 400
    assert "board" in response.json()["error"]["fields"]
    assert not Task.objects.exists()


# --- boards ---------------------------------------------------------------------------------------


def test_an_admin_creates_a_board_and_it_lists_with_counts(organization, user, board):
    client = client_for(user)
    response = client.post("/api/v1/boards/", {"organization": organization.pk, "name": "Ops"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["slug"] == "ops"
    TaskFactory(board=board, status="done")
    TaskFactory(board=board, status="inbox")
    listed = {b["name"]: b["task_counts"] for b in client.get("/api/v1/boards/").json()["results"]}
    assert listed["Launch"]["done"] == 1 and listed["Launch"]["total"] == 2
    assert listed["Ops"]["total"] == 0


def test_board_create_reports_field_errors(organization, user):
    response = client_for(user).post("/api/v1/boards/", {"organization": organization.pk}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid" and "name" in body["fields"]


@pytest.mark.parametrize("who", ["teammate", "viewer"])
def test_only_admins_create_boards(request, organization, who):
    client = client_for(request.getfixturevalue(who))
    response = client.post("/api/v1/boards/", {"organization": organization.pk, "name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_an_admin_updates_and_archives_a_board(user, board):
    client = client_for(user)
    response = client.patch(f"/api/v1/boards/{board.pk}/", {"require_approval_for_done": True}, format="json")
    assert response.status_code == 200 and response.json()["require_approval_for_done"] is True
    response = client.post(f"/api/v1/boards/{board.pk}/archive")
    assert response.status_code == 200 and response.json()["archived"] is True


# --- tasks ----------------------------------------------------------------------------------------


def test_an_operator_creates_a_task_with_tags_and_dependencies(operator_client, board):
    first = TaskFactory(board=board)
    response = operator_client.post(
        "/api/v1/tasks/",
        {
            "board": board.pk,
            "title": "Build",
            "priority": "high",
            "tags": ["infra"],
            "depends_on_ids": [first.pk],
            "description": "**bold** <script>x</script>",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["tags"] == ["infra"] and body["depends_on"] == [first.pk] and body["status"] == "inbox"
    assert "<script>" not in body["description_html"] and "<strong>bold</strong>" in body["description_html"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "priority": "whenever"}, "priority"),
        ({"title": "ok", "status": "done"}, "status"),
        ({"title": "ok", "due_date": "tomorrow"}, "due_date"),
        ({"title": "ok", "tags": ["x" * 41]}, "tags"),
        ({"title": "ok", "tags": [f"t{i}" for i in range(21)]}, "tags"),
    ],
)
def test_task_create_reports_field_level_errors(operator_client, board, payload, field):
    response = operator_client.post("/api/v1/tasks/", {"board": board.pk, **payload}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_title_of_exactly_200_characters_is_accepted(operator_client, board):
    response = operator_client.post("/api/v1/tasks/", {"board": board.pk, "title": "x" * 200}, format="json")
    assert response.status_code == 201


def test_a_viewer_reads_but_cannot_write(viewer_client, board):
    task = TaskFactory(board=board)
    assert viewer_client.get(f"/api/v1/tasks/{task.pk}/").status_code == 200
    assert (
        viewer_client.post("/api/v1/tasks/", {"board": board.pk, "title": "x"}, format="json").status_code
        == 403
    )
    assert viewer_client.patch(f"/api/v1/tasks/{task.pk}/", {"title": "y"}, format="json").status_code == 403
    assert (
        viewer_client.post(
            f"/api/v1/tasks/{task.pk}/move", {"status": "in_progress"}, format="json"
        ).status_code
        == 403
    )
    assert (
        viewer_client.post(f"/api/v1/tasks/{task.pk}/comments/", {"body": "hi"}, format="json").status_code
        == 403
    )
    assert viewer_client.delete(f"/api/v1/tasks/{task.pk}/").status_code == 403


def test_update_cannot_change_the_status(operator_client, board):
    task = TaskFactory(board=board)
    response = operator_client.patch(
        f"/api/v1/tasks/{task.pk}/", {"status": "done", "title": "New"}, format="json"
    )
    assert response.status_code == 400 and "status" in response.json()["error"]["fields"]
    response = operator_client.patch(
        f"/api/v1/tasks/{task.pk}/", {"title": "New", "tags": ["a"]}, format="json"
    )
    assert response.status_code == 200 and response.json()["tags"] == ["a"]
    task.refresh_from_db()
    assert task.status == "inbox" and task.title == "New"


def test_filters_by_status_assignee_tag_and_text(operator_client, board, organization):
    agent = AgentFactory(organization=organization)
    tag = TagFactory(organization=organization, name="infra")
    match = TaskFactory(board=board, title="Rotate keys", status="in_progress", assignee_agent=agent)
    match.tags.add(tag)
    TaskFactory(board=board, title="Rotate logs", status="inbox")
    TaskFactory(board=board, title="Other", status="in_progress")
    url = (
        f"/api/v1/tasks/?board={board.pk}&status=in_progress&assignee_agent={agent.pk}"
        "&tag=infra&search=rotate"
    )
    assert [t["id"] for t in operator_client.get(url).json()["results"]] == [match.pk]
    assert len(operator_client.get("/api/v1/tasks/?search=rotate").json()["results"]) == 2
    assert operator_client.get("/api/v1/tasks/?status=nope").status_code == 400


def test_ordering_and_limit_offset_pagination_with_a_ceiling(operator_client, board, settings):
    settings.API_MAX_PAGE_SIZE = 3
    for title in ("b", "a", "c", "d"):
        TaskFactory(board=board, title=title)
    body = operator_client.get("/api/v1/tasks/?ordering=title&limit=2").json()
    assert [t["title"] for t in body["results"]] == ["a", "b"] and body["count"] == 4
    assert len(operator_client.get("/api/v1/tasks/?limit=1000").json()["results"]) == 3


def test_move_runs_the_transition_rules(operator_client, board):
    task = TaskFactory(board=board)
    response = operator_client.post(f"/api/v1/tasks/{task.pk}/move", {"status": "done"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    response = operator_client.post(
        f"/api/v1/tasks/{task.pk}/move/", {"status": "in_progress"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "in_progress"
    response = operator_client.post(f"/api/v1/tasks/{task.pk}/move", {"status": "whatever"}, format="json")
    assert response.status_code == 400 and "status" in response.json()["error"]["fields"]
    response = operator_client.post(
        f"/api/v1/tasks/{task.pk}/move", {"status": "review", "position": -1}, format="json"
    )
    assert response.status_code == 400 and "position" in response.json()["error"]["fields"]


def test_move_refuses_to_start_a_task_with_an_open_dependency(operator_client, board):
    first, second = TaskFactory(board=board, title="Design"), TaskFactory(board=board)
    assert (
        operator_client.post(
            f"/api/v1/tasks/{second.pk}/dependencies", {"depends_on": first.pk}, format="json"
        ).status_code
        == 201
    )
    response = operator_client.post(
        f"/api/v1/tasks/{second.pk}/move", {"status": "in_progress"}, format="json"
    )
    assert response.status_code == 409 and "Design" in response.json()["error"]["message"]


def test_a_dependency_cycle_is_rejected_with_a_clear_error(operator_client, board):
    a, b = TaskFactory(board=board, title="Alpha"), TaskFactory(board=board, title="Beta")
    operator_client.post(f"/api/v1/tasks/{a.pk}/dependencies", {"depends_on": b.pk}, format="json")
    response = operator_client.post(f"/api/v1/tasks/{b.pk}/dependencies", {"depends_on": a.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "dependency_cycle"
    assert "Alpha" in response.json()["error"]["message"]
    response = operator_client.delete(f"/api/v1/tasks/{a.pk}/dependencies/{b.pk}")
    assert response.status_code == 204


def test_assign_and_delete_a_task(operator_client, board, organization, teammate):
    task = TaskFactory(board=board)
    response = operator_client.post(f"/api/v1/tasks/{task.pk}/assign", {"user": teammate.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["assignee"] == {"kind": "user", "id": teammate.pk, "name": "teammate"}
    assert operator_client.delete(f"/api/v1/tasks/{task.pk}/").status_code == 204
    assert ActivityEvent.objects.filter(verb="task.deleted", target_id=str(task.pk)).exists()


def test_comments_are_listed_and_added(operator_client, board):
    task = TaskFactory(board=board)
    response = operator_client.post(
        f"/api/v1/tasks/{task.pk}/comments/", {"body": "Hi _there_"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["author"]["name"] == "teammate"
    assert "<em>there</em>" in response.json()["body_html"]
    assert (
        operator_client.post(f"/api/v1/tasks/{task.pk}/comments/", {"body": "  "}, format="json").status_code
        == 400
    )
    listed = operator_client.get(f"/api/v1/tasks/{task.pk}/comments/").json()
    assert [c["body"] for c in listed["results"]] == ["Hi _there_"]
    assert set(listed["results"][0]) == {"id", "task", "author", "body", "body_html", "created_at"}


def test_the_comments_endpoint_reads_and_writes_the_tasks_thread(operator_client, board, teammate):
    """One conversation: a message posted in the thread is listed as a comment, a comment posted
    here is a message of the thread; deleted messages are not listed."""
    task = TaskFactory(board=board)
    in_thread = chat_services.post_message(
        board=board, actor=Actor.for_user(teammate), body="first", task=task
    )
    chat_services.post_message(board=board, actor=Actor.for_user(teammate), body="board chat, not the task")
    gone = chat_services.post_message(board=board, actor=Actor.for_user(teammate), body="oops", task=task)
    chat_services.delete_message(message=gone, actor=Actor.for_user(teammate))
    posted = operator_client.post(f"/api/v1/tasks/{task.pk}/comments/", {"body": "second"}, format="json")
    assert ChatMessage.objects.get(pk=posted.json()["id"]).task_id == task.pk
    listed = operator_client.get(f"/api/v1/tasks/{task.pk}/comments/").json()["results"]
    assert [(c["id"], c["body"]) for c in listed] == [
        (in_thread.pk, "first"),
        (posted.json()["id"], "second"),
    ]


@pytest.mark.parametrize(("length", "status"), [(20000, 201), (20001, 400)])
def test_a_comment_keeps_the_20000_character_limit(operator_client, board, length, status):
    task = TaskFactory(board=board)
    response = operator_client.post(
        f"/api/v1/tasks/{task.pk}/comments/", {"body": "x" * length}, format="json"
    )
    assert response.status_code == status


# --- approvals ------------------------------------------------------------------------------------


def test_the_approval_gate_through_the_api(operator_client, viewer_client, board):
    board.require_approval_for_done = True
    board.save()
    task = TaskFactory(board=board, status="review")
    response = operator_client.post(f"/api/v1/tasks/{task.pk}/move", {"status": "done"}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "review"
    approval_id = response.json()["pending_approval"]
    assert approval_id == Approval.objects.get().pk
    pending = operator_client.get("/api/v1/approvals/?status=pending").json()["results"]
    assert [a["id"] for a in pending] == [approval_id]
    response = viewer_client.post(f"/api/v1/approvals/{approval_id}/decide", {"approve": True}, format="json")
    assert response.status_code == 403
    response = operator_client.post(f"/api/v1/approvals/{approval_id}/decide", {}, format="json")
    assert response.status_code == 400 and "approve" in response.json()["error"]["fields"]
    response = operator_client.post(
        f"/api/v1/approvals/{approval_id}/decide", {"approve": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    again = operator_client.post(f"/api/v1/approvals/{approval_id}/decide", {"approve": False}, format="json")
    assert again.status_code == 409


# --- tags and activity ----------------------------------------------------------------------------


def test_tags_crud_with_color_validation(operator_client, organization, viewer_client):
    response = operator_client.post(
        "/api/v1/tags/", {"organization": organization.pk, "name": "infra", "color": "red"}, format="json"
    )
    assert response.status_code == 400 and "color" in response.json()["error"]["fields"]
    response = operator_client.post(
        "/api/v1/tags/", {"organization": organization.pk, "name": "infra", "color": "#112233"}, format="json"
    )
    assert response.status_code == 201
    tag_id = response.json()["id"]
    assert (
        operator_client.patch(f"/api/v1/tags/{tag_id}/", {"name": "ops"}, format="json").json()["name"]
        == "ops"
    )
    assert viewer_client.delete(f"/api/v1/tags/{tag_id}/").status_code == 403
    assert operator_client.delete(f"/api/v1/tags/{tag_id}/").status_code == 204


def test_activity_is_newest_first_filterable_and_shaped_like_the_live_payload(
    operator_client, board, teammate
):
    task = TaskFactory(board=board)
    operator_client.post(f"/api/v1/tasks/{task.pk}/move", {"status": "in_progress"}, format="json")
    operator_client.post(f"/api/v1/tasks/{task.pk}/comments/", {"body": "hi"}, format="json")
    body = operator_client.get(f"/api/v1/activity/?board={board.pk}").json()
    # A comment is a message of the task's thread: the thread's post and the comment's event.
    assert [e["verb"] for e in body["results"]] == [
        "comment.added",
        "chat.message_posted",
        "task.status_changed",
    ]
    event = body["results"][2]
    assert set(event) == {
        "id",
        "position",
        "verb",
        "organization_id",
        "board_id",
        "actor",
        "target",
        "detail",
        "request_id",
        "created_at",
    }
    assert event["actor"]["user_id"] == teammate.pk and event["detail"]["to"] == "in_progress"
    assert len(operator_client.get("/api/v1/activity/?verb=task.").json()["results"]) == 1
    assert len(operator_client.get(f"/api/v1/activity/?actor_user={teammate.pk}").json()["results"]) == 3
    assert operator_client.get("/api/v1/activity/?since=2000-01-01T00:00:00Z").json()["count"] == 3
    assert operator_client.get("/api/v1/activity/?until=2000-01-01T00:00:00Z").json()["count"] == 0
    assert operator_client.get("/api/v1/activity/?since=yesterday").status_code == 400
    assert operator_client.post("/api/v1/activity/", {}, format="json").status_code == 405


# --- query counts ---------------------------------------------------------------------------------


def _fill(board, organization, n):
    agent = AgentFactory(organization=organization)
    tag = TagFactory(organization=organization)
    tasks = Task.objects.bulk_create(
        Task(board=board, title=f"T{i}", position=i, assignee_agent=agent if i % 2 else None)
        for i in range(n)
    )
    Task.tags.through.objects.bulk_create(Task.tags.through(task_id=t.pk, tag_id=tag.pk) for t in tasks)
    return tasks


@pytest.mark.parametrize("rows", [1, 200])
def test_list_endpoints_run_a_constant_number_of_queries(
    operator_client, board, organization, rows, django_assert_max_num_queries
):
    _fill(board, organization, rows)
    ActivityEvent.objects.bulk_create(
        ActivityEvent(
            organization=organization, board=board, actor_kind="system", actor_label="system", verb="x"
        )
        for _ in range(rows)
    )
    BoardFactory.create_batch(min(rows, 50), organization=organization)
    for url in (
        "/api/v1/tasks/?limit=200",
        "/api/v1/activity/?limit=200",
        "/api/v1/boards/?limit=200",
        "/api/v1/approvals/",
        "/api/v1/tags/",
        "/api/v1/organizations/",
    ):
        with django_assert_max_num_queries(9):
            response = operator_client.get(url)
        assert response.status_code == 200
    assert Board.objects.count() > 1


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/boards/", "group"),
        ("/api/v1/boards/", "organization"),
        ("/api/v1/tasks/", "board"),
        ("/api/v1/tasks/", "assignee_agent"),
        ("/api/v1/activity/", "after_id"),
        ("/api/v1/approvals/", "task"),
        ("/api/v1/tags/", "organization"),
    ],
)
def test_ids_past_64_bits_are_a_400_not_a_500(operator_client, path, name):
    response = operator_client.get(path, {name: "9" * 23})
    assert response.status_code == 400 and name in response.json()["error"]["fields"]
    assert operator_client.get(path, {name: str(2**63 - 1)}).status_code == 200


def test_a_huge_tag_id_is_treated_as_a_name(operator_client):
    assert operator_client.get("/api/v1/tasks/", {"tag": "9" * 23}).status_code == 200
