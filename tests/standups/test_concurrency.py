"""Two beat runs at the same moment (two beat processes after a failover, or a run and its retry),
on real PostgreSQL with two connections: each standup is posted once, to chat once, one event."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from activity.models import ActivityEvent
from boards.models import Board
from boards.services import create_task
from chat.models import ChatMessage
from core.actors import Actor
from core.models import Organization
from standups import figures, services
from standups.models import Standup
from tests.conftest import requires_postgres
from tests.standups.history import clock

pytestmark = [requires_postgres, pytest.mark.postgres]

original_compute = figures.compute


def slow_compute(scope, day):
    # Both runs are past their "posted already?" check and inside the computation at once.
    result = original_compute(scope, day)
    time.sleep(0.3)
    return result


def run(now, barrier: threading.Barrier, outcomes: list) -> None:
    try:
        barrier.wait(timeout=10)
        outcomes.append(services.post_due_standups(now=now))
    except Exception as exc:  # reported by the assertion on outcomes
        outcomes.append(repr(exc))
    finally:
        connection.close()


def test_two_runs_at_once_post_each_standup_once(transactional_db, organization, board, user):
    now = timezone.now().replace(hour=12)
    yesterday = now - timedelta(days=1)
    Organization.objects.filter(pk=organization.pk).update(created_at=yesterday - timedelta(days=1))
    Board.objects.filter(pk=board.pk).update(created_at=yesterday - timedelta(days=1))
    with clock(yesterday):
        create_task(board=board, actor=Actor.for_user(user), title="Stuck", status="blocked")

    barrier = threading.Barrier(2)
    outcomes: list = []
    with mock.patch.object(figures, "compute", slow_compute):
        threads = [threading.Thread(target=run, args=(now, barrier, outcomes)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert sorted(outcomes) == [0, 2] or sorted(outcomes) == [1, 1], outcomes
    assert Standup.objects.count() == 2  # the board's and the organization's
    assert ChatMessage.objects.filter(author_label="Standup").count() == 1
    assert ActivityEvent.objects.filter(verb="standup.posted").count() == 2
