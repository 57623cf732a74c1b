"""Prometheus metrics shared across apps. Every metric Mission Control exports is declared here."""

from prometheus_client import Counter, Gauge, Histogram

RATE_LIMIT_REJECTIONS = Counter(
    "mc_rate_limit_rejections_total", "Requests refused by a rate limit", ["limiter"]
)
RATE_LIMIT_BACKEND_ERRORS = Counter(
    "mc_rate_limit_backend_errors_total",
    "Rate-limit checks that failed open because the backend was unreachable",
    ["limiter"],
)
HTTP_REQUESTS = Counter(
    "mc_http_requests_total", "HTTP requests by route template", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "mc_http_request_duration_seconds", "HTTP request latency by route template", ["method", "route"]
)
WEBHOOK_INGESTS = Counter("mc_webhook_ingests_total", "Webhook ingests by outcome", ["outcome"])
DELIVERIES = Counter("mc_deliveries_total", "Outbound delivery attempts by outcome", ["outcome"])
DELIVERY_LATENCY = Histogram("mc_delivery_duration_seconds", "Outbound delivery attempt latency")
# livesum: with PROMETHEUS_MULTIPROC_DIR the value is the sum over live processes.
OPEN_WEBSOCKETS = Gauge(
    "mc_open_websockets", "Open websocket connections", ["stream"], multiprocess_mode="livesum"
)
WEBSOCKET_POLICY_CLOSES = Counter(
    "mc_websocket_policy_closes_total",
    "Sockets closed by the server for a limit (flood, size, idle)",
    ["stream", "reason"],
)
OPEN_EVENT_STREAMS = Gauge(
    "mc_open_event_streams", "Open Server-Sent Events streams (agents)", multiprocess_mode="livesum"
)
BACKUPS = Counter("mc_backups_total", "Backup runs in this process by status", ["status"])
BACKUP_DURATION = Histogram(
    "mc_backup_duration_seconds",
    "Duration of successful backups",
    buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, float("inf")),
)
ALERT_INCIDENTS = Counter(
    "mc_alert_incidents_total",
    "Alert incident transitions in this process "
    "(opened, refired, resolved, acknowledged, snoozed, suppressed)",
    ["event"],
)
# Computed at scrape time from the database and the broker (ops.metrics_view):
# mc_backup_age_seconds, mc_backup_last_success_timestamp_seconds, mc_backup_last_status,
# mc_webhook_dead_letters, mc_agents_online, mc_celery_queue_length, mc_ops_collector_up;
# and by alerts.metrics: mc_alerts_firing{rule}, mc_alert_incidents_open{state}.
