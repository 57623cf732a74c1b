"""Tests look up a raw agent token the way authentication does, without a request around it."""

from __future__ import annotations

from agents.authentication import _find_token
from agents.models import AgentToken


def authenticate_agent_token(raw: str) -> AgentToken | None:
    """The valid AgentToken for a raw token, else None (wrong secret, revoked, expired, suspended)."""
    token, _reason = _find_token(raw)
    return token
