"""The alerts pages: incidents list and timeline, acknowledge and snooze, the rule editor with its
preview and test buttons, the badge. Query counts stay flat as lists grow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from activity.models import ActivityEvent
from alerts.models import AlertRule, EntryKind, Incident, IncidentState
from tests.alerts.conftest import evaluate, event_at
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def firing(make_rule, organization):
    rule = make_rule("agent_offline", {"minutes": 5})
    for n in range(3):
        AgentFactory(
            organization=organization, name=f"bot-{n}", last_seen_at=timezone.now() - timedelta(hours=1)
        )
    evaluate(rule)
    return rule


def test_the_incidents_page_lists_open_incidents_in_few_queries(
    client, user, firing, django_assert_max_num_queries
):
    client.force_login(user)
    with django_assert_max_num_queries(8):
        response = client.get("/alerts/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('data-incident-id="') == 3 and "bot-0" in body
    assert 'id="incident-table" data-live-follows="alert.fired' in body


def test_the_list_filters_by_state(client, user, firing):
    client.force_login(user)
    Incident.objects.filter(subject_label="bot-0").update(state=IncidentState.RESOLVED)
    assert client.get("/alerts/?state=resolved").content.decode().count("data-incident-id") == 1
    assert client.get("/alerts/?state=open").content.decode().count("data-incident-id") == 2
    assert client.get("/alerts/?state=nonsense").content.decode().count("data-incident-id") == 2


def test_an_operator_acknowledges_from_the_page_with_a_reason(client, teammate, firing):
    incident = Incident.objects.first()
    client.force_login(teammate)
    page = client.get(f"/alerts/incidents/{incident.pk}/").content.decode()
    assert "Acknowledge" in page

    response = client.post(f"/alerts/incidents/{incident.pk}/acknowledge/", {"reason": "on it"})

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.state == IncidentState.ACKNOWLEDGED
    assert incident.entries.get(kind=EntryKind.ACKNOWLEDGED).reason == "on it"
    assert "on it" in client.get(f"/alerts/incidents/{incident.pk}/").content.decode()


def test_a_viewer_sees_no_buttons_and_cannot_snooze(client, viewer, firing):
    incident = Incident.objects.first()
    client.force_login(viewer)
    assert "Acknowledge" not in client.get(f"/alerts/incidents/{incident.pk}/").content.decode()
    assert client.post(f"/alerts/incidents/{incident.pk}/snooze/", {"minutes": "15"}).status_code == 403
    incident.refresh_from_db()
    assert incident.state == IncidentState.FIRING


def test_an_outsider_gets_404_for_an_incident(client, outsider, firing):
    client.force_login(outsider)
    assert client.get(f"/alerts/incidents/{Incident.objects.first().pk}/").status_code == 404


def test_the_badge_counts_firing_incidents_of_the_current_organization(client, user, firing):
    client.force_login(user)
    assert 'data-firing="3"' in client.get("/alerts/badge/").content.decode()


def test_an_admin_creates_a_rule_from_the_editor(client, user, board):
    client.force_login(user)
    assert client.get("/alerts/rules/new/").status_code == 200
    response = client.post(
        "/alerts/rules/new/",
        {
            "name": "Busy comments",
            "condition": "events_matching",
            "events_matching__event_types": ["comment.added", "task.created"],
            "events_matching__threshold": "4",
            "events_matching__window_minutes": "30",
            "board": str(board.pk),
            "cooldown_minutes": "15",
            "enabled": "on",
            "notify_in_app": "on",
            "email_recipients": "ops@example.com, lead@example.com",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    rule = AlertRule.objects.get()
    assert rule.params == {
        "event_types": ["comment.added", "task.created"],
        "threshold": 4,
        "window_minutes": 30,
        "agent": None,
    }
    assert (rule.board, rule.cooldown_minutes, rule.email_recipients) == (
        board,
        15,
        ["lead@example.com", "ops@example.com"],
    )


def test_the_editor_shows_a_bad_parameter_as_an_error(client, user):
    client.force_login(user)
    response = client.post(
        "/alerts/rules/new/",
        {
            "name": "Silent",
            "condition": "agent_offline",
            "agent_offline__minutes": "0",
            "cooldown_minutes": "5",
        },
    )
    assert response.status_code == 400
    assert "Minutes without a heartbeat must be at least 1." in response.content.decode()
    assert not AlertRule.objects.exists()


def test_an_operator_cannot_open_the_editor(client, teammate):
    client.force_login(teammate)
    assert client.get("/alerts/rules/new/").status_code == 403


def test_the_preview_counts_what_would_have_fired_in_the_last_7_days(client, user, organization, board):
    now = timezone.now()
    # Three bursts of 2 comments, a day apart, and one lone comment: 3 crossings of "2 in 10 minutes".
    for day in (1, 2, 3):
        for minute in (0, 1):
            event_at(
                now - timedelta(days=day, minutes=minute),
                organization=organization,
                board=board,
                verb="comment.added",
            )
    event_at(now - timedelta(days=5), organization=organization, board=board, verb="comment.added")
    event_at(now - timedelta(days=9), organization=organization, board=board, verb="comment.added")
    client.force_login(user)
    form = {
        "name": "x",
        "condition": "events_matching",
        "events_matching__event_types": ["comment.added"],
        "events_matching__threshold": "2",
        "events_matching__window_minutes": "10",
        "cooldown_minutes": "0",
    }

    response = client.post("/alerts/rules/preview/", form)
    assert "Would have fired <strong data-preview-fired>3</strong> times" in response.content.decode()

    # A 2-day cooldown keeps the middle burst quiet.
    response = client.post("/alerts/rules/preview/", {**form, "cooldown_minutes": str(2 * 24 * 60 - 5)})
    body = response.content.decode()
    assert "<strong data-preview-fired>2</strong>" in body and "1 more kept quiet by the cooldown" in body


def test_the_preview_replays_agent_presence_changes(client, user, organization):
    agent = AgentFactory(organization=organization, name="night-bot")
    now = timezone.now()
    # Offline for 2 hours, then back; offline for 5 minutes, then back.
    for moment, presence in (
        (now - timedelta(days=2), "offline"),
        (now - timedelta(days=2) + timedelta(hours=2), "online"),
        (now - timedelta(days=1), "offline"),
        (now - timedelta(days=1) + timedelta(minutes=5), "online"),
    ):
        event_at(
            moment,
            organization=organization,
            verb="agent.presence_changed",
            target_type="agent",
            target_id=agent.pk,
            detail={"agent_id": agent.pk, "presence": presence},
        )
    client.force_login(user)
    response = client.post(
        "/alerts/rules/preview/",
        {"condition": "agent_offline", "agent_offline__minutes": "30", "cooldown_minutes": "60"},
    )
    assert "<strong data-preview-fired>1</strong>" in response.content.decode()


def test_the_test_button_sends_a_test_email(
    client, user, make_rule, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    rule = make_rule("approval_waiting", {"hours": 2}, email_recipients=["ops@example.com"])
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/alerts/rules/{rule.pk}/test/", {"channel": "email"})
    assert response.status_code == 302
    assert [m.subject for m in mailoutbox] == ["[Test] approval_waiting rule"]
    assert ActivityEvent.objects.filter(verb="alert.test_sent").count() == 1


def test_the_rules_page_lists_rules_in_few_queries(client, user, make_rule, django_assert_max_num_queries):
    for n in range(5):
        make_rule("approval_waiting", {"hours": n + 1}, name=f"rule {n}")
    client.force_login(user)
    with django_assert_max_num_queries(6):
        response = client.get("/alerts/rules/")
    assert response.content.decode().count("/alerts/rules/") >= 5


@pytest.mark.parametrize("model", ["alertrule", "incident"])
def test_the_admin_lists_rules_and_incidents_read_only(admin_client, firing, model):
    assert admin_client.get(f"/admin/alerts/{model}/").status_code == 200
    incident = Incident.objects.first()
    pk = incident.pk if model == "incident" else incident.rule_id
    assert admin_client.get(f"/admin/alerts/{model}/{pk}/change/").status_code == 200
    assert admin_client.get(f"/admin/alerts/{model}/add/").status_code == 403
