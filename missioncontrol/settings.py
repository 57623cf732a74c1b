"""Mission Control settings: one file, every value from the environment.

Two ways to run from one code base:
- embedded default (no DATABASE_URL / REDIS_URL): SQLite in WAL mode, in-memory channel
  layer, local-memory cache, and a Celery worker thread inside the web process;
- production (DATABASE_URL=postgres://…, REDIS_URL=redis://…): Postgres, Redis channel
  layer and cache, Celery on Redis with separate worker and beat processes.

Every variable is listed in `.env.example`. With DEBUG off (production mode) the process
refuses to start on an unsafe value, naming the variable to set.

Values come from the process environment first, then from the `.env` file beside manage.py
(`make run` writes one with a random SECRET_KEY on first run), so every `manage.py` command in
the same shell sees the same settings with nothing exported. ENV_FILE names another file;
ENV_FILE= (empty) reads none (the test suite does this).
"""

from __future__ import annotations

import os
import zoneinfo
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    # override=False: a variable set in the environment always wins over the file.
    load_dotenv(ENV_FILE, override=False)
# prometheus_client switches to multi-process mode when this variable merely exists: a blank one
# (`PROMETHEUS_MULTIPROC_DIR=` from a sourced .env) made every process write its metric files
# into the working directory. Blank means unset, as for every other variable.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

# The value shipped in .env.example; accepted only with DEBUG=1.
EXAMPLE_SECRET_KEY = "insecure-change-me-mission-control-example-key"  # noqa: S105


def env_str(name: str, default: str = "") -> str:
    """The variable's value; unset or blank gives the default (as for the number and flag
    readers), so `NAME=` in a .env file means "the default", never an empty value (LOG_FORMAT=
    made production logs text)."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 0 or 1, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    """Comma-separated; unlike a single value, a blank list is the empty list (`ALLOWED_HOSTS=`
    is refused in production, `DELIVERY_ALLOWED_HOSTS=` allows none); unset gives the default."""
    raw = os.environ.get(name)
    return [item.strip() for item in (default if raw is None else raw).split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A rate written `<count>/<seconds>s`, e.g. `60/60s`; checked here so a typo fails at start."""
    value = env_str(name, default)
    count, _, period = value.partition("/")
    if not (count.isdigit() and period.endswith("s") and period[:-1].isdigit()):
        raise ImproperlyConfigured(f"{name} must look like 60/60s (count/seconds), not {value!r}")
    if int(count) < 1 or int(period[:-1]) < 1:
        raise ImproperlyConfigured(f"{name} needs a count and a period of at least 1")
    return value


# --- core -----------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", EXAMPLE_SECRET_KEY)
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CORS_ALLOWED_ORIGINS = env_list("CORS_ORIGINS")
# The port `make run` serves on; links handed out (webhook URLs) follow it unless PUBLIC_BASE_URL
# is set, so `PORT=9000 python manage.py demo` prints URLs that work.
PORT = env_int("PORT", 8000, minimum=1)
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
REQUEST_LOG_SLOW_MS = env_int("REQUEST_LOG_SLOW_MS", 1000)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
ENABLE_HSTS = env_bool("ENABLE_HSTS", False)
# A single-machine install on plain HTTP (`make run` writes LOCAL_INSTALL=1 into .env): the
# /ops/ page then shows the HTTPS and DEBUG findings as expected here rather than as problems.
LOCAL_INSTALL = env_bool("LOCAL_INSTALL", False)
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(DATA_DIR / "backups")))

if not DEBUG:
    # Production mode: refuse unsafe values with a one-line message naming the variable.
    if not SECRET_KEY or SECRET_KEY == EXAMPLE_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "SECRET_KEY: set a random value of 32+ characters (DEBUG is off, so the example "
            "key is refused); e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS: set the host names this server answers for (DEBUG is off)")

