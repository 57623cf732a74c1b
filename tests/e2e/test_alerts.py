"""Alerts in the browser: an admin builds a rule with its 7-day preview, an incident appears live
on the alerts page (and in the header badge) when a matching event fires it, and is acknowledged
with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from activity.services import record_activity
from alerts.models import AlertRule, Incident, IncidentState
from core.actors import Actor
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.alerts.conftest import event_at
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("consumers_inline")]

LIVE = '#live-status[data-state="live"]'


def test_create_a_rule_with_the_preview_see_an_incident_live_and_acknowledge_it(
    asgi_server,
    page,
    user,
    organization,
    board,
    eager_tasks,
):
    for days_ago in (2, 4):
        event_at(
            timezone.now() - timedelta(days=days_ago),
            organization=organization,
            board=board,
            verb="comment.added",
            target_type="task",
            target_id=1,
            detail={"title": "Old"},
        )
    base = asgi_server.url
    log_in(page, base, "owner")

    page.goto(f"{base}/alerts/rules/new/")
    page.fill("#rule-name", "Any comment")
    page.select_option("#rule-condition", "events_matching")
    assert page.locator('fieldset[data-condition="agent_offline"]').is_hidden()
    page.select_option("#events_matching__event_types", ["comment.added"])
    page.fill("#events_matching__threshold", "1")
    page.fill("#events_matching__window_minutes", "60")
    page.fill("#rule-cooldown", "0")
    page.click("#preview-button")
    page.wait_for_selector("#preview [data-preview-fired]")
    assert page.locator("#preview [data-preview-fired]").inner_text() == "2"
    assert "Would have fired 2 times in the last 7 days" in page.locator("#preview").inner_text()
    page.click("#rule-form button[type=submit]")
    page.wait_for_url(f"{base}/alerts/rules/*/")
    rule = AlertRule.objects.get(name="Any comment")
    assert rule.params["event_types"] == ["comment.added"] and rule.cooldown_minutes == 0

    page.goto(f"{base}/alerts/")
    page.wait_for_selector(LIVE)
    assert page.locator("[data-incident-id]").count() == 0
    with transaction.atomic():
        record_activity(
            organization=organization,
            board=board,
            actor=Actor.for_user(user),
            verb="comment.added",
            target_type="task",
            target_id=1,
            detail={"title": "New"},
        )
    incident = Incident.objects.get(rule=rule)
    page.wait_for_selector(f'[data-incident-id="{incident.pk}"][data-state="firing"]')
    page.wait_for_selector("#alerts-badge [data-firing]")
    assert page.locator("#alerts-badge [data-firing]").inner_text() == "1"

    page.click(f'[data-incident-id="{incident.pk}"] a')
    page.fill("#ack-reason", "looking into the comments")
    page.click("button:has-text('Acknowledge')")
    page.wait_for_selector('#incident-state:has-text("Acknowledged")')
    assert "looking into the comments" in page.locator(".alerts-timeline").inner_text()
    incident.refresh_from_db()
    assert incident.state == IncidentState.ACKNOWLEDGED and incident.acknowledged_by == user
    assert page.console_errors == []
