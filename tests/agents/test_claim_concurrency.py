"""Two agents claim the same task at the same moment, on real PostgreSQL: exactly one wins."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from activity.models import ActivityEvent
from agents import services
from boards.models import Task
from infra.exceptions import Conflict
from tests.conftest import requires_postgres
from tests.factories import AgentFactory, TaskFactory

pytestmark = [requires_postgres, pytest.mark.postgres]

ROUNDS = 5


def _claim(task_id: int, agent, barrier: threading.Barrier, outcomes: list) -> None:
    try:
        task = Task.objects.get(pk=task_id)
        barrier.wait(timeout=10)
        try:
            services.claim_task(task=task, agent=agent)
            outcomes.append(("won", agent.pk))
        except Conflict as exc:
            outcomes.append(("conflict", exc.code))
    finally:
        connection.close()


def test_exactly_one_of_two_concurrent_claimers_wins(transactional_db, organization, board):
    first = AgentFactory(organization=organization, name="first")
    second = AgentFactory(organization=organization, name="second")
    for agent in (first, second):
        agent.boards.set([board])
    for _ in range(ROUNDS):
        task = TaskFactory(board=board)
        barrier = threading.Barrier(2)
        outcomes: list = []
        threads = [
            threading.Thread(target=_claim, args=(task.pk, agent, barrier, outcomes))
            for agent in (first, second)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
        assert sorted(kind for kind, _ in outcomes) == ["conflict", "won"], outcomes
        winner = next(value for kind, value in outcomes if kind == "won")
        assert Task.objects.get(pk=task.pk).assignee_agent_id == winner
        assert ActivityEvent.objects.filter(verb="task.claimed", target_id=str(task.pk)).count() == 1
