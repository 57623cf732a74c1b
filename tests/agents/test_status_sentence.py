"""The feed names the agent whose status text changed (it said "an agent is …")."""

from __future__ import annotations

import pytest

from activity.models import ActivityEvent
from activity.registry import describe
from agents.services import record_heartbeat
from tests.factories import AgentFactory


@pytest.mark.django_db
def test_a_status_change_is_told_with_the_agents_name(organization):
    agent = AgentFactory(organization=organization, name="triage-bot")
    record_heartbeat(agent=agent, status_text="Bisecting reconnect flake")
    event = ActivityEvent.objects.get(verb="agent.status_changed")
    sentence = describe(event)
    assert ">triage-bot</a> is “Bisecting reconnect flake”" in sentence
    assert "an agent" not in sentence
