"""Checks an agent's work-taking calls pass before they run (claiming a task).

The gates are listed in settings.AGENT_WORK_GATES (dotted paths, so the apps above agents can add
one without agents importing them: the usage app refuses work to an agent whose hard-stop budget
is spent), and run in that order. A gate returns None to allow, or the sentence the agent gets in
its 402.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

from infra.exceptions import PaymentRequired

if TYPE_CHECKING:
    from agents.models import Agent

WorkGate = Callable[["Agent"], str | None]


@cache
def _gate(path: str) -> WorkGate:
    return import_string(path)


def check_work_allowed(agent: Agent) -> None:
    """Raise PaymentRequired (402) with the first gate's reason; nothing when every gate allows."""
    for path in settings.AGENT_WORK_GATES:
        reason = _gate(path)(agent)
        if reason:
            raise PaymentRequired(reason)
