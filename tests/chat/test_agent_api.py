"""GET/POST /api/v1/agent/boards/<id>/chat/: scoping, cursor pagination, `since`, filters, limits."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chat import services
from chat.models import ChatMessage
from core.actors import Actor
from tests.agents.factories import agent_with_token
from tests.factories import BoardFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_setup(organization, board):
    agent, _token, raw = agent_with_token(organization=organization, name="worker", boards=[board])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return agent, client


def url(board) -> str:
    return f"/api/v1/agent/boards/{board.pk}/chat/"


def say(board, user, body, **kwargs):
    return services.post_message(board=board, actor=Actor.for_user(user), body=body, **kwargs)


def test_an_agent_posts_and_reads_back(board, agent_setup):
    agent, client = agent_setup
    response = client.post(url(board), {"body": "Starting the load test"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["author"] == {"kind": "agent", "label": "worker", "user_id": None, "agent_id": agent.pk}
    listing = client.get(url(board)).json()
    assert [m["body"] for m in listing["results"]] == ["Starting the load test"]


def test_it_pages_newest_first_with_a_cursor(board, teammate, agent_setup, django_assert_max_num_queries):
    _, client = agent_setup
    client.get(url(board))  # the agent's first request also records it coming online
    for n in range(5):
        say(board, teammate, f"message {n}", task=None)
    with django_assert_max_num_queries(5):
        first = client.get(url(board), {"limit": 2}).json()
    assert [m["body"] for m in first["results"]] == ["message 4", "message 3"]
    second = client.get(first["next"]).json()
    assert [m["body"] for m in second["results"]] == ["message 2", "message 1"]


def test_since_catches_up_oldest_first(board, teammate, agent_setup):
    _, client = agent_setup
    seen = say(board, teammate, "seen already")
    say(board, teammate, "new one")
    say(board, teammate, "newer one")
    body = client.get(url(board), {"since": seen.pk, "limit": 1}).json()
    assert [m["body"] for m in body["results"]] == ["new one"]
    rest = client.get(body["next"]).json()
    assert [m["body"] for m in rest["results"]] == ["newer one"] and rest["next"] is None


def test_pinned_and_mentions_filters(board, teammate, agent_setup):
    _, client = agent_setup
    rule = say(board, teammate, "Rule: never deploy on Fridays")
    services.set_pinned(message=rule, actor=Actor.for_user(teammate), pinned=True)
    say(board, teammate, "@worker can you take the release?")
    say(board, teammate, "unrelated")
    pinned = client.get(url(board), {"pinned": "true"}).json()["results"]
    assert [m["body"] for m in pinned] == ["Rule: never deploy on Fridays"] and pinned[0]["pinned"]
    asks = client.get(url(board), {"mentions": "me"}).json()["results"]
    assert [m["body"] for m in asks] == ["@worker can you take the release?"]
    assert asks[0]["mentions"][0]["kind"] == "agent"


def test_a_task_thread_is_separate_from_the_board_chat(board, teammate, agent_setup):
    _, client = agent_setup
    task = TaskFactory(board=board)
    say(board, teammate, "in the thread", task=task)
    assert client.get(url(board)).json()["results"] == []
    thread = client.get(url(board), {"task": task.pk}).json()["results"]
    assert [m["body"] for m in thread] == ["in the thread"]
    response = client.post(url(board), {"body": "reply in thread", "task": task.pk}, format="json")
    assert response.status_code == 201 and response.json()["task"] == task.pk


def test_a_board_the_agent_is_not_on_is_a_404(organization, other_organization, agent_setup):
    _, client = agent_setup
    for other in (
        BoardFactory(organization=organization, name="Off", slug="off"),
        BoardFactory(organization=other_organization, name="Theirs", slug="theirs"),
    ):
        assert client.get(url(other)).status_code == 404
        assert client.post(url(other), {"body": "hi"}, format="json").status_code == 404
    assert not ChatMessage.objects.exists()


def test_it_rejects_bad_input_with_a_clear_error(board, agent_setup, settings):
    _, client = agent_setup
    settings.CHAT_MESSAGE_MAX_CHARS = 5
    too_long = client.post(url(board), {"body": "123456"}, format="json")
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "invalid"
    assert "body" in too_long.json()["error"]["fields"]
    assert client.post(url(board), {"body": "12345"}, format="json").status_code == 201
    assert client.get(url(board), {"since": "yesterday"}).status_code == 400
    assert client.post(url(board), {"body": "x", "task": 999999}, format="json").status_code == 404


def test_it_answers_429_with_retry_after_over_the_post_rate(board, agent_setup, settings):
    _, client = agent_setup
    settings.CHAT_POST_RATE = "1/60s"
    assert client.post(url(board), {"body": "one"}, format="json").status_code == 201
    response = client.post(url(board), {"body": "two"}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limited"


def test_a_session_does_not_authenticate_the_agent_chat_api(board, api_client):
    assert api_client.get(url(board)).status_code in (401, 403)
