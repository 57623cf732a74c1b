"""The evaluation engine through one condition (agent offline): open once, cooldown, resolve and
notify, acknowledge and snooze, recorded with who and why."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from activity.models import ActivityEvent
from alerts import services
from alerts.models import EntryKind, Incident, IncidentState
from core.actors import Actor
from deliveries.models import Delivery
from infra.exceptions import InvalidTransition, NotFound, PermissionDenied
from tests.alerts.conftest import evaluate
from tests.deliveries.factories import subscribe
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(organization):
    agent = AgentFactory(organization=organization, name="release-bot")
    agent.last_seen_at = timezone.now()
    agent.save(update_fields=["last_seen_at"])
    return agent


def test_it_opens_one_incident_at_the_threshold_and_not_before(make_rule, agent):
    rule = make_rule("agent_offline", {"minutes": 10})
    seen = agent.last_seen_at

    assert evaluate(rule, seen + timedelta(minutes=9, seconds=59)).opened == []
    first = evaluate(rule, seen + timedelta(minutes=10, seconds=1))
    again = evaluate(rule, seen + timedelta(minutes=12))

    [incident] = first.opened
    assert again.opened == [] and Incident.objects.count() == 1
    assert incident.subject_key == f"agent:{agent.pk}" and incident.state == IncidentState.FIRING
    assert "release-bot has sent no heartbeat for 10 minutes" in incident.summary
    assert ActivityEvent.objects.filter(verb="alert.fired").count() == 1


def test_it_resolves_when_the_agent_is_back_and_notifies_resolved(
    make_rule, agent, user, organization, eager_tasks, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_ALLOWED_HOSTS = ["127.0.0.1"]
    subscription, _ = subscribe(
        user=user, organization=organization, url="http://127.0.0.1:9/pager", event_types=["task.created"]
    )
    rule = make_rule(
        "agent_offline", {"minutes": 10}, email_recipients=["ops@example.com"], subscription=subscription
    )
    with django_capture_on_commit_callbacks(execute=True):
        [incident] = evaluate(rule, agent.last_seen_at + timedelta(minutes=11)).opened
    agent.last_seen_at = timezone.now() + timedelta(minutes=12)
    agent.save(update_fields=["last_seen_at"])

    with django_capture_on_commit_callbacks(execute=True):
        assert len(evaluate(rule, agent.last_seen_at + timedelta(seconds=5)).resolved) == 1

    incident.refresh_from_db()
    assert incident.state == IncidentState.RESOLVED and incident.resolved_at is not None
    assert [d.event_type for d in Delivery.objects.order_by("id")] == ["alert.fired", "alert.resolved"]
    assert [m.subject for m in mail.outbox] == [
        "[Firing] agent_offline rule: release-bot",
        "[Resolved] agent_offline rule: release-bot",
    ]
    kinds = list(incident.entries.values_list("kind", flat=True))
    assert kinds[0] == EntryKind.FIRED and EntryKind.RESOLVED in kinds
    # Fired and resolved, each by email, by webhook and in the app (the notifications bell).
    assert kinds.count(EntryKind.NOTIFIED) == 6


def test_the_cooldown_suppresses_a_new_incident_for_the_same_subject(make_rule, agent):
    rule = make_rule("agent_offline", {"minutes": 10}, cooldown_minutes=60)
    start = agent.last_seen_at
    evaluate(rule, start + timedelta(minutes=11))
    agent.last_seen_at = start + timedelta(minutes=20)
    agent.save(update_fields=["last_seen_at"])
    evaluate(rule, start + timedelta(minutes=21))  # back online: resolved

    suppressed = evaluate(rule, start + timedelta(minutes=40))  # silent 20 min again, 29 min after firing
    after = evaluate(rule, start + timedelta(minutes=71, seconds=1))

    assert suppressed.opened == [] and suppressed.suppressed == [f"agent:{agent.pk}"]
    assert len(after.opened) == 1
    assert Incident.objects.count() == 2


def test_it_only_counts_agents_holding_tasks_when_asked(make_rule, agent, board):
    from tests.factories import TaskFactory

    rule = make_rule("agent_offline", {"minutes": 10, "only_while_holding_tasks": True})
    later = agent.last_seen_at + timedelta(minutes=11)
    assert evaluate(rule, later).opened == []

    TaskFactory(board=board, assignee_agent=agent, status="in_progress")
    [incident] = evaluate(rule, later).opened
    assert "holding 1 unfinished task" in incident.summary


def test_acknowledge_is_recorded_with_who_and_why_and_stops_nothing_but_notifications(
    make_rule, agent, teammate
):
    rule = make_rule("agent_offline", {"minutes": 10})
    [incident] = evaluate(rule, agent.last_seen_at + timedelta(minutes=11)).opened

    incident = services.acknowledge_incident(
        actor=Actor.for_user(teammate), incident=incident, reason="restarting the runner"
    )

    assert incident.state == IncidentState.ACKNOWLEDGED and incident.acknowledged_by == teammate
    entry = incident.entries.get(kind=EntryKind.ACKNOWLEDGED)
    assert (entry.actor_label, entry.reason) == ("teammate", "restarting the runner")
    assert evaluate(rule, agent.last_seen_at + timedelta(minutes=30)).opened == []
    with pytest.raises(InvalidTransition):
        services.acknowledge_incident(actor=Actor.for_user(teammate), incident=incident)


def test_a_viewer_cannot_acknowledge_and_an_outsider_cannot_see(make_rule, agent, viewer, outsider):
    rule = make_rule("agent_offline", {"minutes": 10})
    [incident] = evaluate(rule, agent.last_seen_at + timedelta(minutes=11)).opened
    with pytest.raises(PermissionDenied):
        services.acknowledge_incident(actor=Actor.for_user(viewer), incident=incident)
    with pytest.raises(NotFound):
        services.snooze_incident(actor=Actor.for_user(outsider), incident=incident, minutes=5)


def test_a_snooze_quiets_the_incident_and_it_fires_again_when_the_snooze_ends(make_rule, agent, teammate):
    rule = make_rule("agent_offline", {"minutes": 10})
    [incident] = evaluate(rule, agent.last_seen_at + timedelta(minutes=11)).opened

    incident = services.snooze_incident(
        actor=Actor.for_user(teammate), incident=incident, minutes=30, reason="deploy window"
    )
    during = evaluate(rule, timezone.now() + timedelta(minutes=29))
    after = evaluate(rule, timezone.now() + timedelta(minutes=31))

    assert during.refired == [] and [i.pk for i in after.refired] == [incident.pk]
    incident.refresh_from_db()
    assert incident.state == IncidentState.FIRING and incident.snoozed_until is None
    assert incident.entries.get(kind=EntryKind.SNOOZED).reason == "deploy window"
    assert ActivityEvent.objects.filter(verb="alert.fired").count() == 2


@pytest.mark.parametrize("minutes", [0, 7 * 24 * 60 + 1])
def test_it_rejects_a_snooze_outside_the_limits(make_rule, agent, teammate, minutes):
    from infra.exceptions import DomainError

    rule = make_rule("agent_offline", {"minutes": 10})
    [incident] = evaluate(rule, agent.last_seen_at + timedelta(minutes=11)).opened
    with pytest.raises(DomainError):
        services.snooze_incident(actor=Actor.for_user(teammate), incident=incident, minutes=minutes)
    services.snooze_incident(actor=Actor.for_user(teammate), incident=incident, minutes=7 * 24 * 60)


def test_disabling_the_rule_resolves_its_incidents(make_rule, agent, user):
    rule = make_rule("agent_offline", {"minutes": 10})
    evaluate(rule, agent.last_seen_at + timedelta(minutes=11))
    services.update_rule(actor=Actor.for_user(user), rule=rule, enabled=False)

    [resolved] = evaluate(rule, agent.last_seen_at + timedelta(minutes=12)).resolved
    assert resolved.entries.get(kind=EntryKind.RESOLVED).reason == "The rule is disabled."


def test_it_notifies_operators_and_admins_in_the_app_through_the_notifications_hook(
    make_rule, agent, user, teammate, viewer
):
    calls = []

    def notify(**kwargs):
        calls.append(kwargs)
        return [object()] * len(kwargs["recipients"])

    rule = make_rule("agent_offline", {"minutes": 10})
    with mock.patch("alerts.channels._notifications_notify", return_value=notify):
        [incident] = evaluate(rule, agent.last_seen_at + timedelta(minutes=11)).opened

    [call] = calls
    assert sorted(call["recipients"]) == sorted([user.pk, teammate.pk])
    assert call["kind"] == "alert" and call["title"] == "[Firing] agent_offline rule: release-bot"
    assert call["url"] == f"/alerts/incidents/{incident.pk}/"
    assert incident.entries.get(kind=EntryKind.NOTIFIED).detail == {"channel": "in_app", "recipients": 2}
