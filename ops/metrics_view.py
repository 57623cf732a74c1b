"""GET /metrics: Prometheus text format, for a bearer METRICS_TOKEN or an allowed client address.

Counters and histograms live in each process (infra.metrics). With several uvicorn
workers, set PROMETHEUS_MULTIPROC_DIR (an empty directory, emptied at start) and every scrape
aggregates all processes; without it a scrape sees only the process that answered. Gauges
about the whole system (backups, dead letters, agents online, queue length) are computed here,
at scrape time, from the database and the broker, so they are right whichever process answers.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from activity.gauges import LogConsumerCollector
from alerts.metrics import AlertsCollector
from infra.client_ip import client_ip_from_meta
from infra.errors import json_error
from ops import doctor
from ops.doctor import CELERY_QUEUES, celery_queue_lengths
from ops.models import Backup, BackupStatus
from ops.status import bearer_token, token_matches
from overview.gauges import OverviewCollector

logger = logging.getLogger(__name__)


class OpsCollector:
    """System-wide gauges, read at scrape time."""

    def collect(self):
        up = GaugeMetricFamily("mc_ops_collector_up", "1 if the scrape-time gauges could be read")
        now = timezone.now()
        try:
            last = Backup.objects.last_succeeded()
            latest = Backup.objects.latest_run()
            dead = doctor.dead_letter_count()
            online = doctor.agents_online(now)
        except Exception as exc:
            logger.warning("metrics: scrape-time gauges unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        age = GaugeMetricFamily(
            "mc_backup_age_seconds", "Seconds since the last successful backup (+Inf if none)"
        )
        age.add_metric([], (now - last.finished_at).total_seconds() if last else math.inf)
        yield age
        stamp = GaugeMetricFamily(
            "mc_backup_last_success_timestamp_seconds", "Unix time of the last successful backup (0 if none)"
        )
        stamp.add_metric([], last.finished_at.timestamp() if last else 0)
        yield stamp
        status = GaugeMetricFamily(
            "mc_backup_last_status", "1 for the status of the latest backup run", labels=["status"]
        )
        for value in BackupStatus.values:
            status.add_metric([value], 1 if latest is not None and latest.status == value else 0)
        yield status
        dead_letters = GaugeMetricFamily("mc_webhook_dead_letters", "Deliveries in the dead-letter queue")
        dead_letters.add_metric([], dead)
        yield dead_letters
        agents = GaugeMetricFamily("mc_agents_online", "Active agents seen within AGENT_ONLINE_SECONDS")
        agents.add_metric([], online)
        yield agents
        queue = GaugeMetricFamily(
            "mc_celery_queue_length",
            "Messages waiting in the Celery queue (broker=embedded: in-process, not measurable, 0)",
            labels=["queue", "broker"],
        )
        lengths = celery_queue_lengths() or {}
        broker = "redis" if settings.REDIS_URL else "embedded"
        for name in CELERY_QUEUES:
            queue.add_metric([name, broker], lengths.get(name, 0))
        yield queue
        up.add_metric([], 1)
        yield up


_ops_registry = CollectorRegistry(auto_describe=False)
_ops_registry.register(OpsCollector())
# The overview's gauges (open tasks per column, rollup lag): ops sits above every app.
_ops_registry.register(OverviewCollector())
# mc_alerts_firing{rule} and mc_alert_incidents_open{state}.
_ops_registry.register(AlertsCollector())
# mc_log_consumer_lag_events / _lag_seconds / _failures {consumer}: each follower of the log.
_ops_registry.register(LogConsumerCollector())


def process_registry() -> CollectorRegistry:
    """The per-process registry, or an aggregate of every process in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.METRICS_ALLOWED_IPS:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS has an invalid entry; ignored")
    return False


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    presented = bearer_token(request)
    allowed = token_matches(presented, settings.METRICS_TOKEN) or (
        not presented and address_allowed(client_ip_from_meta(request.META))
    )
    if not allowed:
        return json_error(
            403,
            "permission_denied",
            "Metrics need Authorization: Bearer <METRICS_TOKEN> or a client address in METRICS_ALLOWED_IPS.",
        )
    body = generate_latest(process_registry()) + generate_latest(_ops_registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
