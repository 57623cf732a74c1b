"""Writes the agent API orchestrates across the domain apps (which may not import each other)."""

from __future__ import annotations

from django.db import transaction

from agents import services as agent_services
from agents.models import Agent
from boards import services as board_services
from boards.models import Task, TaskStatus
from core.actors import Actor
from infra.exceptions import InvalidTransition


@transaction.atomic
def claim_and_start_task(*, task: Task, agent: Agent) -> Task:
    """Claim a task for the agent (agents.services.claim_task: one concurrent claimer wins) and,
    from the inbox, start it: a claimed task is being worked on, so it moves to in progress through
    boards.services.move_task, whose task.status_changed event is what the board, the overview's
    "In progress" and the flow metrics count. A task whose dependencies are still open stays in the
    inbox, held by the agent; a blocked or reviewed one keeps its column. REST and MCP both claim
    here, in one transaction."""
    task = agent_services.claim_task(task=task, agent=agent)
    if task.status != TaskStatus.INBOX:
        return task
    try:
        with transaction.atomic():
            return board_services.move_task(
                task=task, actor=Actor.for_agent(agent), status=TaskStatus.IN_PROGRESS
            )
    except InvalidTransition:
        return task
