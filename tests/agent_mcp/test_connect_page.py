"""The "Connect your agent" page (agent_mcp.views) and the event its indicator waits for."""

from __future__ import annotations

import pytest
from django.test import Client

from activity.models import ActivityEvent
from agents.services import record_agent_seen
from tests.agent_tokens import authenticate_agent_token
from tests.agents.factories import agent_with_token
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(agent) -> str:
    return f"/agents/{agent.pk}/connect/"


def test_a_member_sees_the_configurations_with_a_placeholder_and_no_token(viewer, organization):
    agent = AgentFactory(organization=organization)
    response = _client(viewer).get(_url(agent))
    assert response.status_code == 200
    body = response.content.decode()
    assert "claude mcp add --transport http mission-control http://testserver/mcp" in body
    assert "&lt;AGENT_TOKEN&gt;" in body
    assert 'data-connection="no-token"' in body
    assert 'id="issue-token"' not in body  # only admins issue tokens


def test_an_admin_issues_a_token_that_the_configurations_carry_once(user, organization):
    agent = AgentFactory(organization=organization)
    client = _client(user)
    response = client.post(_url(agent), {"name": "laptop"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = response.context["new_token"]
    token = authenticate_agent_token(raw)
    assert (token.agent_id, token.name) == (agent.pk, "laptop")
    assert response.content.decode().count(raw) >= 6  # the token field and every configuration
    assert 'data-connection="waiting"' in response.content.decode()
    again = client.get(_url(agent))
    assert raw not in again.content.decode()
    assert ActivityEvent.objects.filter(verb="agent.token_issued", target_id=str(agent.pk)).count() == 1


def test_an_operator_cannot_issue_a_token_and_an_outsider_cannot_see_the_page(
    teammate, outsider, organization
):
    agent = AgentFactory(organization=organization)
    assert _client(teammate).post(_url(agent)).status_code == 403
    assert _client(outsider).get(_url(agent)).status_code == 404
    assert not agent.tokens.exists()


def test_the_first_call_with_a_token_records_one_event_and_turns_the_page_green(user, organization):
    agent, token, _raw = agent_with_token(organization=organization)
    record_agent_seen(agent=agent, token=token)
    token.last_used_at = None  # a second process that read the token before the first call landed
    record_agent_seen(agent=agent, token=token)
    events = ActivityEvent.objects.filter(verb="agent.token_first_used")
    assert events.count() == 1
    assert events.get().detail["token_id"] == token.pk
    assert 'data-connection="connected"' in _client(user).get(_url(agent)).content.decode()


def test_the_agent_page_links_to_the_connect_page(viewer, organization):
    agent = AgentFactory(organization=organization)
    assert _url(agent) in _client(viewer).get(f"/agents/{agent.pk}/").content.decode()
