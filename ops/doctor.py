"""`doctor`: every fact an operator needs before trusting a deployment, failing closed.

Each check returns Findings; an `error` fails the run, a `warning` fails it only with
`strict`, a `skipped` check says why it cannot be judged from here (embedded mode). A check
that crashes is an error, never a pass.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis

# The project's Celery app (missioncontrol/celery.py) as Celery's current app (its Django fix-up
# makes it the default of every thread): the project package is the top, nothing below imports it.
from celery import current_app as celery_app
from django.conf import settings
from django.core.cache import cache
from django.core.checks import WARNING, run_checks
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.dispatch import receiver
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agents.models import Agent, AgentStatus
from deliveries.outbound import dead_letter_count
from gateways.models import Gateway, GatewayStatus
from infra import health
from ops.models import Backup, BackupStatus
from ops.tasks import BEAT_TICK_CACHE_KEY

logger = logging.getLogger(__name__)

# NOTE: worth knowing, nothing to fix (yet); never a problem, not even with --strict.
OK, NOTE, ERROR, WARN, SKIPPED = "ok", "note", "error", "warning", "skipped"
# Beat ticks every 30 s; four missed ticks is a dead beat, not a slow one.
BEAT_STALE_SECONDS = 120
# When this process first loaded the doctor (a web process: its first status request, right
# after it started). Until BEAT_STALE_SECONDS have passed, a missing tick on the ops page is a
# note: a fresh install's beat (embedded or not) has had no chance to tick yet.
LOADED_AT = timezone.now()
WORKER_PING_TIMEOUT_SECONDS = 1.0
MIN_SECRET_KEY_LENGTH = 32
# A dump that has not finished after this long was killed (OOM, restart), not slow.
STUCK_BACKUP_HOURS = 6


def counted(count: int, singular: str, plural: str = "") -> str:
    """ "1 gateway", "3 gateways": findings are read on the ops page, not parsed."""
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    message: str
    fix: str = ""

    def line(self) -> str:
        labels = {OK: "ok     ", NOTE: "note   ", ERROR: "ERROR  ", WARN: "WARNING", SKIPPED: "skipped"}
        label = labels[self.status]
        text = f"{label} {self.check}: {self.message}"
        return f"{text} -> {self.fix}" if self.fix and self.status != OK else text


@dataclass(frozen=True)
class DoctorReport:
    findings: list[Finding]
    strict: bool = False

    @property
    def problems(self) -> list[Finding]:
        failing = {ERROR, WARN} if self.strict else {ERROR}
        return [f for f in self.findings if f.status in failing]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": len(self.problems),
            "checks": [asdict(f) for f in self.findings],
        }


# --- facts, shared with /api/v1/status and /metrics --------------------------------------------

# The queues of CELERY_TASK_QUEUES (settings), each with its own worker service in compose.
CELERY_QUEUES = ("deliveries", "maintenance", "backups")


@functools.cache
def _redis_client(url: str):

    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def celery_queue_lengths() -> dict[str, int] | None:
    """Messages waiting per queue (Redis LLEN); None in embedded mode or when unreadable."""
    if not settings.REDIS_URL:
        return None
    try:
        client = _redis_client(settings.CELERY_BROKER_URL)
        return {queue: int(client.llen(queue)) for queue in CELERY_QUEUES}
    except Exception as exc:
        logger.warning("could not read the Celery queue length: %s", type(exc).__name__)
        return None


def celery_queue_length() -> int | None:
    """Messages waiting in all queues together; None in embedded mode or when unreadable."""
    lengths = celery_queue_lengths()
    return None if lengths is None else sum(lengths.values())


def agents_online(now: datetime | None = None) -> int:
    since = (now or timezone.now()) - timedelta(seconds=settings.AGENT_ONLINE_SECONDS)
    return Agent.objects.filter(status=AgentStatus.ACTIVE, last_seen_at__gte=since).count()


def agents_idle(now: datetime | None = None) -> int:
    """Active agents heard from within AGENT_OFFLINE_SECONDS but not AGENT_ONLINE_SECONDS: the
    overview calls them idle; "0 online" alone read as if two agents that sent a heartbeat a few
    minutes ago had vanished."""
    now = now or timezone.now()
    return Agent.objects.filter(
        status=AgentStatus.ACTIVE,
        last_seen_at__gte=now - timedelta(seconds=settings.AGENT_OFFLINE_SECONDS),
        last_seen_at__lt=now - timedelta(seconds=settings.AGENT_ONLINE_SECONDS),
    ).count()


def stale_agents(now: datetime | None = None) -> list[str]:
    """Active agents that connected once but have not been heard from for AGENT_OFFLINE_SECONDS."""
    since = (now or timezone.now()) - timedelta(seconds=settings.AGENT_OFFLINE_SECONDS)
    return list(
        Agent.objects.filter(status=AgentStatus.ACTIVE, last_seen_at__lt=since)
        .order_by("last_seen_at")
        .values_list("name", flat=True)[:50]
    )


def last_beat_tick() -> datetime | None:
    raw = cache.get(BEAT_TICK_CACHE_KEY)
    return parse_datetime(raw) if isinstance(raw, str) else None


def ping_workers(timeout: float = WORKER_PING_TIMEOUT_SECONDS) -> list[str]:
    """Names of the Celery workers that answered `celery control ping` within timeout."""
    replies = celery_app.control.ping(timeout=timeout) or []
    return sorted(name for reply in replies for name in reply)


def _cache_is_process_local() -> bool:
    return "locmem" in settings.CACHES["default"]["BACKEND"].lower()


# --- checks -----------------------------------------------------------------------------------


def check_database() -> list[Finding]:
    result = health.run_checks({"database": health.check_database}, settings.HEALTH_CHECK_TIMEOUT_SECONDS)
    if result["database"]["status"] != OK:
        return [
            Finding(
                "database",
                ERROR,
                f"unreachable ({result['database']['error']})",
                "check DATABASE_URL and that PostgreSQL is up: pg_isready -h <host>",
            )
        ]
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in pending[:5])
        return [
            Finding(
                "migrations",
                ERROR,
                f"{counted(len(pending), 'unapplied migration')}: {names}",
                "run: python manage.py migrate",
            )
        ]
    return [Finding("database", OK, "reachable, all migrations applied")]


def check_services() -> list[Finding]:
    checks = {name: fn for name, fn in health.readiness_checks().items() if name != "database"}
    # One at a time, each still bounded: run together in a fresh process, the probes' first
    # imports (kombu's Redis transport, channels_redis) can collide on Python's import locks
    # (_DeadlockError) and report a healthy broker as down.
    results: dict[str, dict] = {}
    for name, check in checks.items():
        results.update(health.run_checks({name: check}, settings.HEALTH_CHECK_TIMEOUT_SECONDS))
    fixes = {
        "cache": "check REDIS_URL and that Redis answers: redis-cli -u $REDIS_URL ping",
        "channel_layer": "check REDIS_URL and that Redis answers: redis-cli -u $REDIS_URL ping",
        "broker": "check REDIS_URL and that Redis answers: redis-cli -u $REDIS_URL ping",
    }
    findings = []
    for name, result in results.items():
        if result["status"] == OK:
            findings.append(Finding(name, OK, "reachable"))
        else:
            findings.append(Finding(name, ERROR, f"unreachable ({result['error']})", fixes.get(name, "")))
    return findings


def check_worker(context: str) -> list[Finding]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return [Finding("worker", SKIPPED, "CELERY_TASK_ALWAYS_EAGER=1 runs tasks inline, no worker")]
    if not settings.REDIS_URL:
        if context == "web":
            # Imported here: it pulls in the Celery worker machinery, which the doctor command
            # run outside a web process should not load.
            from infra import embedded_worker

            if embedded_worker._started:
                return [Finding("worker", OK, "embedded worker thread running in this web process")]
            return [
                Finding(
                    "worker",
                    ERROR,
                    "embedded mode but no worker thread in this web process",
                    "start the server with CELERY_EMBEDDED_WORKER=1 (make run does)",
                )
            ]
        return [
            Finding(
                "worker",
                SKIPPED,
                "embedded mode: the worker is a thread of the web process and cannot be pinged from "
                "here; GET /api/v1/status on the server reports it",
            )
        ]
    try:
        # Bounded here too: with a dead broker a control ping can block on reconnects.
        names = health._probe_pool.submit(ping_workers).result(timeout=WORKER_PING_TIMEOUT_SECONDS + 2)
    except Exception as exc:
        return [
            Finding(
                "worker",
                ERROR,
                f"could not ping workers ({type(exc).__name__})",
                "check the broker (REDIS_URL), then start: celery -A missioncontrol worker",
            )
        ]
    if not names:
        return [
            Finding(
                "worker",
                ERROR,
                f"no Celery worker answered a ping within {WORKER_PING_TIMEOUT_SECONDS:g}s",
                "start one: celery -A missioncontrol worker (compose service `worker`)",
            )
        ]
    return [Finding("worker", OK, f"{counted(len(names), 'worker')} answered: {', '.join(names[:5])}")]


def check_beat(context: str, now: datetime) -> list[Finding]:
    tick = last_beat_tick()
    if tick is None:
        if _cache_is_process_local() and context != "web":
            return [
                Finding(
                    "beat",
                    SKIPPED,
                    "embedded mode: beat runs inside the web process and records its ticks in that "
                    "process's memory; GET /api/v1/status on the server reports it",
                )
            ]
        waited = (now - LOADED_AT).total_seconds()
        if context == "web" and waited < BEAT_STALE_SECONDS:
            return [
                Finding(
                    "beat",
                    NOTE,
                    f"no beat tick yet: this server started {waited:.0f}s ago and beat ticks every 30 s",
                    f"nothing to do now; if it stays after {BEAT_STALE_SECONDS}s, start beat",
                )
            ]
        return [
            Finding(
                "beat",
                ERROR,
                "no beat tick recorded",
                "start beat: celery -A missioncontrol beat (compose service `beat`); "
                "exactly one beat process",
            )
        ]
    age = (now - tick).total_seconds()
    if age > BEAT_STALE_SECONDS:
        return [
            Finding(
                "beat",
                ERROR,
                f"last beat tick {age:.0f}s ago (over {BEAT_STALE_SECONDS}s)",
                "restart beat and check a worker consumes the queue (tick runs on a worker)",
            )
        ]
    return [Finding("beat", OK, f"last tick {age:.0f}s ago")]


def check_security_settings() -> list[Finding]:
    findings = []
    if settings.DEBUG:
        findings.append(Finding("debug", ERROR, "DEBUG is on", "set DEBUG=0 in production"))
    else:
        findings.append(Finding("debug", OK, "DEBUG is off"))
    key = settings.SECRET_KEY or ""
    if key == settings.EXAMPLE_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < 5:
        findings.append(
            Finding(
                "secret_key",
                ERROR,
                "SECRET_KEY is the example value, short or repetitive",
                "set SECRET_KEY to python -c 'import secrets; print(secrets.token_urlsafe(50))' "
                "(keep the old one in SECRET_KEY_FALLBACKS for a day to keep sessions)",
            )
        )
    else:
        findings.append(Finding("secret_key", OK, "strong"))
    if "*" in settings.ALLOWED_HOSTS or any(h.startswith("*") for h in settings.ALLOWED_HOSTS):
        findings.append(
            Finding(
                "allowed_hosts",
                ERROR,
                "ALLOWED_HOSTS contains a wildcard",
                "list the exact host names, e.g. ALLOWED_HOSTS=mc.example.com",
            )
        )
    else:
        findings.append(Finding("allowed_hosts", OK, ", ".join(settings.ALLOWED_HOSTS) or "(empty)"))
    cors = list(getattr(settings, "CORS_ALLOWED_ORIGINS", []))
    if getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False) or "*" in cors:
        findings.append(
            Finding(
                "cors", ERROR, "CORS allows every origin", "set CORS_ORIGINS to the exact front-end origins"
            )
        )
    else:
        findings.append(Finding("cors", OK, f"{counted(len(cors), 'allowed origin')}"))
    return findings


# What to do about Django's deployment warnings (their own hints are often empty).
_DEPLOY_FIXES = {
    "security.W004": "behind TLS, set ENABLE_HSTS=1",
    "security.W008": "redirect HTTP to HTTPS at the proxy, then SILENCED_SYSTEM_CHECKS=security.W008",
    "security.W009": "set SECRET_KEY to 50+ random characters",
    "security.W012": "set SESSION_COOKIE_SECURE=1 (serve over HTTPS)",
    "security.W016": "set CSRF_COOKIE_SECURE=1 (serve over HTTPS)",
    "security.W018": "set DEBUG=0",
    "security.W020": "set ALLOWED_HOSTS",
}


def first_sentence(text: str, limit: int = 200) -> str:
    """Django's check messages run on for lines; the first sentence says it, never cut mid-word."""
    line = text.split("\n")[0].strip()
    sentence = line.split(". ")[0].rstrip(".") + "."
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0] + "…"


