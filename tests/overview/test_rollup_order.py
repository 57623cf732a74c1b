"""The task-flow rollup follows the log in commit order (position), not by id (docs/overview.md)."""

from __future__ import annotations

import pytest
from django.db import transaction

from activity.models import ActivityEvent
from activity.services import record_activity
from core.actors import Actor
from overview.models import TaskFlow
from overview.rollup import refresh_task_flows
from tests.activity.test_commit_order import LateWriter
from tests.conftest import requires_postgres
from tests.factories import TaskFactory


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_status_change_that_commits_late_is_folded_in_and_wins(board):
    task = TaskFactory(board=board)
    late = LateWriter(board, verb="task.status_changed", target_id=str(task.pk), detail={"to": "blocked"})
    late.start()
    assert late.inserted.wait(10)
    with transaction.atomic():
        on_time = record_activity(
            organization=board.organization_id,
            board=board,
            actor=Actor.system(),
            verb="task.status_changed",
            target=task,
            detail={"to": "done"},
        )
    refresh_task_flows()
    assert TaskFlow.objects.get(task=task).status == "done"

    late_id = late.finish()  # inserted first (smaller id, earlier time), committed last
    assert late_id < on_time.pk
    refresh_task_flows()
    flow = TaskFlow.objects.get(task=task)
    # Read by id the rollup would have passed it for good; by time it would have lost to "done".
    assert flow.status == "blocked" and flow.done_at is None
    assert flow.status_event_position == ActivityEvent.objects.get(pk=late_id).position
