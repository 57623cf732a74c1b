"""Prometheus gauges of the overview's figures that are gauges (levels now, not rates): open
tasks per organization and column, and how far the task-flow rollup trails the activity log.
Read at scrape time, so whichever process answers /metrics gives the same numbers."""

from __future__ import annotations

import logging

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from activity.models import ActivityEvent, LogConsumerCursor
from boards.models import Task
from overview.metrics import WIP_STATUSES
from overview.rollup import CONSUMER_NAME

logger = logging.getLogger(__name__)


class OverviewCollector:
    def collect(self):
        try:
            open_tasks = list(
                Task.objects.filter(status__in=WIP_STATUSES)
                .values("board__organization__slug", "status")
                .annotate(n=Count("pk"))
                .order_by()
            )
            cursor = (
                LogConsumerCursor.objects.filter(pk=CONSUMER_NAME).values_list("position", flat=True).first()
                or 0
            )
            behind = ActivityEvent.objects.filter(position__gt=cursor).count()
        except Exception as exc:
            logger.warning("metrics: overview gauges unavailable: %s", type(exc).__name__)
            return
        wip = GaugeMetricFamily(
            "mc_tasks_open",
            "Open tasks (work in progress) per organization and column",
            labels=["organization", "status"],
        )
        for row in open_tasks:
            wip.add_metric([row["board__organization__slug"], row["status"]], row["n"])
        yield wip
        lag = GaugeMetricFamily(
            "mc_overview_rollup_lag_events",
            "Committed activity events the task-flow rollup has not read yet "
            '(also mc_log_consumer_lag_events{consumer="task-flow"})',
        )
        lag.add_metric([], behind)
        yield lag
