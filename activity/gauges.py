"""Prometheus gauges of the log consumers (activity.following): how far each trails the log.
Read at scrape time, so whichever process answers /metrics gives the same numbers."""

from __future__ import annotations

import logging

from prometheus_client.core import GaugeMetricFamily

from activity.following import consumer_lags

logger = logging.getLogger(__name__)


class LogConsumerCollector:
    def collect(self):
        try:
            lags = consumer_lags()
        except Exception as exc:
            logger.warning("metrics: log consumer gauges unavailable: %s", type(exc).__name__)
            return
        events = GaugeMetricFamily(
            "mc_log_consumer_lag_events",
            "Committed activity events a log consumer has not handled yet",
            labels=["consumer"],
        )
        seconds = GaugeMetricFamily(
            "mc_log_consumer_lag_seconds",
            "Age of the oldest committed event a log consumer has not handled yet (0 when caught up)",
            labels=["consumer"],
        )
        failures = GaugeMetricFamily(
            "mc_log_consumer_failures",
            "Failed attempts at a log consumer's current batch (0 after a success)",
            labels=["consumer"],
        )
        for lag in lags:
            events.add_metric([lag.name], lag.events_behind)
            seconds.add_metric([lag.name], lag.seconds_behind)
            failures.add_metric([lag.name], lag.failures)
        yield events
        yield seconds
        yield failures
