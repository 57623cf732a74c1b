"""Checks an agent's work-taking calls pass before they run (claiming a task).

Apps above agents add a gate with `register_work_gate()` in their AppConfig.ready(): the usage app
refuses work to an agent whose hard-stop budget is spent. A gate returns None to allow, or the
sentence the agent gets in its 402.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from infra.exceptions import PaymentRequired

if TYPE_CHECKING:
    from agents.models import Agent

WorkGate = Callable[["Agent"], str | None]

_GATES: dict[str, WorkGate] = {}


def register_work_gate(name: str, gate: WorkGate) -> None:
    """Add a gate, or replace the one of the same name (a reload registers again)."""
    _GATES[name] = gate


def check_work_allowed(agent: Agent) -> None:
    """Raise PaymentRequired (402) with the first gate's reason; nothing when every gate allows."""
    for gate in _GATES.values():
        reason = gate(agent)
        if reason:
            raise PaymentRequired(reason)
