"""/metrics access control and contents, the HTTP metrics middleware, /api/v1/status and /ops/."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from ops.models import Backup, BackupStatus
from tests.factories import UserFactory

EXPECTED_METRICS = [
    "mc_http_requests_total",
    "mc_http_request_duration_seconds",
    "mc_webhook_ingests_total",
    "mc_deliveries_total",
    "mc_delivery_duration_seconds",
    "mc_rate_limit_rejections_total",
    "mc_open_websockets",
    "mc_backups_total",
    "mc_backup_age_seconds",
    "mc_backup_last_success_timestamp_seconds",
    "mc_backup_last_status",
    "mc_webhook_dead_letters",
    "mc_agents_online",
    "mc_celery_queue_length",
    "mc_ops_collector_up 1.0",
]


@pytest.fixture
def remote_client():
    return Client(REMOTE_ADDR="203.0.113.9")


@pytest.mark.django_db
def test_metrics_are_served_to_an_allowed_address_with_every_metric_name(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    for name in EXPECTED_METRICS:
        assert name in body, name


@pytest.mark.django_db
def test_metrics_are_refused_to_other_addresses_without_a_token(remote_client):
    response = remote_client.get("/metrics")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.django_db
def test_metrics_accept_the_bearer_token_from_anywhere_and_refuse_a_wrong_one(remote_client, settings):
    settings.METRICS_TOKEN = "metrics-token-for-tests-0123456789"
    ok = remote_client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-for-tests-0123456789")
    assert ok.status_code == 200, ok.content[:500]
    wrong = remote_client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-for-tests-0123456780")
    assert wrong.status_code == 403


@pytest.mark.django_db
def test_a_wrong_token_is_refused_even_from_an_allowed_address(client, settings):
    settings.METRICS_TOKEN = "metrics-token-for-tests-0123456789"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 403


@pytest.mark.django_db
def test_an_empty_metrics_token_never_matches(remote_client, settings):
    settings.METRICS_TOKEN = ""
    assert remote_client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_allowed_ips_accept_networks(remote_client, settings):
    settings.METRICS_ALLOWED_IPS = ["203.0.113.0/24"]
    assert remote_client.get("/metrics").status_code == 200
    settings.METRICS_ALLOWED_IPS = ["203.0.113.10"]
    assert remote_client.get("/metrics").status_code == 403


@pytest.mark.django_db
def test_backup_gauges_reflect_the_last_successful_backup(client):
    assert "mc_backup_age_seconds +Inf" in client.get("/metrics").content.decode()
    now = timezone.now()
    Backup.objects.create(started_at=now, finished_at=now, status=BackupStatus.SUCCEEDED, engine="sqlite")
    body = client.get("/metrics").content.decode()
    assert 'mc_backup_last_status{status="succeeded"} 1.0' in body
    age = next(line for line in body.splitlines() if line.startswith("mc_backup_age_seconds "))
    assert float(age.split()[1]) < 60


@pytest.mark.django_db
def test_http_metrics_are_labelled_by_route_template_not_by_raw_path(client, admin_user):
    client.force_login(admin_user)
    client.get("/admin/ops/backup/987654/change/")
    client.get("/no-such-page/123456789")
    body = client.get("/metrics").content.decode()
    assert "987654" not in body and "123456789" not in body
    assert 'route="/admin/ops/backup/<path:object_id>/change/"' in body
    assert 'route="<unmatched>"' in body


@pytest.mark.django_db
def test_status_api_refuses_anonymous_callers_with_401(client):
    response = client.get("/api/v1/status")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_status_api_refuses_non_staff_users_with_403(client, user):
    client.force_login(user)
    assert client.get("/api/v1/status").status_code == 403


@pytest.mark.django_db
def test_status_api_answers_staff_with_the_doctor_facts(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/api/v1/status")
    assert response.status_code == 200
    body = response.json()
    assert {
        "ok",
        "status",
        "checks",
        "backups",
        "dead_letters",
        "agents_online",
        "beat_last_tick_at",
        "celery_queue_length",
        "mode",
    } <= set(body)
    assert any(check["check"] == "database" for check in body["checks"])


@pytest.mark.django_db
def test_status_api_accepts_the_read_only_ops_token(client, settings):
    settings.OPS_TOKEN = "ops-token-for-tests-0123456789abcdef"
    ok = Client(REMOTE_ADDR="203.0.113.9").get(
        "/api/v1/status", HTTP_AUTHORIZATION="Bearer ops-token-for-tests-0123456789abcdef"
    )
    assert ok.status_code == 200, ok.content[:500]
    wrong = client.get("/api/v1/status", HTTP_AUTHORIZATION="Bearer ops-token-for-tests-0123456789abcdeX")
    assert wrong.status_code == 401, wrong.content[:500]
    assert "ops-token" not in wrong.content.decode()


@pytest.mark.django_db
def test_ops_page_is_for_staff_only(client, user):
    assert client.get("/ops/").status_code == 302  # anonymous: to the login page
    client.force_login(user)
    denied = client.get("/ops/")
    assert denied.status_code == 403  # a member: the product's 403 page, not the admin login
    assert b"for staff" in denied.content
    staff = UserFactory(username="operator", is_staff=True)
    client.force_login(staff)
    now = timezone.now()
    Backup.objects.create(
        started_at=now,
        finished_at=now,
        status=BackupStatus.FAILED,
        engine="sqlite",
        error="pg_dump exited 1: disk full",
    )
    response = client.get("/ops/")
    assert response.status_code == 200
    assert b"disk full" in response.content and b"Checks" in response.content


@pytest.mark.django_db
def test_ops_page_marks_https_and_debug_findings_as_expected_on_a_local_install(client, settings):
    settings.LOCAL_INSTALL = True
    client.force_login(UserFactory(username="operator", is_staff=True))
    html = client.get("/ops/").content.decode()
    assert "expected locally" in html  # the test settings run with DEBUG on


@pytest.mark.django_db
def test_ops_page_on_a_fresh_install_shows_no_backup_as_a_note_not_a_problem(client, healthy, monkeypatch):
    """The first-run page is quiet: all checks pass, the missing backup is a neutral note."""
    from infra import embedded_worker

    monkeypatch.setattr(embedded_worker, "_started", True)  # as under `make run` (embedded mode)
    Backup.objects.all().delete()  # the test database was migrated moments ago: a fresh install
    client.force_login(UserFactory(username="operator", is_staff=True))
    html = client.get("/ops/", secure=True).content.decode()
    assert 'class="callout callout-success ops-summary ops-ok"' in html
    assert "problem" not in html.split("ops-summary", 1)[1].split("</div>", 1)[0]
    assert "No backup yet; the first is due by" in html
    assert '<span class="badge badge-info">note</span>' in html


def test_page_checks_put_problems_first_and_mark_local_findings():
    from ops.status import page_checks

    rows = page_checks(
        [
            {"check": "debug", "status": "error"},
            {"check": "database", "status": "ok"},
            {"check": "backups", "status": "error"},
        ],
        local_install=True,
    )
    assert [(r["check"], r["expected_locally"]) for r in rows] == [
        ("backups", False),
        ("debug", True),
        ("database", False),
    ]


@pytest.mark.django_db
def test_the_status_api_reuses_the_deploy_checks_for_a_while(client, admin_user, monkeypatch):
    from ops import doctor

    doctor._deploy_cache.clear()
    calls = []
    monkeypatch.setattr(doctor, "check_deploy_checks", lambda: calls.append(1) or [])
    client.force_login(admin_user)
    client.get("/api/v1/status")
    client.get("/api/v1/status")
    assert calls == [1]
    monkeypatch.setattr(doctor, "DEPLOY_CHECK_CACHE_SECONDS", -1.0)
    client.get("/api/v1/status")
    assert calls == [1, 1]


@pytest.mark.django_db
def test_ops_page_counts_warnings_and_shows_idle_agents(client, healthy, monkeypatch, organization, board):
    """No problems but warnings: the summary says how many, not "All checks passed."; agents that
    sent a heartbeat two minutes ago are idle, shown beside "Agents online 0"."""
    from datetime import timedelta

    from deliveries.models import Delivery, DeliveryStatus
    from infra import embedded_worker
    from tests.factories import AgentFactory

    monkeypatch.setattr(embedded_worker, "_started", True)
    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    for name in ("idle-a", "idle-b"):
        AgentFactory(organization=organization, name=name, last_seen_at=two_minutes_ago)
    Delivery.objects.create(
        organization=organization,
        board=board,
        target_url="https://example.com/a",
        event_type="task.created",
        status=DeliveryStatus.DEAD,
    )
    client.force_login(UserFactory(username="operator", is_staff=True))
    html = client.get("/ops/", secure=True).content.decode()
    summary = html.split("ops-summary", 1)[1].split("</div>", 1)[0]
    assert "All checks passed" not in summary
    assert "No problems; 1 warning." in summary
    assert "2 idle (heard from in the last 5 min)" in html
    facts = client.get("/api/v1/status", secure=True).json()
    assert facts["agents_online"] == 0 and facts["agents_idle"] == 2