INSTALLED_APPS = [
    # django.contrib.admin, with its login and password change throttled like /login/.
    "infra.apps.ThrottledAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # intcomma: token counts read "34,362,000".
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "corsheaders",
    "django_htmx",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "missioncontrol",
    "infra",
    # The layers, lowest first: core <- activity <- domain apps <- ops (docs/architecture.md).
    "core",
    "activity",
    "boards",
    "agents",
    "webhooks",
    "webhook_rules",
    "automations",
    "usage",
    "deliveries",
    "overview",
    "alerts",
    "ops",
    "notifications",
    "chat",
    # Feature apps on core + activity + the domain apps.
    "search",
    "teams",
    "agent_api",
    "agent_mcp",
    "gateways",
    # Above deliveries and chat (posts standups through both).
    "standups",
]

MIDDLEWARE = [
    "infra.middleware.RequestIdMiddleware",
    "infra.metrics_middleware.MetricsMiddleware",
    "infra.middleware.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "missioncontrol.urls"
ASGI_APPLICATION = "missioncontrol.asgi.application"
WSGI_APPLICATION = "missioncontrol.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "infra.context_processors.navigation",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
EMBEDDED_DATABASE = not DATABASE_URL
DB_POOL_TIMEOUT_DEFAULT = 10.0
# Seconds to open a connection, and milliseconds one statement may run (0: no limit, for the
# migrate job and the maintenance and backup workers, whose statements may run long).
DB_CONNECT_TIMEOUT_SECONDS = env_int("DB_CONNECT_TIMEOUT_SECONDS", 5, minimum=1)
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 10_000, minimum=0)
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # psycopg 3 pool per process; persistent connections would be the alternative.
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DB_POOL_MIN", 1),
            "max_size": env_int("DB_POOL_MAX", 10),
            "timeout": env_float("DB_POOL_TIMEOUT", DB_POOL_TIMEOUT_DEFAULT),
        }
        # Fail fast: a stuck PostgreSQL (stopped, a lock held) must turn into an error the
        # request can answer (ingest: 503, nothing stored) well before the proxy gives up on it
        # (SERVER_TIMEOUT_SECONDS: nginx's proxy_read_timeout and gunicorn's timeout). Without
        # them a request waited past nginx's 504 and its payload committed later, unseen.
        _db["OPTIONS"]["connect_timeout"] = DB_CONNECT_TIMEOUT_SECONDS
        if DB_STATEMENT_TIMEOUT_MS:
            _db["OPTIONS"]["options"] = f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
    DATABASES = {"default": _db}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(DATA_DIR / "missioncontrol.sqlite3")),
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE avoids the
                # upgrade deadlock that deferred transactions hit under concurrent writes.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, channel layer, broker ---------------------------------------------------------------
RATE_LIMIT_BACKEND = env_str("RATE_LIMIT_BACKEND", "memory").lower()
if RATE_LIMIT_BACKEND not in {"memory", "redis"}:
    raise ImproperlyConfigured(f"RATE_LIMIT_BACKEND must be memory or redis, not {RATE_LIMIT_BACKEND!r}")
RATE_LIMIT_REDIS_URL = env_str("RATE_LIMIT_REDIS_URL") or REDIS_URL
if RATE_LIMIT_BACKEND == "redis" and not RATE_LIMIT_REDIS_URL:
    raise ImproperlyConfigured(
        "RATE_LIMIT_REDIS_URL (or REDIS_URL) is required with RATE_LIMIT_BACKEND=redis"
    )

REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 1.0)


def _redis_cache(url: str) -> dict:
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
        },
    }


CACHES = {
    "default": _redis_cache(REDIS_URL)
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "missioncontrol-default",
    },
    "ratelimit": _redis_cache(RATE_LIMIT_REDIS_URL)
    if RATE_LIMIT_BACKEND == "redis"
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "missioncontrol-ratelimit",
    },
}
RATELIMIT_USE_CACHE = "ratelimit"
RATELIMIT_FAIL_OPEN = True