def check_deploy_checks() -> list[Finding]:
    """The same messages as `manage.py check --deploy` (silenced ones excluded by Django).

    drf-spectacular's schema warnings (W001/W002) are documentation quality, not deployment
    risk: they are folded into one warning; a schema that fails to generate (E001) is an error.
    """
    messages = [
        m for m in run_checks(include_deployment_checks=True) if m.level >= WARNING and not m.is_silenced()
    ]
    schema_warnings = [m for m in messages if m.id in {"drf_spectacular.W001", "drf_spectacular.W002"}]
    findings = [
        Finding(
            f"check_deploy {m.id}",
            ERROR,
            first_sentence(str(m.msg)),
            _DEPLOY_FIXES.get(m.id)
            or (m.hint or "").split("\n")[0][:200]
            or f"fix it, or accept it: SILENCED_SYSTEM_CHECKS={m.id}",
        )
        for m in messages
        if m not in schema_warnings
    ]
    if schema_warnings:
        findings.append(
            Finding(
                "check_deploy drf_spectacular",
                WARN,
                f"{counted(len(schema_warnings), 'API schema warning')}; the schema is still served",
                "list them with: python manage.py spectacular --validate --fail-on-warn > /dev/null",
            )
        )
    if not findings:
        return [Finding("check_deploy", OK, "manage.py check --deploy is clean")]
    return findings


