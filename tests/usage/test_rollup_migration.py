"""Upgrading to the narrow rollups (usage 0004) fills them from the full rollup already stored."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)


def migrate_usage(name: str):
    executor = MigrationExecutor(connection)
    executor.migrate([("usage", name)])
    executor.loader.build_graph()
    return executor.loader.project_state([("usage", name)]).apps


def test_the_narrow_rollups_are_filled_from_the_full_one(organization, board):
    from tests.factories import AgentFactory

    agent = AgentFactory(organization=organization)
    try:
        old = migrate_usage("0003_budget_hard_stop")
        full = old.get_model("usage", "UsageDaily")
        day = date(2026, 11, 30)
        for task_key, model, cost in ((1, "gpt-4o", 5), (2, "gpt-4o", 7), (2, "mini", 11)):
            full.objects.create(
                organization_id=organization.pk, day=day, agent_id=agent.pk, model=model,
                board_key=board.pk, task_key=task_key, reports=1, input_tokens=cost * 10, cost_micros=cost,
            )  # fmt: skip
        new = migrate_usage("0004_narrow_rollups")
        by_agent = new.get_model("usage", "UsageDailyByAgent").objects.order_by("model")
        assert [(row.model, row.reports, row.cost_micros, row.input_tokens) for row in by_agent] == [
            ("gpt-4o", 2, 12, 120),
            ("mini", 1, 11, 110),
        ]
        by_task = new.get_model("usage", "UsageDailyByTask").objects.order_by("task_key")
        assert [(row.board_key, row.task_key, row.reports, row.cost_micros) for row in by_task] == [
            (board.pk, 1, 1, 5),
            (board.pk, 2, 2, 18),
        ]
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
