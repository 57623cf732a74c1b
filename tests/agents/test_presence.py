"""Presence: online / idle / offline from last_seen_at, and transitions logged once as events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from activity.models import ActivityEvent, LogConsumerCursor
from agents import presence, services, tasks
from agents.models import Agent
from tests.activity.log import drain_log
from tests.agents.factories import agent_with_token, bearer
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("age", "expected"),
    [(None, "offline"), (0, "online"), (60, "online"), (61, "idle"), (300, "idle"), (301, "offline")],
)
def test_presence_boundaries(age, expected):
    now = timezone.now()
    seen = None if age is None else now - timedelta(seconds=age)
    assert presence.presence_for(seen, now) == expected


def test_the_sql_rule_matches_the_python_rule(organization):
    now = timezone.now()
    for age in (0, 60, 61, 300, 301, 5000):
        AgentFactory(organization=organization, name=f"a{age}", last_seen_at=now - timedelta(seconds=age))
    AgentFactory(organization=organization, name="never")
    rows = Agent.objects.annotate(p=presence.presence_expression(now)).values_list("last_seen_at", "p")
    for last_seen_at, computed in rows:
        assert computed == presence.presence_for(last_seen_at, now)


def test_an_authenticated_request_marks_the_agent_online_at_once(
    organization, django_capture_on_commit_callbacks
):
    agent, _token, raw = agent_with_token(organization=organization, name="a")
    with django_capture_on_commit_callbacks(execute=True):
        assert APIClient().get("/api/v1/agent/me", **bearer(raw)).status_code == 200
    agent.refresh_from_db()
    assert agent.presence == "online" and agent.last_seen_at is not None
    event = ActivityEvent.objects.get(verb="agent.presence_changed")
    assert event.detail["presence"] == "online" and event.detail["previous"] == "offline"
    assert event.target_type == "agent" and event.target_id == str(agent.pk)


@override_settings(AGENT_SEEN_WRITE_INTERVAL_SECONDS=5)
def test_last_seen_is_written_at_most_once_per_interval(organization):
    agent = AgentFactory(organization=organization, name="a")
    now = timezone.now()
    assert services.record_agent_seen(agent=agent, now=now) is True
    assert services.record_agent_seen(agent=agent, now=now + timedelta(seconds=4)) is False
    # A second process holding a stale copy does not write either: the UPDATE is conditional.
    stale_copy = Agent.objects.get(pk=agent.pk)
    stale_copy.last_seen_at = None
    assert services.record_agent_seen(agent=stale_copy, now=now + timedelta(seconds=4)) is False
    assert services.record_agent_seen(agent=agent, now=now + timedelta(seconds=5)) is True


def test_the_periodic_task_records_each_transition_once(organization):
    now = timezone.now()
    agent = AgentFactory(organization=organization, name="a", presence="online", last_seen_at=now)
    assert services.record_presence_transitions(now=now) == 0
    assert services.record_presence_transitions(now=now + timedelta(seconds=61)) == 1
    assert services.record_presence_transitions(now=now + timedelta(seconds=62)) == 0
    assert services.record_presence_transitions(now=now + timedelta(seconds=301)) == 1
    agent.refresh_from_db()
    assert agent.presence == "offline"
    changes = list(
        ActivityEvent.objects.filter(verb="agent.presence_changed")
        .order_by("id")
        .values_list("detail", flat=True)
    )
    assert [(c["previous"], c["presence"]) for c in changes] == [("online", "idle"), ("idle", "offline")]


def test_the_celery_task_runs_the_sweep(organization):
    AgentFactory(
        organization=organization,
        name="gone",
        presence="online",
        last_seen_at=timezone.now() - timedelta(hours=1),
    )
    assert tasks.record_presence_transitions.name == "agents.tasks.record_presence_transitions"
    assert tasks.record_presence_transitions.apply().get() == 1
    assert Agent.objects.get(name="gone").presence == "offline"


def test_heartbeat_updates_last_seen_and_publishes_presence(organization, django_capture_on_commit_callbacks):
    _agent, _token, raw = agent_with_token(organization=organization, name="hb")
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(
            "/api/v1/agent/heartbeat", {"status_text": "idle loop"}, format="json", **bearer(raw)
        )
    assert response.status_code == 200 and response.json()["presence"] == "online"
    verbs = set(ActivityEvent.objects.values_list("verb", flat=True))
    assert {"agent.presence_changed", "agent.status_changed"} <= verbs
    # Published by the live consumer of the log, which has now passed them.
    drain_log()
    live = LogConsumerCursor.objects.get(name="live").position
    assert live == max(ActivityEvent.objects.values_list("position", flat=True))
