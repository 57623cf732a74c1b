"""Agents with tokens, issued through the service so the digest is real."""

from __future__ import annotations

from agents import services
from agents.models import Agent, AgentToken
from core.actors import Actor
from tests.factories import AgentFactory


def agent_with_token(**agent_fields) -> tuple[Agent, AgentToken, str]:
    boards = agent_fields.pop("boards", ())
    agent = AgentFactory(**agent_fields)
    if boards:
        agent.boards.set(boards)
    token, raw = services.issue_agent_token(agent=agent, actor=Actor.system(), name="test")
    return agent, token, raw


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