def install_time() -> datetime | None:
    """When this database was created: the first migration's timestamp (None if unreadable)."""
    try:
        first = MigrationRecorder.Migration.objects.order_by("applied").first()
    except DatabaseError:
        return None
    return first.applied if first else None


def check_backups(now: datetime) -> list[Finding]:
    findings = []
    directory = Path(settings.BACKUP_DIR)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
            pass
        findings.append(Finding("backup_dir", OK, f"{directory} is writable"))
    except OSError as exc:
        findings.append(
            Finding(
                "backup_dir",
                ERROR,
                f"{directory} is not writable ({exc.strerror})",
                "create it and give the app user write access, or set BACKUP_DIR",
            )
        )
    last = Backup.objects.last_succeeded()
    latest = Backup.objects.latest_run()
    max_age = timedelta(hours=settings.BACKUP_MAX_AGE_HOURS)
    installed_at = install_time()
    if last is None and latest is None and installed_at is not None and now - installed_at <= max_age:
        # A fresh install has no backup yet, and none is overdue: the daily one has not come round.
        due = installed_at + max_age
        findings.append(
            Finding(
                "backup_age",
                NOTE,
                f"no backup yet; the first is due by {due:%Y-%m-%d %H:%M} UTC",
                "nothing to do now; beat runs the daily backup (or run: python manage.py backup)",
            )
        )
    elif last is None:
        findings.append(
            Finding(
                "backup_age",
                ERROR,
                "no successful backup yet",
                "run: python manage.py backup (and check beat runs the daily one)",
            )
        )
    elif now - last.finished_at > max_age:
        hours = (now - last.finished_at).total_seconds() / 3600
        findings.append(
            Finding(
                "backup_age",
                ERROR,
                f"last successful backup {hours:.0f}h ago (over {settings.BACKUP_MAX_AGE_HOURS}h)",
                "run: python manage.py backup; see the last failure on /ops/",
            )
        )
    else:
        hours = (now - last.finished_at).total_seconds() / 3600
        findings.append(
            Finding("backup_age", OK, f"last successful backup {hours:.1f}h ago ({last.file_name})")
        )
    if (
        latest is not None
        and latest.status == BackupStatus.RUNNING
        and now - latest.started_at > timedelta(hours=STUCK_BACKUP_HOURS)
    ):
        findings.append(
            Finding(
                "backup_last_run",
                WARN,
                f"a backup started {latest.started_at:%Y-%m-%d %H:%M} UTC is still marked running "
                "(the process was probably killed)",
                "run: python manage.py backup; check the worker's memory and disk",
            )
        )
    if latest is not None and latest.status == BackupStatus.FAILED:
        findings.append(
            Finding(
                "backup_last_run",
                ERROR,
                f"the last backup run failed: {latest.error[:200]}",
                "fix the cause, then run: python manage.py backup",
            )
        )
    return findings


