"""The "gateway unreachable for N minutes" condition and each gateway's state on /readyz."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from alerts.conditions import preview
from alerts.models import AlertRule, Incident, IncidentState
from gateways import services as gateway_services
from gateways.models import Gateway, GatewayStatus
from gateways.protocol import Hello
from gateways.readiness import gateway_states
from infra.exceptions import DomainError
from tests.activity.log import drain_log
from tests.alerts.conftest import evaluate, event_at

pytestmark = pytest.mark.django_db


def _gateway(organization, name="studio", **fields) -> Gateway:
    return Gateway.objects.create(organization=organization, name=name, url="ws://127.0.0.1:1", **fields)


def _down_since(gateway: Gateway, moment, status=GatewayStatus.DISCONNECTED, code="UNREACHABLE") -> None:
    Gateway.objects.filter(pk=gateway.pk).update(status=status, last_seen_at=moment, last_error_code=code)


def _hello() -> Hello:
    return Hello(
        protocol=4,
        server_version="2026.9.6",
        scopes=[],
        methods=frozenset(),
        events=frozenset(),
        latency_ms=3,
    )


def test_it_fires_after_the_minutes_not_before_and_names_the_gateway(make_rule, organization):
    now = timezone.now()
    gateway = _gateway(organization)
    rule = make_rule("gateway_unreachable", {"minutes": 5})
    _down_since(gateway, now - timedelta(minutes=5))
    assert evaluate(rule, now).opened == []  # exactly N minutes: not yet
    _down_since(gateway, now - timedelta(minutes=5, seconds=1))
    [incident] = evaluate(rule, now).opened
    assert incident.subject_key == f"gateway:{gateway.pk}"
    assert incident.subject_label == "Gateway studio"
    assert "The gateway studio has been unreachable for 5 minutes (UNREACHABLE)." in incident.summary


def test_it_resolves_when_the_supervisor_connects_again(make_rule, organization):
    gateway = _gateway(organization)
    rule = make_rule("gateway_unreachable", {"minutes": 5})
    _down_since(gateway, timezone.now() - timedelta(minutes=30))
    assert len(evaluate(rule).opened) == 1
    gateway_services.record_connected(gateway_id=gateway.pk, hello=_hello())
    assert len(evaluate(rule).resolved) == 1
    assert Incident.objects.get().state == IncidentState.RESOLVED


def test_a_refusal_fires_with_the_gateways_code(make_rule, organization):
    gateway = _gateway(organization)
    _down_since(gateway, timezone.now() - timedelta(minutes=11), GatewayStatus.REFUSED, "AUTH_TOKEN_MISMATCH")
    [incident] = evaluate(make_rule("gateway_unreachable", {"minutes": 10})).opened
    assert "refused the connection for 11 minutes (AUTH_TOKEN_MISMATCH)" in incident.summary


def test_a_connected_gateway_counts_once_it_is_silent_for_the_minutes(make_rule, organization):
    gateway = _gateway(organization)
    rule = make_rule("gateway_unreachable", {"minutes": 5})
    _down_since(gateway, timezone.now() - timedelta(minutes=1), GatewayStatus.CONNECTED, "")
    assert evaluate(rule).opened == []
    _down_since(gateway, timezone.now() - timedelta(minutes=6), GatewayStatus.CONNECTED, "")
    [incident] = evaluate(rule).opened
    assert "is run_gateways running?" in incident.summary


def test_disabled_gateways_and_other_gateways_do_not_fire(make_rule, organization, other_organization):
    long_ago = timezone.now() - timedelta(hours=2)
    disabled = _gateway(organization, "off", enabled=False)
    _down_since(disabled, long_ago, GatewayStatus.DISABLED)
    watched, other = _gateway(organization, "watched"), _gateway(organization, "other")
    _down_since(watched, long_ago)
    _down_since(other, long_ago)
    _down_since(_gateway(other_organization, "theirs"), long_ago)
    [incident] = evaluate(make_rule("gateway_unreachable", {"minutes": 5, "gateway": watched.pk})).opened
    assert incident.subject_key == f"gateway:{watched.pk}"


def test_it_rejects_a_gateway_of_another_organization_and_minutes_out_of_range(make_rule, other_organization):
    theirs = _gateway(other_organization)
    with pytest.raises(DomainError, match="no such gateway"):
        make_rule("gateway_unreachable", {"minutes": 5, "gateway": theirs.pk})
    with pytest.raises(DomainError, match="at least 1"):
        make_rule("gateway_unreachable", {"minutes": 0})
    with pytest.raises(DomainError, match="at most 10080"):
        make_rule("gateway_unreachable", {"minutes": 10081})
    assert make_rule("gateway_unreachable", {"minutes": 10080}, name="week").params["minutes"] == 10080
    assert make_rule("gateway_unreachable", {"minutes": 1}, name="minute").params["minutes"] == 1


def test_an_unreachable_event_evaluates_the_rule_at_once(
    make_rule, organization, django_capture_on_commit_callbacks
):
    rule = make_rule("gateway_unreachable", {"minutes": 5})
    gateway = _gateway(organization)
    with mock.patch("alerts.tasks.evaluate_alert_rules.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            gateway_services.record_disconnected(
                gateway_id=gateway.pk, code="UNREACHABLE", error="connection refused", refused=False
            )
            drain_log()  # the alerts consumer follows the log, as the worker would
        delay.assert_called_once_with([rule.pk])


def test_the_preview_counts_past_outages_longer_than_the_minutes(make_rule, organization):
    now = timezone.now()
    gateway = _gateway(organization)
    rule = make_rule("gateway_unreachable", {"minutes": 5})
    target = {"target_type": "gateway", "target_id": str(gateway.pk), "organization": organization}
    # A 3-minute outage (too short), then a 20-minute one.
    event_at(now - timedelta(hours=3), verb="gateway.unreachable", **target)
    event_at(now - timedelta(hours=3) + timedelta(minutes=3), verb="gateway.connected", **target)
    event_at(now - timedelta(hours=2), verb="gateway.refused", **target)
    event_at(now - timedelta(hours=2) + timedelta(minutes=20), verb="gateway.connected", **target)
    assert preview(AlertRule.objects.get(pk=rule.pk), now).fired == 1


def test_readyz_reports_each_gateways_state_without_failing(client, organization):
    connected = _gateway(organization, "up")
    gateway_services.record_connected(gateway_id=connected.pk, hello=_hello())
    down = _gateway(organization, "down")
    _down_since(down, timezone.now() - timedelta(minutes=2))
    _gateway(organization, "off", enabled=False)
    report = gateway_states()
    assert report["status"] == "degraded"
    assert report["counts"] == {"connected": 1, "disconnected": 1}
    assert [(g["id"], g["status"]) for g in report["gateways"]] == [
        (connected.pk, "connected"),
        (down.pk, "disconnected"),
    ]
    # Public probe: ids and states only, never a name, URL or error.
    assert "down" not in str(report["gateways"]) and "ws://" not in str(report)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "gateways" in response.json()["reports"]
