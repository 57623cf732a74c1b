"""Django admin: agents created and changed through the services; tokens issued once, never shown."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from activity.models import ActivityEvent
from agents import services
from agents.models import Agent, AgentToken
from core.actors import Actor
from tests.agent_tokens import authenticate_agent_token
from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client():
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    return client


def test_admin_adds_an_agent_through_the_service(superuser_client, organization, board):
    response = superuser_client.post(
        "/admin/agents/agent/add/",
        {
            "organization": organization.pk,
            "name": "adm",
            "description": "",
            "boards": [board.pk],
            "callback_url": "",
            "capabilities": '["ops"]',
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    agent = Agent.objects.get(name="adm")
    assert list(agent.boards.all()) == [board] and agent.capabilities == ["ops"]
    assert ActivityEvent.objects.filter(verb="agent.created", target_id=str(agent.pk)).count() == 1


def test_admin_changes_an_agent_through_the_service(superuser_client, organization, board):
    agent = AgentFactory(organization=organization, name="x")
    response = superuser_client.post(
        f"/admin/agents/agent/{agent.pk}/change/",
        {"name": "y", "description": "d", "boards": [board.pk], "callback_url": "", "capabilities": "[]"},
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.name == "y" and list(agent.boards.all()) == [board]
    assert ActivityEvent.objects.filter(verb="agent.updated").exists()


def test_issue_action_shows_the_token_once_in_a_message(superuser_client, organization):
    agent = AgentFactory(organization=organization, name="x")
    response = superuser_client.post(
        "/admin/agents/agent/", {"action": "issue_token", "_selected_action": [agent.pk]}
    )
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    raw = next(t for t in texts if "mca_" in t).split(": ")[-1]
    assert authenticate_agent_token(raw) is not None
    assert raw in superuser_client.get("/admin/agents/agent/").content.decode()  # the one display
    page = superuser_client.get(f"/admin/agents/agenttoken/{agent.tokens.get().pk}/change/").content.decode()
    assert (
        raw not in page and agent.tokens.get().digest not in page and agent.tokens.get().public_id not in page
    )


def test_suspend_and_revoke_actions(superuser_client, organization):
    agent = AgentFactory(organization=organization, name="x")
    token, raw = services.issue_agent_token(agent=agent, actor=Actor.system())
    superuser_client.post(
        "/admin/agents/agent/", {"action": "suspend_selected", "_selected_action": [agent.pk]}
    )
    assert Agent.objects.get(pk=agent.pk).status == "suspended"
    superuser_client.post(
        "/admin/agents/agent/", {"action": "resume_selected", "_selected_action": [agent.pk]}
    )
    assert authenticate_agent_token(raw) is not None
    superuser_client.post(
        "/admin/agents/agenttoken/", {"action": "revoke_selected", "_selected_action": [token.pk]}
    )
    assert authenticate_agent_token(raw) is None
    assert AgentToken.objects.get(pk=token.pk).revoked_at is not None


def test_token_changelist_never_shows_digests(superuser_client, organization):
    agent = AgentFactory(organization=organization, name="x")
    tokens = [
        services.issue_agent_token(agent=agent, actor=Actor.system(), name=f"t{i}")[0] for i in range(3)
    ]
    html = superuser_client.get("/admin/agents/agenttoken/").content.decode()
    assert all(t.digest not in html and t.public_id not in html for t in tokens)
    assert superuser_client.get("/admin/agents/agenttoken/add/").status_code == 403
