"""mc_alerts_firing{rule} and the open-incident gauges, read at scrape time from the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import services
from core.actors import Actor
from tests.alerts.conftest import evaluate
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_the_metrics_show_firing_incidents_per_rule_and_open_ones_per_state(
    client, make_rule, organization, teammate
):
    rule = make_rule("agent_offline", {"minutes": 5})
    for n in range(2):
        AgentFactory(
            organization=organization, name=f"bot-{n}", last_seen_at=timezone.now() - timedelta(hours=1)
        )
    first, _ = evaluate(rule).opened
    services.acknowledge_incident(actor=Actor.for_user(teammate), incident=first)

    body = client.get("/metrics").content.decode()

    assert f'mc_alerts_firing{{organization="acme",rule="{rule.pk}"}} 1.0' in body
    assert 'mc_alert_incidents_open{state="acknowledged"} 1.0' in body
    assert 'mc_alert_incidents_total{event="opened"}' in body
    assert rule.name not in body