# The channel layer can be sharded over several Redis servers: channels-redis places each
# channel and each group on one of them by consistent hashing, so more servers carry more sockets
# (docs/operations.md, "Channel layer at scale"). Empty: the one REDIS_URL.
CHANNEL_LAYER_REDIS_URLS = env_list("CHANNEL_LAYER_REDIS_URLS") or ([REDIS_URL] if REDIS_URL else [])
# A group's membership expires after this many seconds unless renewed (sockets rejoin when they
# reconnect or recheck); it bounds what a crashed process can leave behind in a group.
CHANNEL_LAYER_GROUP_EXPIRY = env_int("CHANNEL_LAYER_GROUP_EXPIRY", 86400, minimum=60)
# channels-redis waits for a channel's next message with a blocking read of up to 5 s
# (RedisChannelLayer.brpop_timeout); redis-py 8 made 5 s its default socket timeout too, so every
# idle socket's read timed out and crashed its consumer. The layer's socket timeout must stay
# above that wait; the connect timeout keeps a dead Redis from hanging a publish.
CHANNEL_LAYER_SOCKET_TIMEOUT = 15.0
if CHANNEL_LAYER_REDIS_URLS:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # channels_redis waits for messages with a server-side BZPOPMIN of 5 s; redis-py 8
            # reads with a 5 s socket timeout by default, so an idle socket's wait could time out
            # on the client a moment before Redis answers "nothing yet" and kill the consumer
            # (seen with 100 idle board sockets in bench/chat_fanout.py). Read a little longer.
            "CONFIG": {
                "hosts": [
                    {
                        "address": url,
                        "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,
                        "socket_connect_timeout": 5,
                    }
                    for url in CHANNEL_LAYER_REDIS_URLS
                ],
                "capacity": 1000,
                "expiry": 30,
                "group_expiry": CHANNEL_LAYER_GROUP_EXPIRY,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: on Redis in production; in the embedded default an in-memory transport consumed by a
# worker thread inside the web process (infra.embedded_worker), so retries, ETAs and
# live pushes from tasks behave as they do with a real broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_EMBEDDED_WORKER = env_bool("CELERY_EMBEDDED_WORKER", not REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# Gateways (docs/gateways.md): the supervisor keeps one connection per OpenClaw gateway. In the
# embedded default it is a thread of the web process (like the Celery worker above); production
# runs `manage.py run_gateways` as its own service and leaves this off.
GATEWAY_SUPERVISOR_EMBEDDED = env_bool("GATEWAY_SUPERVISOR_EMBEDDED", CELERY_EMBEDDED_WORKER)
# The longest wait between two reconnect attempts to an unreachable gateway (doubling from 0.5 s).
GATEWAY_RECONNECT_MAX_SECONDS = env_float("GATEWAY_RECONNECT_MAX_SECONDS", 30.0)
if GATEWAY_RECONNECT_MAX_SECONDS < 0.5:
    raise ImproperlyConfigured("GATEWAY_RECONNECT_MAX_SECONDS must be at least 0.5")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # How long a message taken by a worker that died stays invisible before redelivery.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1),
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
CELERY_TIMEZONE = "UTC"
# Three queues, one worker service each in compose.yml, so a backup that runs for minutes never
# sits in front of a delivery. A worker started without -Q (tests, the embedded default, the
# bench) consumes all three. Tasks not routed here go to maintenance.
CELERY_TASK_QUEUES = [Queue("deliveries"), Queue("maintenance"), Queue("backups")]
CELERY_TASK_DEFAULT_QUEUE = "maintenance"
CELERY_TASK_ROUTES = {
    "webhooks.tasks.deliver_webhook": {"queue": "deliveries"},
    "missioncontrol.tasks.run_scheduled_backup": {"queue": "backups"},
    "missioncontrol.tasks.record_beat_tick": {"queue": "maintenance"},
    "agents.tasks.record_presence_transitions": {"queue": "maintenance"},
    "webhooks.tasks.requeue_overdue_deliveries": {"queue": "maintenance"},
    "webhooks.tasks.prune_webhook_payloads": {"queue": "maintenance"},
    "ops.tasks.maintain_log_partitions": {"queue": "maintenance"},
    "overview.tasks.refresh_task_flow_rollup": {"queue": "maintenance"},
    "alerts.tasks.sweep_alert_rules": {"queue": "maintenance"},
    # Search, deliveries' fan-out, rules, alerts, notifications follow the log here: never behind
    # a backup or a sweep.
    "activity.tasks.follow_activity_log": {"queue": "deliveries"},
    "alerts.tasks.evaluate_alert_rules": {"queue": "maintenance"},
    # Outbound mail waits on a remote server like a delivery does.
    "alerts.tasks.send_incident_email": {"queue": "deliveries"},
    "alerts.tasks.send_test_email": {"queue": "deliveries"},
    # Rules turn a stored payload into work on a board: latency-sensitive like a delivery, and
    # never behind a backup or a sweep.
    "webhook_rules.tasks.apply_webhook_rules": {"queue": "deliveries"},
    "webhook_rules.tasks.requeue_unapplied_payloads": {"queue": "maintenance"},
    # Schedules fire on the minute: never behind a backup; beside the other sweeps.
    "automations.tasks.fire_due_schedules": {"queue": "maintenance"},
    "standups.tasks.post_due_standups": {"queue": "maintenance"},
    "standups.tasks.send_standup_emails": {"queue": "deliveries"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULER = "missioncontrol.celery:DirectoryCreatingScheduler"

# --- auth, sessions, security ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Refuses to check a password while the address or username is locked (login_protection).
AUTHENTICATION_BACKENDS = ["infra.login_protection.ThrottledModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview:overview"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = 31536000 if ENABLE_HSTS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = ENABLE_HSTS
# Asks browsers' preload lists to include the domain: a commitment, so its own switch (and only
# with HSTS on).
SECURE_HSTS_PRELOAD = ENABLE_HSTS and env_bool("HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
# Plain HTTP is redirected to HTTPS. Behind a TLS proxy this needs TRUSTED_PROXY_COUNT (so
# X-Forwarded-Proto is believed), or every request redirects to itself. Probes and scrapers
# reach the process over plain HTTP on the private network, so those paths are exempt.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
CORS_URLS_REGEX = r"^/(api|healthz|readyz)/?.*$"
CSRF_FAILURE_VIEW = "infra.errors.csrf_failure"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
# Every request body past this is refused with 413 while streaming in (infra.body_limit);
# the webhook ingest URL has WEBHOOK_MAX_PAYLOAD_BYTES instead.
REQUEST_MAX_BODY_BYTES = env_int("REQUEST_MAX_BODY_BYTES", 262_144, minimum=1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.IsHuman"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "infra.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 200, minimum=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "Mission Control API",
    "DESCRIPTION": "Boards, tasks, agents and webhooks for fleets of AI agents.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from the installed sidecar package: no CDN (the CSP allows only 'self').
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several resources have a "status"; name each choice set after its model's enum.
    "ENUM_NAME_OVERRIDES": {
        "TaskStatusEnum": "boards.models.TaskStatus",
        "ApprovalStatusEnum": "boards.models.ApprovalStatus",
        "AgentStatusEnum": "agents.models.AgentStatus",
        "DeliveryStatusEnum": "deliveries.models.DeliveryStatus",
        "IncidentStateEnum": "alerts.models.IncidentState",
        "GatewayStatusEnum": "gateways.models.GatewayStatus",
        "GatewayCommandStateEnum": "gateways.models.CommandState",
    },
}

# --- product limits and rates ------------------------------------------------------------------
WEBHOOK_MAX_PAYLOAD_BYTES = env_int("WEBHOOK_MAX_PAYLOAD_BYTES", 1_048_576, minimum=1)
# Upper bound on how long the ingest cache keeps a webhook, its board and who to notify (it is also
# dropped when the webhook changes, and stale when any agent changes).
WEBHOOK_INGEST_CACHE_SECONDS = env_int("WEBHOOK_INGEST_CACHE_SECONDS", 60, minimum=0)
WEBHOOK_INGEST_RATE = env_rate("WEBHOOK_INGEST_RATE", "60/60s")
WEBHOOK_TOLERANCE_SECONDS = env_int("WEBHOOK_TOLERANCE_SECONDS", 300)
WEBHOOK_RETENTION_DAYS = env_int("WEBHOOK_RETENTION_DAYS", 90, minimum=1)
# A payload whose rules failed is tried once more after this long (webhook_rules).
WEBHOOK_RULES_RETRY_SECONDS = env_int("WEBHOOK_RULES_RETRY_SECONDS", 30, minimum=0)
# Automations (docs/automations.md): how often beat looks for due schedule slots and waiting
# approvals; how late a slot may fire before a "skip" schedule counts it as missed; the loop
# guard (how many automation firings deep a chain may go, how often one automation may fire).
AUTOMATIONS_TICK_SECONDS = env_float("AUTOMATIONS_TICK_SECONDS", 30.0)
AUTOMATIONS_MISSED_GRACE_SECONDS = env_int("AUTOMATIONS_MISSED_GRACE_SECONDS", 300, minimum=0)
AUTOMATIONS_MAX_DEPTH = env_int("AUTOMATIONS_MAX_DEPTH", 3, minimum=1)
AUTOMATIONS_MAX_RUNS_PER_MINUTE = env_int("AUTOMATIONS_MAX_RUNS_PER_MINUTE", 20, minimum=1)
# Retention of the append-only logs (ops/retention.py). 0 keeps everything: the activity log is
# the audit trail. On PostgreSQL they are partitioned by month and whole months are dropped.
ACTIVITY_RETENTION_DAYS = env_int("ACTIVITY_RETENTION_DAYS", 0, minimum=0)
DELIVERY_ATTEMPT_RETENTION_DAYS = env_int("DELIVERY_ATTEMPT_RETENTION_DAYS", 90, minimum=0)
PARTITION_MONTHS_AHEAD = env_int("PARTITION_MONTHS_AHEAD", 2, minimum=1)
# Keys that encrypt webhook secrets at rest, newest first; old keys keep decrypting during
# rotation. Empty: derived from SECRET_KEY (and SECRET_KEY_FALLBACKS).
SECRET_ENCRYPTION_KEYS = env_list("SECRET_ENCRYPTION_KEYS")
AGENT_AUTH_RATE = env_rate("AGENT_AUTH_RATE", "20/60s")
AGENT_RATE = env_rate("AGENT_RATE", "600/60s")
AGENT_ONLINE_SECONDS = env_int("AGENT_ONLINE_SECONDS", 60, minimum=1)
AGENT_OFFLINE_SECONDS = env_int("AGENT_OFFLINE_SECONDS", 300, minimum=1)
AGENT_SEEN_WRITE_INTERVAL_SECONDS = env_int("AGENT_SEEN_WRITE_INTERVAL_SECONDS", 5)
LOGIN_RATE = env_rate("LOGIN_RATE", "10/300s")
DELIVERY_TIMEOUT_SECONDS = env_float("DELIVERY_TIMEOUT_SECONDS", 10.0)
DELIVERY_RETRY_SCHEDULE = [
    int(x) for x in env_list("DELIVERY_RETRY_SCHEDULE", "10,30,120,600,1800,7200,21600")
]
DELIVERY_ALLOWED_HOSTS = env_list("DELIVERY_ALLOWED_HOSTS")
DELIVERY_AUTO_DISABLE_AFTER = env_int("DELIVERY_AUTO_DISABLE_AFTER", 5, minimum=1)
# The delivery sweeper (every minute) hands the whole overdue backlog to the workers, a batch
# at a time, until none is left or this many seconds are spent (the next run takes up the rest).
DELIVERY_SWEEP_BATCH = env_int("DELIVERY_SWEEP_BATCH", 500, minimum=1)
DELIVERY_SWEEP_BUDGET_SECONDS = env_float("DELIVERY_SWEEP_BUDGET_SECONDS", 30.0)
# Board chat (chat/): message size, posts per author, @here per author and board, and the most
# people and agents one message may notify (explicit mentions or @here alike). One size for every
# message, a task's comments included (they are its thread's messages): the comments' 20000, so
# no agent's comment starts failing for its length (docs/chat.md, "One conversation per task").
CHAT_MESSAGE_MAX_CHARS = env_int("CHAT_MESSAGE_MAX_CHARS", 20000, minimum=1)
CHAT_POST_RATE = env_rate("CHAT_POST_RATE", "30/60s")
CHAT_HERE_RATE = env_rate("CHAT_HERE_RATE", "3/600s")
CHAT_MENTION_FANOUT_MAX = env_int("CHAT_MENTION_FANOUT_MAX", 50, minimum=1)
WS_RATE = env_int("WS_RATE", 30, minimum=1)
WS_MAX_MESSAGE_BYTES = env_int("WS_MAX_MESSAGE_BYTES", 65536, minimum=1)
WS_IDLE_TIMEOUT_SECONDS = env_int("WS_IDLE_TIMEOUT_SECONDS", 300, minimum=1)
REPLAY_MAX_EVENTS = env_int("REPLAY_MAX_EVENTS", 1000, minimum=1)
REPLAY_MAX_AGE_SECONDS = env_int("REPLAY_MAX_AGE_SECONDS", 86400, minimum=1)
# Every consumer of the activity log, in the order they run (activity.following explains how):
# (cursor name, dotted path of its handler, inline, batch). A batch handler takes the list of
# events; the others take (event, notify_agent_ids), one event at a time. The one place they are
# registered. A consumer added later needs a data migration creating its cursor row at the head
# of the log, unless it should work through the whole history.
ACTIVITY_LOG_CONSUMERS: list[tuple[str, str, bool, bool]] = [
    # Open pages and agents first; runs right after each commit, in the writing process.
    ("live", "activity.live.publish_events", True, True),
    # The outbox rows of outbound deliveries (sent when the consumer's transaction commits).
    ("deliveries", "deliveries.outbound.create_deliveries_for_event", False, False),
    ("search", "search.services.follow_activity", False, False),
    ("notifications", "notifications.listeners.notify_on_activity", False, False),
    ("alerts", "alerts.triggers.on_activity", False, False),
    # Rules of the webhook that received a payload (applied by the worker).
    ("webhook-rules", "webhook_rules.log_consumer.evaluate_rules_for_event", False, False),
    # Event automations ("when a task is done, …"): their actions run here, never in the request.
    ("automations", "automations.triggers.on_activity", False, False),
    # Boards that send work to gateway agents when a task is assigned (queues the run).
    ("gateway-work", "gateways.assignment.send_assigned_work", False, False),
    # The overview's task-flow rollup (also caught up by every overview read).
    ("task-flow", "overview.rollup.follow_task_events", False, True),
]
# Every app's event types (category, label, the feed's sentence: activity.registry), registered in
# this order when the activity app is ready; the filter menus list new categories in this order.
ACTIVITY_EVENT_TYPES: list[str] = [
    "boards.events.register",
    "agents.events.register",
    "webhooks.events.register",
    "webhook_rules.events.register",
    "usage.events.register",
    "deliveries.events.register",
    "alerts.events.register",
    "ops.events.register",
    "notifications.events.register",
    "chat.events.register",
    "teams.events.register",
    "gateways.events.register",
    "overview.events.register",
    "standups.events.register",
    "automations.events.register",
]
# Checks an agent's work-taking calls pass before they run (agents.gates), in this order; the first
# that refuses answers the 402.
AGENT_WORK_GATES: list[str] = [
    # A spent budget with its hard stop on.
    "usage.selectors.hard_stop_refusal",
]
# Where a task's conversation is kept (boards.conversation reads it): a module of the app above
# boards that stores it, with `post_comment` and `task_messages`. One store, so one path: chat's
# task threads (docs/chat.md, "One conversation per task").
TASK_CONVERSATION = "chat.conversation"
# What apps above infra add to /readyz (infra.health): (name under "reports", dotted path of a
# function returning a JSON-able report), shown in this order and never failed on.
READINESS_REPORTS: list[tuple[str, str]] = [
    # Each gateway's state, by id only (the probe is public).
    ("gateways", "gateways.readiness.gateway_states"),
]
# The one function that makes the inbox task of a webhook that creates tasks (webhooks.inbox
# calls it inside the payload's transaction; webhooks cannot import boards). One maker, not a list:
# a payload gets one task. Empty: the payload is stored, the failure logged, no task made.
WEBHOOK_INBOX_TASK_MAKER = "webhook_rules.inbox.make_inbox_task"
# Run every log consumer right after each commit, in the writing process (the embedded default:
# no separate worker to wait for). Off: only the live publisher does; the rest run in the worker.
ACTIVITY_CONSUMERS_INLINE = env_bool("ACTIVITY_CONSUMERS_INLINE", not REDIS_URL)
# Beat drains every consumer this often, whatever was queued (a worker that died, a lost message).
ACTIVITY_FOLLOW_SECONDS = env_float("ACTIVITY_FOLLOW_SECONDS", 1.0)
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
BACKUP_RETENTION_DAYS = env_int("BACKUP_RETENTION_DAYS", 30, minimum=1)
BACKUP_SCHEDULE = env_str("BACKUP_SCHEDULE", "0 2 * * *")
# Retention keeps a backup while it is younger than BACKUP_RETENTION_DAYS and among the newest
# BACKUP_RETENTION_COUNT; the newest successful backup is never pruned.
BACKUP_RETENTION_COUNT = env_int("BACKUP_RETENTION_COUNT", 60, minimum=1)
# doctor, /api/v1/status and the alert rules call a backup older than this stale.
BACKUP_MAX_AGE_HOURS = env_int("BACKUP_MAX_AGE_HOURS", 26, minimum=1)
# Read-only bearer token for GET /api/v1/status (monitoring); empty: staff sessions only.
OPS_TOKEN = env_str("OPS_TOKEN")
# Deployment checks an operator has decided to accept (e.g. security.W008 when the proxy
# redirects to HTTPS); doctor and `check --deploy` skip them.
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS")
HEALTH_CHECK_TIMEOUT_SECONDS = env_float("HEALTH_CHECK_TIMEOUT_SECONDS", 2.0)
# How often beat evaluates every alert rule (time conditions, sliding windows, ending snoozes).
ALERTS_SWEEP_SECONDS = env_int("ALERTS_SWEEP_SECONDS", 60, minimum=1)

# --- standups (docs/standups.md) ----------------------------------------------------------------
# The defaults of an organization that has not saved its own standup settings.
STANDUPS_ENABLED = env_bool("STANDUPS_ENABLED", True)
STANDUP_HOUR = env_int("STANDUP_HOUR", 9, minimum=0)
if STANDUP_HOUR > 23:
    raise ImproperlyConfigured("STANDUP_HOUR is a local hour from 0 to 23.")
STANDUP_TIME_ZONE = env_str("STANDUP_TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(STANDUP_TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"STANDUP_TIME_ZONE {STANDUP_TIME_ZONE!r} is not an IANA time zone (Europe/Paris, UTC)."
    ) from None
# How often beat looks for standups whose hour has come (each is posted once whatever this is).
STANDUP_CHECK_SECONDS = env_int("STANDUP_CHECK_SECONDS", 300, minimum=10)

# --- serving (infra.serving, deploy/gunicorn.conf.py, deploy/nginx.conf.template) --------
# gunicorn (plain HTTP): processes and threads per process.
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", os.cpu_count() or 1, minimum=1)
WEB_THREADS = env_int("WEB_THREADS", 8, minimum=1)
# uvicorn (websockets, SSE; everything in the embedded default, which needs exactly 1).
ASGI_WORKERS = env_int("ASGI_WORKERS", 1, minimum=1)
# A request head must be complete within this time and size, or the connection is closed / 400.
HEADER_READ_TIMEOUT_SECONDS = env_int("HEADER_READ_TIMEOUT_SECONDS", 10, minimum=1)
MAX_HEADER_BYTES = env_int("MAX_HEADER_BYTES", 16_384, minimum=4096)
KEEPALIVE_SECONDS = env_int("KEEPALIVE_SECONDS", 5, minimum=1)
# A plain HTTP request running longer than this is cut off (gunicorn restarts the worker).
SERVER_TIMEOUT_SECONDS = env_int("SERVER_TIMEOUT_SECONDS", 30, minimum=1)
if DB_STATEMENT_TIMEOUT_MS and DB_STATEMENT_TIMEOUT_MS >= SERVER_TIMEOUT_SECONDS * 1000:
    raise ImproperlyConfigured(
        f"DB_STATEMENT_TIMEOUT_MS ({DB_STATEMENT_TIMEOUT_MS}) must be shorter than "
        f"SERVER_TIMEOUT_SECONDS ({SERVER_TIMEOUT_SECONDS} s), the proxy's timeout: a request "
        "the proxy has given up on must not go on to commit."
    )

# --- overview and exports ------------------------------------------------------------------------
# The overview lists tasks blocked or in review for longer than this under "needs attention".
OVERVIEW_STALE_HOURS = env_int("OVERVIEW_STALE_HOURS", 24, minimum=1)
# The most rows one CSV / JSON-lines export streams (tasks, activity, deliveries).
EXPORT_MAX_ROWS = env_int("EXPORT_MAX_ROWS", 1_000_000, minimum=1)

# --- search and invitations (search/, teams/) ---------------------------------------------------
# PostgreSQL text search configuration: stemming and stop words of this language.
SEARCH_TEXT_CONFIG = env_str("SEARCH_TEXT_CONFIG", "english")
INVITATION_EXPIRY_DAYS = env_int("INVITATION_EXPIRY_DAYS", 7, minimum=1)

# --- email (invitations, alert notifications) -------------------------------------------------------
# Empty EMAIL_HOST: the console backend (the embedded default prints mail to the server log).
EMAIL_HOST = env_str("EMAIL_HOST")
_MAIL_BACKEND = "smtp" if EMAIL_HOST else "console"
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or f"django.core.mail.backends.{_MAIL_BACKEND}.EmailBackend"
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Mission Control <mission-control@localhost>")

# --- logging -----------------------------------------------------------------------------------
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "infra.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "infra.logs.JsonFormatter"},
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        # uvicorn installs its own plain-text handlers before it imports the app; this config runs
        # after and replaces them (no handlers, propagate to root), so its start-up lines and
        # "Exception in ASGI application" tracebacks come out in LOG_FORMAT like the rest.
        "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
        "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
        # Every periodic task's receipt and success at INFO would drown the embedded server's log.
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "celery.beat": {"level": "WARNING"},
        # The MCP SDK logs every stateless request's start and end at INFO (agent_mcp, /mcp).
        "mcp": {"level": "WARNING"},
    },
}
