"""An agent of the `board` with an API client carrying its token (client.agent is the agent)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.agents.factories import agent_with_token, bearer


@pytest.fixture
def agent_client(organization, board):
    agent, _token, raw = agent_with_token(organization=organization, name="spender", boards=[board])
    client = APIClient()
    client.credentials(**bearer(raw))
    client.agent = agent
    return client
