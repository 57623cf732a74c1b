"""The agent's own API: scoping to its organization and boards, tasks, claims, comments, payloads."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from activity.models import ActivityEvent
from agents import services
from boards.models import Task, TaskStatus
from chat.models import ChatMessage
from core.actors import Actor
from tests.agents.factories import agent_with_token, bearer
from tests.factories import AgentFactory, BoardFactory, TaskFactory
from webhooks.models import BoardWebhook, WebhookPayload

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(organization, board, other_organization):
    agent, _token, raw = agent_with_token(organization=organization, name="worker", boards=[board])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    off_board = BoardFactory(organization=organization, name="Elsewhere", slug="elsewhere")
    foreign_board = BoardFactory(organization=other_organization, name="Theirs", slug="theirs")
    return {
        "agent": agent,
        "raw": raw,
        "client": client,
        "board": board,
        "off_board": off_board,
        "foreign_board": foreign_board,
    }


def test_me_describes_the_agent(setup):
    body = setup["client"].get("/api/v1/agent/me").json()
    assert body["name"] == "worker" and body["boards"] == [setup["board"].pk]
    assert body["presence"] == "online"
    assert "token" not in str(body) and setup["raw"] not in str(body)


def test_an_agent_reads_itself_as_humans_read_it_less_created_at(setup, user):
    """Both APIs show an agent with one field list (agent_api.serializers.AGENT_FIELDS)."""
    mine = setup["client"].get("/api/v1/agent/me").json()
    human = APIClient()
    human.force_login(user)
    theirs = human.get(f"/api/v1/agents/{setup['agent'].pk}/").json()
    assert list(theirs) == [*mine, "created_at"]
    assert {key: theirs[key] for key in mine if key != "last_seen_at"} == {
        key: value for key, value in mine.items() if key != "last_seen_at"
    }


def test_boards_lists_only_the_agents_boards(setup):
    body = setup["client"].get("/api/v1/agent/boards").json()
    assert [b["id"] for b in body["results"]] == [setup["board"].pk]


def test_tasks_lists_mine_and_unassigned_on_my_boards_only(setup, organization):
    board, agent = setup["board"], setup["agent"]
    mine = TaskFactory(board=board, assignee_agent=agent)
    free = TaskFactory(board=board)
    others = AgentFactory(organization=organization, name="someone")
    TaskFactory(board=board, assignee_agent=others)
    TaskFactory(board=setup["off_board"])
    TaskFactory(board=setup["foreign_board"])
    client = setup["client"]
    ids = {t["id"] for t in client.get("/api/v1/agent/tasks").json()["results"]}
    assert ids == {mine.pk, free.pk}
    assert [t["id"] for t in client.get("/api/v1/agent/tasks?assigned=me").json()["results"]] == [mine.pk]
    assert [t["id"] for t in client.get("/api/v1/agent/tasks?assigned=unassigned").json()["results"]] == [
        free.pk
    ]


def test_tasks_filter_by_status_and_reject_unknown_ones(setup):
    board = setup["board"]
    TaskFactory(board=board)
    review = TaskFactory(board=board, status=TaskStatus.REVIEW)
    client = setup["client"]
    assert [t["id"] for t in client.get("/api/v1/agent/tasks?status=review").json()["results"]] == [review.pk]
    bad = client.get("/api/v1/agent/tasks?status=nope")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]


@pytest.mark.parametrize("rows", [1, 60])
def test_task_list_runs_a_constant_number_of_queries(setup, rows, django_assert_max_num_queries):
    board = setup["board"]
    for _ in range(rows):
        task = TaskFactory(board=board)
        task.tags.create(organization=board.organization, name=f"t{task.pk}")
    setup["client"].get("/api/v1/agent/me")  # the first call writes last_seen_at; measure the steady state
    with django_assert_max_num_queries(4):
        response = setup["client"].get("/api/v1/agent/tasks?limit=100")
    assert response.json()["count"] == rows


def test_scoping_other_organization_and_off_board_tasks_are_404(setup):
    client = setup["client"]
    foreign = TaskFactory(board=setup["foreign_board"])
    off = TaskFactory(board=setup["off_board"])
    for task in (foreign, off):
        assert client.get(f"/api/v1/agent/tasks/{task.pk}").status_code == 404
        assert client.post(f"/api/v1/agent/tasks/{task.pk}/claim").status_code == 404
        assert client.patch(f"/api/v1/agent/tasks/{task.pk}", {"status": "in_progress"}).status_code == 404
        assert client.post(f"/api/v1/agent/tasks/{task.pk}/comments", {"body": "hi"}).status_code == 404
    for board in (setup["foreign_board"], setup["off_board"]):
        assert client.post("/api/v1/agent/tasks", {"board": board.pk, "title": "x"}).status_code == 404
    assert Task.objects.filter(title="x").count() == 0


def test_claim_assigns_the_task_and_a_second_claimer_gets_409(setup, organization):
    board = setup["board"]
    task = TaskFactory(board=board)
    response = setup["client"].post(f"/api/v1/agent/tasks/{task.pk}/claim")
    assert response.status_code == 200 and response.json()["assignee_agent"] == setup["agent"].pk
    # Claiming one's own task again is fine.
    assert setup["client"].post(f"/api/v1/agent/tasks/{task.pk}/claim").status_code == 200
    _rival, _t, rival_raw = agent_with_token(organization=organization, name="rival", boards=[board])
    lost = APIClient().post(f"/api/v1/agent/tasks/{task.pk}/claim", **bearer(rival_raw))
    assert lost.status_code == 409 and lost.json()["error"]["code"] == "already_claimed"
    event = ActivityEvent.objects.get(verb="task.claimed")
    assert event.actor_agent == setup["agent"] and event.board_id == board.pk


def test_a_claimed_inbox_task_is_in_progress_and_counted_as_started(setup):
    task = TaskFactory(board=setup["board"])
    response = setup["client"].post(f"/api/v1/agent/tasks/{task.pk}/claim")
    assert response.status_code == 200 and response.json()["status"] == "in_progress"
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS
    moved = ActivityEvent.objects.get(verb="task.status_changed")
    assert moved.actor_agent == setup["agent"] and moved.detail["to"] == "in_progress"
    assert list(
        ActivityEvent.objects.filter(verb__startswith="task.").order_by("id").values_list("verb", flat=True)
    ) == [
        "task.claimed",
        "task.status_changed",
    ]


def test_a_claimed_task_with_open_dependencies_stays_in_the_inbox_and_a_blocked_one_blocked(setup):
    board = setup["board"]
    first = TaskFactory(board=board, title="first")
    waiting = TaskFactory(board=board, title="waiting")
    waiting.dependencies.add(first)
    blocked = TaskFactory(board=board, status=TaskStatus.BLOCKED)
    for task in (waiting, blocked):
        assert setup["client"].post(f"/api/v1/agent/tasks/{task.pk}/claim").status_code == 200
    waiting.refresh_from_db()
    blocked.refresh_from_db()
    assert (waiting.status, waiting.assignee_agent) == (TaskStatus.INBOX, setup["agent"])
    assert blocked.status == TaskStatus.BLOCKED


def test_patch_moves_status_within_the_rules_and_sets_the_progress_note(setup):
    task = TaskFactory(board=setup["board"], assignee_agent=setup["agent"])
    client = setup["client"]
    response = client.patch(
        f"/api/v1/agent/tasks/{task.pk}", {"status": "in_progress", "progress_note": "halfway"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "in_progress" and response.json()["progress_note"] == "halfway"
    skip = client.patch(f"/api/v1/agent/tasks/{task.pk}", {"status": "done"}, format="json")
    assert skip.status_code == 409 and skip.json()["error"]["code"] == "invalid_transition"
    empty = client.patch(f"/api/v1/agent/tasks/{task.pk}", {}, format="json")
    assert empty.status_code == 400
    events = ActivityEvent.objects.filter(actor_agent=setup["agent"], verb="task.status_changed")
    assert events.count() == 1


def test_patch_needs_the_task_to_be_claimed_first(setup):
    task = TaskFactory(board=setup["board"])
    url = f"/api/v1/agent/tasks/{task.pk}"
    response = setup["client"].patch(url, {"status": "in_progress"}, format="json")
    assert response.status_code == 403


def test_comments_are_written_as_the_agent(setup):
    task = TaskFactory(board=setup["board"])
    url = f"/api/v1/agent/tasks/{task.pk}/comments"
    response = setup["client"].post(url, {"body": "on it"}, format="json")
    assert response.status_code == 201
    comment = ChatMessage.objects.get()  # a message in the task's thread, its one conversation
    assert comment.author_agent == setup["agent"] and comment.body == "on it" and comment.task == task
    assert response.json() == {
        "id": comment.pk,
        "task": task.pk,
        "body": "on it",
        "author_agent": setup["agent"].pk,
        "created_at": response.json()["created_at"],
    }
    assert setup["client"].post(f"/api/v1/agent/tasks/{task.pk}/comments", {"body": ""}).status_code == 400


@pytest.mark.parametrize(("length", "status"), [(20000, 201), (20001, 400)])
def test_an_agents_comment_keeps_the_20000_character_limit(setup, length, status):
    """Comments allowed 20000 characters before they joined the chat thread: still so."""
    task = TaskFactory(board=setup["board"])
    url = f"/api/v1/agent/tasks/{task.pk}/comments"
    response = setup["client"].post(url, {"body": "x" * length}, format="json")
    assert response.status_code == status
    if status == 400:
        assert "body" in response.json()["error"]["fields"]
    assert ChatMessage.objects.count() == (status == 201)


def test_create_task_on_my_board_respects_the_board_setting(setup):
    board = setup["board"]
    client = setup["client"]
    response = client.post("/api/v1/agent/tasks", {"board": board.pk, "title": "Found a bug"}, format="json")
    assert response.status_code == 201
    task = Task.objects.get(pk=response.json()["id"])
    assert task.created_by_agent == setup["agent"]
    assert ActivityEvent.objects.get(verb="task.created").actor_agent == setup["agent"]
    board.agents_can_create_tasks = False
    board.save()
    refused = client.post("/api/v1/agent/tasks", {"board": board.pk, "title": "Another"}, format="json")
    assert refused.status_code == 403


def test_heartbeat_records_status_and_current_task(setup):
    task = TaskFactory(board=setup["board"], assignee_agent=setup["agent"])
    response = setup["client"].post(
        "/api/v1/agent/heartbeat", {"status_text": "compiling", "current_task": task.pk}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status_text"] == "compiling" and response.json()["current_task"] == task.pk
    foreign = TaskFactory(board=setup["foreign_board"])
    assert (
        setup["client"]
        .post("/api/v1/agent/heartbeat", {"current_task": foreign.pk}, format="json")
        .status_code
        == 404
    )
    too_long = setup["client"].post("/api/v1/agent/heartbeat", {"status_text": "x" * 201}, format="json")
    assert too_long.status_code == 400
    at_limit = setup["client"].post("/api/v1/agent/heartbeat", {"status_text": "x" * 200}, format="json")
    assert at_limit.status_code == 200


def _payload(board, target_agent=None) -> WebhookPayload:
    webhook = BoardWebhook.objects.create(board=board, target_agent=target_agent)
    return WebhookPayload.objects.create(webhook=webhook, board=board, body=b'{"a": 1}', payload={"a": 1})


def test_webhook_payloads_addressed_to_the_agent_are_readable(setup, organization):
    agent = setup["agent"]
    mine = _payload(setup["board"], target_agent=agent)
    response = setup["client"].get(f"/api/v1/agent/webhook-payloads/{mine.pk}")
    assert response.status_code == 200 and response.json()["payload"] == {"a": 1}
    someone = AgentFactory(organization=organization, name="else")
    not_mine = _payload(setup["board"], target_agent=someone)
    assert setup["client"].get(f"/api/v1/agent/webhook-payloads/{not_mine.pk}").status_code == 404
    # A board lead reads every payload of its boards, but never another organization's.
    services.update_agent(agent=agent, actor=Actor.system(), is_board_lead=True)
    assert setup["client"].get(f"/api/v1/agent/webhook-payloads/{not_mine.pk}").status_code == 200
    foreign = _payload(setup["foreign_board"])
    assert setup["client"].get(f"/api/v1/agent/webhook-payloads/{foreign.pk}").status_code == 404


def test_a_suspended_agent_is_locked_out(setup):
    services.suspend_agent(agent=setup["agent"], actor=Actor.system())
    assert setup["client"].get("/api/v1/agent/me").status_code == 401


@pytest.mark.parametrize("huge", ["99999999999999999999", "9223372036854775808"])
def test_out_of_range_ids_are_404_or_400_never_500(setup, huge):
    client = setup["client"]
    assert client.get(f"/api/v1/agent/tasks/{huge}").status_code == 404
    assert client.post(f"/api/v1/agent/tasks/{huge}/claim").status_code == 404
    assert client.get(f"/api/v1/agent/webhook-payloads/{huge}").status_code == 404
    assert client.get(f"/api/v1/agent/tasks?board={huge}").status_code in (200, 400)
    heartbeat = client.post("/api/v1/agent/heartbeat", {"current_task": int(huge)}, format="json")
    assert heartbeat.status_code in (400, 404)
    created = client.post("/api/v1/agent/tasks", {"board": int(huge), "title": "x"}, format="json")
    assert created.status_code in (400, 404)


@pytest.mark.parametrize("boards", [1, 5])
def test_me_runs_two_queries_in_the_steady_state(setup, organization, boards, django_assert_max_num_queries):
    # The token lookup (with its agent) and the agent's boards: nothing grows with the boards.
    for n in range(boards - 1):
        setup["agent"].boards.add(BoardFactory(organization=organization, name=f"More {n}", slug=f"more-{n}"))
    setup["client"].get("/api/v1/agent/me")  # the first call writes last_seen_at; measure the steady state
    with django_assert_max_num_queries(2):
        response = setup["client"].get("/api/v1/agent/me")
    assert len(response.json()["boards"]) == boards
