"""doctor fails closed: one failing line per broken condition, and passes on a healthy setup."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from agents.models import Agent
from deliveries.models import Delivery, DeliveryStatus
from ops import doctor
from ops.doctor import run_doctor
from ops.models import Backup, BackupStatus
from ops.tasks import BEAT_TICK_CACHE_KEY

DEAD_REDIS = "redis://127.0.0.1:1/0"


def failing(report) -> set[str]:
    return {f.check for f in report.problems}


def test_it_passes_on_a_healthy_setup(healthy, capsys):
    report = run_doctor()
    assert report.ok, [f.line() for f in report.problems]
    call_command("doctor")
    assert "doctor: all checks passed" in capsys.readouterr().out


def test_json_output_lists_every_check(healthy, capsys):
    call_command("doctor", "--json")
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is True and body["problems"] == 0
    names = {c["check"] for c in body["checks"]}
    assert {
        "database",
        "cache",
        "channel_layer",
        "worker",
        "beat",
        "debug",
        "secret_key",
        "allowed_hosts",
        "cors",
        "backup_dir",
        "backup_age",
        "dead_letters",
        "agents",
    } <= names


def test_the_command_exits_non_zero_with_one_line_per_problem_and_what_to_do(healthy, capsys):
    healthy.DEBUG = True
    with pytest.raises(CommandError, match=r"doctor found \d+ problem"):
        call_command("doctor")
    out = capsys.readouterr().out
    assert "ERROR   debug: DEBUG is on -> set DEBUG=0" in out


@pytest.mark.parametrize(
    ("setting", "value", "check"),
    [
        ("DEBUG", True, "debug"),
        ("SECRET_KEY", "insecure-change-me-mission-control-example-key", "secret_key"),
        ("SECRET_KEY", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "secret_key"),
        ("ALLOWED_HOSTS", ["*"], "allowed_hosts"),
        ("ALLOWED_HOSTS", [".example.com", "*.example.com"], "allowed_hosts"),
        ("CORS_ALLOWED_ORIGINS", ["*"], "cors"),
        ("CORS_ALLOW_ALL_ORIGINS", True, "cors"),
        ("SECURE_SSL_REDIRECT", False, "check_deploy security.W008"),
        ("SESSION_COOKIE_SECURE", False, "check_deploy security.W012"),
    ],
)
def test_it_fails_on_an_unsafe_setting(healthy, setting, value, check):
    setattr(healthy, setting, value)
    assert check in failing(run_doctor())


def test_a_silenced_deploy_check_is_accepted(healthy):
    healthy.SECURE_SSL_REDIRECT = False
    healthy.SILENCED_SYSTEM_CHECKS = ["security.W008"]
    assert run_doctor().ok


def test_it_fails_without_any_successful_backup_once_the_install_is_older_than_the_limit(healthy):
    Backup.objects.all().delete()
    old = timezone.now() - timedelta(hours=healthy.BACKUP_MAX_AGE_HOURS, minutes=1)
    MigrationRecorder.Migration.objects.update(applied=old)
    assert "backup_age" in failing(run_doctor())


def test_a_fresh_install_without_a_backup_gets_a_note_not_a_problem(healthy):
    Backup.objects.all().delete()  # the test database was migrated moments ago: a fresh install
    report = run_doctor(strict=True)
    assert report.ok, [f.line() for f in report.problems]
    (finding,) = [f for f in report.findings if f.check == "backup_age"]
    assert finding.status == "note" and finding.message.startswith("no backup yet; the first is due by")
    assert finding.line().startswith("note    backup_age: no backup yet")


def test_a_fresh_install_whose_first_backup_failed_still_fails(healthy):
    Backup.objects.all().delete()
    Backup.objects.create(
        started_at=timezone.now(), status=BackupStatus.FAILED, engine="sqlite", error="disk full"
    )
    assert "backup_age" in failing(run_doctor())


def test_it_fails_when_the_last_backup_is_older_than_the_limit(healthy):
    old = timezone.now() - timedelta(hours=healthy.BACKUP_MAX_AGE_HOURS, minutes=1)
    Backup.objects.update(finished_at=old, started_at=old)
    assert "backup_age" in failing(run_doctor())
    Backup.objects.update(finished_at=old + timedelta(minutes=2))
    assert run_doctor().ok


def test_it_fails_when_the_latest_backup_run_failed(healthy):
    Backup.objects.create(
        started_at=timezone.now() + timedelta(seconds=1),
        status=BackupStatus.FAILED,
        engine="sqlite",
        error="pg_dump exited 1: disk full",
    )
    report = run_doctor()
    assert "backup_last_run" in failing(report)
    assert any("disk full" in f.message for f in report.problems)


def test_it_fails_when_the_backup_dir_is_not_writable(healthy, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be")
    healthy.BACKUP_DIR = blocker / "backups"
    assert "backup_dir" in failing(run_doctor())


BEAT_STALE = doctor.BEAT_STALE_SECONDS


def test_it_fails_when_beat_stopped_ticking(healthy):
    stale = timezone.now() - timedelta(seconds=doctor.BEAT_STALE_SECONDS + 5)
    cache.set(BEAT_TICK_CACHE_KEY, stale.isoformat(), timeout=None)
    assert "beat" in failing(run_doctor())


def test_it_fails_when_beat_never_ticked_on_a_shared_cache(healthy, monkeypatch):
    cache.delete(BEAT_TICK_CACHE_KEY)
    monkeypatch.setattr(doctor, "_cache_is_process_local", lambda: False)
    assert "beat" in failing(run_doctor())
    # The web page too, once the server has run longer than beat needs for a first tick.
    monkeypatch.setattr(doctor, "LOADED_AT", timezone.now() - timedelta(seconds=BEAT_STALE + 1))
    assert "beat" in failing(run_doctor(context="web"))


def test_right_after_a_server_starts_a_missing_tick_is_a_note_on_the_web_page(healthy, monkeypatch):
    cache.delete(BEAT_TICK_CACHE_KEY)
    monkeypatch.setattr(doctor, "_cache_is_process_local", lambda: False)
    monkeypatch.setattr(doctor, "LOADED_AT", timezone.now() - timedelta(seconds=BEAT_STALE - 5))
    beat = next(f for f in run_doctor(context="web").findings if f.check == "beat")
    assert beat.status == "note" and "no beat tick yet" in beat.message
    # manage.py doctor has no such grace: it is what operators run when something is wrong.
    assert "beat" in failing(run_doctor())


def test_in_embedded_mode_a_missing_tick_is_explained_not_failed(healthy, monkeypatch):
    cache.delete(BEAT_TICK_CACHE_KEY)
    monkeypatch.setattr(doctor, "_cache_is_process_local", lambda: True)
    beat = next(f for f in run_doctor().findings if f.check == "beat")
    assert beat.status == "skipped" and "embedded mode" in beat.message


def test_it_fails_when_no_worker_answers_the_ping(healthy, monkeypatch):
    healthy.REDIS_URL = healthy.REDIS_URL or "redis://127.0.0.1:6379/6"
    monkeypatch.setattr(doctor, "ping_workers", lambda timeout=1.0: [])
    monkeypatch.setattr(doctor, "check_services", lambda: [])  # the broker is another check
    assert "worker" in failing(run_doctor())


def test_in_embedded_mode_the_worker_is_explained_not_failed(healthy):
    healthy.REDIS_URL = ""
    worker = next(f for f in run_doctor().findings if f.check == "worker")
    assert worker.status == "skipped" and "embedded mode" in worker.message


def test_it_fails_when_the_cache_is_unreachable(healthy):
    healthy.CACHES = {
        **healthy.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.3, "SOCKET_TIMEOUT": 0.3},
        },
    }
    assert "cache" in failing(run_doctor())


def test_it_fails_when_the_database_is_unreachable_and_skips_what_needs_it(healthy, monkeypatch):
    def refuse():
        raise ConnectionRefusedError

    monkeypatch.setattr("infra.health.check_database", refuse)
    problems = failing(run_doctor())
    assert {"database", "backups", "dead_letters", "agents"} <= problems


def test_it_fails_on_unapplied_migrations(healthy, monkeypatch):
    class Pending:
        app_label, name = "boards", "0099_future"

    monkeypatch.setattr(doctor.MigrationExecutor, "migration_plan", lambda self, targets: [(Pending, False)])
    report = run_doctor()
    assert "migrations" in failing(report)
    assert any("python manage.py migrate" in f.fix for f in report.problems)


def test_a_crashing_check_fails_closed(healthy, monkeypatch):
    def boom():
        raise RuntimeError("unexpected")

    monkeypatch.setattr(doctor, "check_security_settings", boom)
    assert "settings" in failing(run_doctor())


@pytest.mark.django_db
def test_dead_letters_warn_and_fail_only_when_strict(healthy, organization):
    Delivery.objects.create(
        organization=organization,
        target_url="https://example.com/hook",
        event_type="task.created",
        status=DeliveryStatus.DEAD,
    )
    assert run_doctor().ok
    assert "dead_letters" in failing(run_doctor(strict=True))
    with pytest.raises(CommandError):
        call_command("doctor", "--strict")


def test_agents_without_a_recent_heartbeat_warn(healthy, organization):
    Agent.objects.create(
        organization=organization,
        name="ghost",
        last_seen_at=timezone.now() - timedelta(seconds=healthy.AGENT_OFFLINE_SECONDS + 1),
    )
    Agent.objects.create(organization=organization, name="alive", last_seen_at=timezone.now())
    report = run_doctor(strict=True)
    agents = next(f for f in report.findings if f.check == "agents")
    assert agents.status == "warning" and "ghost" in agents.message and "alive" not in agents.message


def test_gateways_that_are_not_connected_warn(healthy, organization):
    from gateways.models import Gateway, GatewayStatus

    def gateway(name, **fields):
        return Gateway.objects.create(organization=organization, name=name, url="ws://127.0.0.1:1", **fields)

    gateway("up", status=GatewayStatus.CONNECTED)
    gateway("off", enabled=False, status=GatewayStatus.DISABLED)
    assert next(f for f in run_doctor(strict=True).findings if f.check == "gateways").status == "ok"
    gateway("studio", status=GatewayStatus.REFUSED, last_error_code="AUTH_TOKEN_MISMATCH")
    report = run_doctor(strict=True)
    found = next(f for f in report.findings if f.check == "gateways")
    assert found.status == "warning"
    assert found.message == "1 gateway not connected: studio (AUTH_TOKEN_MISMATCH)"
    assert run_doctor().ok  # a warning: fails only with --strict


def test_api_schema_warnings_are_one_non_failing_warning(healthy, monkeypatch):
    from django.core.checks import Warning as CheckWarning

    monkeypatch.setattr(
        doctor,
        "run_checks",
        lambda **kwargs: [
            CheckWarning("schema warning one", id="drf_spectacular.W001"),
            CheckWarning("schema warning two", id="drf_spectacular.W001"),
        ],
    )
    report = run_doctor()
    assert report.ok
    schema = next(f for f in report.findings if f.check == "check_deploy drf_spectacular")
    assert schema.status == "warning" and "2 API schema warnings;" in schema.message


def test_a_backup_run_stuck_in_running_warns(healthy):
    started = timezone.now() - timedelta(hours=doctor.STUCK_BACKUP_HOURS + 1)
    Backup.objects.create(started_at=started, status=BackupStatus.RUNNING, engine="sqlite")
    Backup.objects.filter(status=BackupStatus.SUCCEEDED).update(started_at=started - timedelta(minutes=1))
    stuck = next(f for f in run_doctor().findings if f.check == "backup_last_run")
    assert stuck.status == "warning" and "still marked running" in stuck.message


def test_with_the_broker_down_the_worker_is_not_pinged(healthy, monkeypatch):
    from ops.doctor import ERROR, Finding

    def no_ping(timeout=1.0):
        raise AssertionError("must not ping through a dead broker")

    monkeypatch.setattr(doctor, "check_services", lambda: [Finding("broker", ERROR, "unreachable")])
    monkeypatch.setattr(doctor, "ping_workers", no_ping)
    worker = next(f for f in run_doctor().findings if f.check == "worker")
    assert worker.status == "error" and "broker is unreachable" in worker.message


def test_check_messages_are_cut_at_a_sentence_or_a_word_never_mid_word():
    from ops.doctor import first_sentence

    message = "Your SECURE_SSL_REDIRECT setting is not set to True. Unless your site ..."
    assert first_sentence(message) == "Your SECURE_SSL_REDIRECT setting is not set to True."
    cut = first_sentence("word " * 60, limit=40)
    assert cut.endswith("word…") and len(cut) <= 41


def test_findings_count_in_plain_english():
    from ops.doctor import counted

    assert counted(1, "gateway") == "1 gateway"
    assert counted(3, "gateway") == "3 gateways"
    assert counted(1, "delivery", "deliveries") == "1 delivery"
    assert counted(0, "delivery", "deliveries") == "0 deliveries"