def check_dead_letters() -> list[Finding]:
    count = dead_letter_count()
    if count:
        return [
            Finding(
                "dead_letters",
                WARN,
                f"{counted(count, 'delivery', 'deliveries')} in the dead-letter queue",
                "open /deliveries/?status=dead, fix the receiver, then replay them",
            )
        ]
    return [Finding("dead_letters", OK, "dead-letter queue is empty")]


def check_agents(now: datetime) -> list[Finding]:
    stale = stale_agents(now)
    if stale:
        return [
            Finding(
                "agents",
                WARN,
                f"{counted(len(stale), 'active agent')} without a heartbeat for "
                f"{settings.AGENT_OFFLINE_SECONDS}s: {', '.join(stale[:5])}",
                "check the agents' hosts, or suspend agents that are gone",
            )
        ]
    return [Finding("agents", OK, f"{counted(agents_online(now), 'agent')} online")]


def check_gateways() -> list[Finding]:
    """Enabled OpenClaw gateways the supervisor is not connected to (a warning: Mission Control
    works without them, but their agents get no work and their runs go unseen)."""
    down = list(
        Gateway.objects.supervised()
        .exclude(status=GatewayStatus.CONNECTED)
        .order_by("name")
        .values_list("name", "status", "last_error_code")
    )
    if down:
        named = [f"{name} ({code or status})" for name, status, code in down[:5]]
        return [
            Finding(
                "gateways",
                WARN,
                f"{counted(len(down), 'gateway')} not connected: {', '.join(named)}",
                "open /gateways/ for the error; is `manage.py run_gateways` running?",
            )
        ]
    count = Gateway.objects.supervised().count()
    return [Finding("gateways", OK, f"{counted(count, 'gateway')} connected" if count else "no gateways")]


