"""Scrape-time gauges for Prometheus, read from the database so every process answers alike."""

from __future__ import annotations

import logging

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)


class AlertsCollector:
    def collect(self):
        from alerts.models import Incident, IncidentState

        try:
            firing = list(
                Incident.objects.filter(state=IncidentState.FIRING)
                .values("rule_id", "organization__slug")
                .annotate(count=Count("id"))
                .order_by("rule_id")
            )
            by_state = dict(
                Incident.objects.open().values_list("state").annotate(count=Count("id")).order_by()
            )
        except Exception as exc:
            logger.warning("metrics: alert gauges unavailable: %s", type(exc).__name__)
            return
        # The rule's id, not its name: a scrape must not show one organization's words to whoever
        # monitors the whole installation (the alert rule's page has the name).
        gauge = GaugeMetricFamily(
            "mc_alerts_firing",
            "Incidents firing (not acknowledged or snoozed) per rule id",
            labels=["rule", "organization"],
        )
        for row in firing:
            gauge.add_metric([str(row["rule_id"]), row["organization__slug"]], row["count"])
        yield gauge
        open_gauge = GaugeMetricFamily("mc_alert_incidents_open", "Open incidents by state", labels=["state"])
        for state in (IncidentState.FIRING, IncidentState.ACKNOWLEDGED, IncidentState.SNOOZED):
            open_gauge.add_metric([state.value], by_state.get(state.value, 0))
        yield open_gauge
