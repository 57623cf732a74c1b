"""The agents pages: list, detail with tokens, create/edit forms, and token actions."""

from __future__ import annotations

import pytest
from django.test import Client

from agents import services
from agents.models import Agent, AgentToken
from core.actors import Actor
from tests.agent_tokens import authenticate_agent_token
from tests.factories import AgentFactory, TaskFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def agent(organization, board):
    agent = AgentFactory(organization=organization, name="builder")
    agent.boards.set([board])
    return agent


def test_list_shows_presence_attributes_boards_and_open_tasks(user, agent, board):
    TaskFactory(board=board, assignee_agent=agent)
    TaskFactory(board=board, assignee_agent=agent, status="done")
    html = client_for(user).get("/agents/").content.decode()
    assert f'data-agent-id="{agent.pk}"' in html and 'data-presence="offline"' in html
    assert "Launch" in html
    assert '<td class="num agent-open-tasks">1</td>' in html
    assert 'href="/agents/new/"' in html


@pytest.mark.parametrize("rows", [1, 30])
def test_list_runs_a_constant_number_of_queries(
    user, organization, board, rows, django_assert_max_num_queries
):
    for i in range(rows):
        agent = AgentFactory(organization=organization, name=f"bot-{i}")
        agent.boards.set([board])
        TaskFactory(board=board, assignee_agent=agent)
    client = client_for(user)
    with django_assert_max_num_queries(7):
        response = client.get("/agents/")
    assert response.content.decode().count('class="agent-row"') == rows


def test_outsiders_see_no_agents_and_get_404_on_detail(outsider, agent):
    client = client_for(outsider)
    assert "builder" not in client.get("/agents/").content.decode()
    assert client.get(f"/agents/{agent.pk}/").status_code == 404
    assert client.post(f"/agents/{agent.pk}/tokens/").status_code == 404


def test_admin_creates_an_agent_through_the_form(user, organization, board):
    client = client_for(user)
    assert client.get("/agents/new/").status_code == 200
    response = client.post(
        "/agents/new/",
        {
            "organization": organization.pk,
            "name": "scout",
            "boards": [board.pk],
            "capabilities": "python, review",
            "callback_url": "",
        },
    )
    agent = Agent.objects.get(name="scout")
    assert response.status_code == 302 and response["Location"] == f"/agents/{agent.pk}/"
    assert agent.capabilities == ["python", "review"] and list(agent.boards.all()) == [board]


def test_the_form_shows_errors_and_operators_cannot_open_it(user, teammate, agent, organization):
    response = client_for(user).post("/agents/new/", {"organization": organization.pk, "name": "builder"})
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert client_for(teammate).get("/agents/new/").status_code == 403
    assert client_for(teammate).get(f"/agents/{agent.pk}/edit/").status_code == 403


def test_admin_edits_suspends_resumes_and_deletes(user, agent, organization):
    client = client_for(user)
    response = client.post(
        f"/agents/{agent.pk}/edit/",
        {"organization": organization.pk, "name": "builder-2", "description": "d", "capabilities": ""},
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.name == "builder-2" and not agent.boards.exists()
    client.post(f"/agents/{agent.pk}/suspend/")
    assert Agent.objects.get(pk=agent.pk).status == "suspended"
    client.post(f"/agents/{agent.pk}/resume/")
    assert Agent.objects.get(pk=agent.pk).status == "active"
    client.post(f"/agents/{agent.pk}/delete/")
    assert not Agent.objects.filter(pk=agent.pk).exists()


def test_issuing_a_token_shows_it_once_in_a_dialog(user, agent):
    client = client_for(user)
    response = client.post(f"/agents/{agent.pk}/tokens/", {"name": "ci"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "<dialog" in html and 'id="agent-tokens"' in html and "<html" not in html
    raw = html.split('id="new-token-value" value="')[1].split('"')[0]
    assert authenticate_agent_token(raw) is not None
    again = client.get(f"/agents/{agent.pk}/").content.decode()
    assert raw not in again and raw[4:20] not in again and "token-dialog" not in again
    assert "ci" in again


def test_rotate_and_revoke_from_the_page(user, agent):
    token, old_raw = services.issue_agent_token(agent=agent, actor=Actor.system(), name="main")
    client = client_for(user)
    response = client.post(f"/agents/tokens/{token.pk}/rotate/", {"grace_seconds": "300"})
    html = response.content.decode()
    assert response.status_code == 200 and "<dialog" in html
    new_raw = html.split('id="new-token-value" value="')[1].split('"')[0]
    assert authenticate_agent_token(old_raw) is not None  # in its grace period
    assert authenticate_agent_token(new_raw) is not None
    new_token = AgentToken.objects.get(agent=agent, revoked_at__isnull=True, expires_at__isnull=True)
    assert client.post(f"/agents/tokens/{new_token.pk}/revoke/").status_code == 302
    assert authenticate_agent_token(new_raw) is None
    bad = client.post(f"/agents/tokens/{token.pk}/rotate/", {"grace_seconds": "999999999"})
    assert bad.status_code == 400


def test_after_a_rotation_the_rows_say_which_token_is_new_and_until_when_the_old_works(user, agent):
    token, _raw = services.issue_agent_token(agent=agent, actor=Actor.system(), name="main")
    response = client_for(user).post(f"/agents/tokens/{token.pk}/rotate/", {"grace_seconds": "300"})
    html = response.content.decode()
    new_row = html.split('class="token-row"')[1]
    old_row = html.split(f'data-token-id="{token.pk}"')[1].split("</tr>")[0]
    assert "token-new" in new_row and "token-replaced" in old_row
    assert "works until then" in old_row and "expiring" in old_row


def test_viewers_see_tokens_but_no_controls(viewer, agent):
    services.issue_agent_token(agent=agent, actor=Actor.system(), name="main")
    client = client_for(viewer)
    html = client.get(f"/agents/{agent.pk}/").content.decode()
    assert "main" in html and "Rotate" not in html and "Issue token" not in html
    assert client.post(f"/agents/{agent.pk}/tokens/").status_code == 403
