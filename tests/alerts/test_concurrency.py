"""Two evaluations of one rule at the same moment (two beat processes, or the sweep and an
event-triggered task), on real PostgreSQL with two connections: exactly one incident opens and
it is announced once. The second test takes the row lock away to show the unique index alone
still holds."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from activity.models import ActivityEvent
from alerts import services
from alerts.conditions import AgentOffline
from alerts.models import AlertRule, Incident
from core.actors import Actor
from tests.conftest import requires_postgres
from tests.factories import AgentFactory

pytestmark = [requires_postgres, pytest.mark.postgres]

ROUNDS = 3


def _evaluate(rule_id: int, barrier: threading.Barrier, outcomes: list) -> None:
    try:
        barrier.wait(timeout=10)
        result = services.evaluate_rule(rule_id=rule_id)
        outcomes.append(len(result.opened))
    except Exception as exc:  # reported by the assertion on outcomes
        outcomes.append(repr(exc))
    finally:
        connection.close()


def _race(rule: AlertRule) -> list:
    barrier = threading.Barrier(2)
    outcomes: list = []
    threads = [threading.Thread(target=_evaluate, args=(rule.pk, barrier, outcomes)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def _slow_evaluate(self, rule, now):
    # Both evaluators are inside their evaluation at once unless something serializes them.
    breaches = original_evaluate(self, rule, now)
    time.sleep(0.3)
    return breaches


original_evaluate = AgentOffline.evaluate


@pytest.fixture
def silent_agent_rule(transactional_db, user, organization):
    agent = AgentFactory(organization=organization, name="silent")
    AgentFactory._meta.model.objects.filter(pk=agent.pk).update(
        last_seen_at=timezone.now() - timedelta(hours=1)
    )
    return services.create_rule(
        actor=Actor.for_user(user),
        organization=organization,
        name="offline",
        condition="agent_offline",
        params={"minutes": 5},
        cooldown_minutes=0,
    )


def test_two_evaluations_at_once_open_one_incident(silent_agent_rule):
    with mock.patch.object(AgentOffline, "evaluate", _slow_evaluate):
        for round_number in range(ROUNDS):
            outcomes = _race(silent_agent_rule)
            assert sorted(outcomes) == [0, 1], outcomes
            assert Incident.objects.open().count() == 1
            assert ActivityEvent.objects.filter(verb="alert.fired").count() == round_number + 1
            Incident.objects.update(state="resolved", resolved_at=timezone.now())


def test_without_the_row_lock_the_unique_index_still_allows_one_open_incident(silent_agent_rule):
    unlocked = AlertRule.objects.all()
    with (
        mock.patch.object(AgentOffline, "evaluate", _slow_evaluate),
        mock.patch.object(AlertRule.objects, "select_for_update", return_value=unlocked),
    ):
        outcomes = _race(silent_agent_rule)
    assert sorted(outcomes) == [0, 1], outcomes
    assert Incident.objects.count() == 1
    assert ActivityEvent.objects.filter(verb="alert.fired").count() == 1
