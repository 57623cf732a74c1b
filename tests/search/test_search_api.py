"""GET /api/v1/search/ and the search page: limits, scoping, credentials, markup."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from agents.services import issue_agent_token
from boards import services
from core.actors import Actor
from core.services import create_personal_token
from search.query_syntax import QUERY_MAX_LENGTH
from tests.activity.log import drain_log
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/search/"


@pytest.fixture
def tasks(board, user):
    actor = Actor.for_user(user)
    created = [
        services.create_task(board=board, actor=actor, title=f"Deploy service {n}", description="ship it")
        for n in range(3)
    ]
    drain_log()  # the index follows the activity log, as the worker would have by now
    return created


def test_a_member_gets_ranked_highlighted_hits(api_client, tasks, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = api_client.get(API, {"q": "deploying", "kind": "task"})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "deploying" and len(body["results"]) == 3
    hit = body["results"][0]
    assert hit["kind"] == "task" and hit["title_html"].startswith("<mark>Deploy</mark>")
    assert hit["url"] == f"/boards/{tasks[0].board_id}/tasks/{hit['object_id']}/"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "query_required"),
        ({"q": "   "}, "query_required"),
        ({"q": "x" * (QUERY_MAX_LENGTH + 1)}, "query_too_long"),
        ({"q": "deploy", "limit": "0"}, "invalid_limit"),
        ({"q": "deploy", "limit": "51"}, "invalid_limit"),
        ({"q": "deploy", "limit": "ten"}, "invalid_limit"),
    ],
)
def test_bad_input_gets_a_clear_json_error(api_client, params, code):
    response = api_client.get(API, params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_the_limits_themselves_are_accepted(api_client, tasks):
    assert api_client.get(API, {"q": "d" * QUERY_MAX_LENGTH}).status_code == 200
    assert len(api_client.get(API, {"q": "deploy", "limit": "1"}).json()["results"]) == 1
    assert api_client.get(API, {"q": "deploy", "limit": "50"}).status_code == 200


def test_an_anonymous_caller_is_refused(anon_client, tasks):
    assert anon_client.get(API, {"q": "deploy"}).status_code in (401, 403)


def test_a_personal_token_searches_as_its_owner(user, tasks):
    _, raw = create_personal_token(user=user, name="script")
    client = APIClient()
    response = client.get(API, {"q": "deploy", "kind": "task"}, HTTP_AUTHORIZATION=f"Token {raw}")
    assert response.status_code == 200 and len(response.json()["results"]) == 3


def test_an_agent_searches_the_boards_it_is_on_only(organization, board, user, tasks):
    other = services.create_board(organization=organization, actor=Actor.for_user(user), name="Vault")
    services.create_task(board=other, actor=Actor.for_user(user), title="Deploy vault")
    agent = AgentFactory(organization=organization)
    agent.boards.add(board)
    _, raw = issue_agent_token(agent=agent, actor=Actor.for_user(user), name="t")
    response = APIClient().get(API, {"q": "deploy"}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    titles = {hit["title"] for hit in response.json()["results"]}
    assert "Deploy vault" not in titles and "Deploy service 0" in titles


def test_an_outsider_gets_an_empty_list_not_an_error(outsider, tasks):
    client = APIClient()
    client.force_login(outsider)
    response = client.get(API, {"q": "deploy"})
    assert response.status_code == 200 and response.json()["results"] == []


def test_the_search_page_shows_marked_results_with_links(user, tasks, django_assert_max_num_queries):
    client = Client()
    client.force_login(user)
    with django_assert_max_num_queries(12):
        response = client.get("/search/", {"q": "deploy", "kind": "task"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<mark>Deploy</mark> service 0" in page
    assert f'href="/boards/{tasks[0].board_id}/tasks/{tasks[0].pk}/"' in page


def test_the_search_page_says_so_when_the_query_is_too_long(user):
    client = Client()
    client.force_login(user)
    response = client.get("/search/", {"q": "x" * (QUERY_MAX_LENGTH + 1)})
    assert response.status_code == 400 and "at most" in response.content.decode()


def test_every_page_has_the_search_box(user):
    client = Client()
    client.force_login(user)
    page = client.get("/").content.decode()
    assert 'id="app-search-input"' in page and 'aria-keyshortcuts="/"' in page
    assert 'id="command-palette"' in page and 'role="listbox"' in page  # Ctrl-K: the palette


def test_the_schema_documents_the_search_endpoint(api_client):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/search/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"q", "kind", "limit"}