# check --deploy builds the whole API schema (about a second of CPU); settings do not change
# while a process runs, so the web context (polled by monitoring) reuses it for a while.
DEPLOY_CHECK_CACHE_SECONDS = 300.0
_deploy_cache: dict[str, Any] = {}


@receiver(setting_changed)
def _forget_deploy_checks(**kwargs) -> None:
    _deploy_cache.clear()


def cached_deploy_checks() -> list[Finding]:
    now = time.monotonic()
    if not _deploy_cache or now - _deploy_cache["at"] > DEPLOY_CHECK_CACHE_SECONDS:
        _deploy_cache.update(at=now, findings=check_deploy_checks())
    return list(_deploy_cache["findings"])


def run_doctor(*, context: str = "command", strict: bool = False) -> DoctorReport:
    """All checks; `context` is "command" (manage.py) or "web" (GET /api/v1/status)."""
    now = timezone.now()
    steps: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("database", check_database),
        ("services", check_services),
        ("worker", lambda: check_worker(context)),
        ("beat", lambda: check_beat(context, now)),
        ("settings", check_security_settings),
        ("check_deploy", cached_deploy_checks if context == "web" else check_deploy_checks),
        ("backups", lambda: check_backups(now)),
        ("dead_letters", check_dead_letters),
        ("agents", lambda: check_agents(now)),
        ("gateways", check_gateways),
    ]
    findings: list[Finding] = []
    database_down = broker_down = False
    for name, step in steps:
        if database_down and name in {"backups", "dead_letters", "agents", "gateways"}:
            findings.append(Finding(name, ERROR, "not checked: the database is unreachable or not migrated"))
            continue
        if broker_down and name == "worker":
            findings.append(Finding(name, ERROR, "not checked: the broker is unreachable"))
            continue
        try:
            found = step()
        except Exception as exc:  # fail closed: a crashing check is a failing check
            logger.warning("doctor check %s crashed: %s", name, type(exc).__name__)
            found = [Finding(name, ERROR, f"check crashed ({type(exc).__name__})")]
        if name == "database" and any(f.status == ERROR for f in found):
            database_down = True
        if name == "services" and any(f.check == "broker" and f.status == ERROR for f in found):
            broker_down = True
        findings.extend(found)
    return DoctorReport(findings, strict=strict)
