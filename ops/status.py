"""GET /api/v1/status (staff session or the read-only OPS_TOKEN) and the staff-only /ops/ page:
the doctor's findings plus the facts behind them, as JSON and as a page."""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from activity.following import consumer_lags
from infra.errors import json_error
from ops import doctor
from ops.doctor import celery_queue_length
from ops.models import Backup


def bearer_token(request: HttpRequest) -> str:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def token_matches(presented: str, expected: str) -> bool:
    """Constant-time comparison; an unset expected token never matches."""
    return bool(expected) and bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())


def _backup_facts(now) -> dict[str, Any]:
    last = Backup.objects.last_succeeded()
    latest = Backup.objects.latest_run()
    return {
        "last_success_at": last.finished_at.isoformat() if last else None,
        "last_success_file": last.file_name if last else None,
        "age_seconds": round((now - last.finished_at).total_seconds()) if last else None,
        "max_age_hours": settings.BACKUP_MAX_AGE_HOURS,
        "last_run_status": latest.status if latest else None,
        "last_run_error": latest.error if latest and latest.error else None,
    }


def status_facts(*, context: str = "web") -> dict[str, Any]:
    """Everything /api/v1/status returns; facts that cannot be read are null, never guessed."""
    now = timezone.now()
    report = doctor.run_doctor(context=context)
    facts: dict[str, Any] = {
        "status": "ok" if report.ok else "degraded",
        "time": now.isoformat(),
        "mode": "production" if settings.REDIS_URL else "embedded",
        **report.as_dict(),
    }
    for name, read in (
        ("backups", lambda: _backup_facts(now)),
        ("dead_letters", doctor.dead_letter_count),
        ("agents_online", lambda: doctor.agents_online(now)),
        ("agents_idle", lambda: doctor.agents_idle(now)),
        ("agents_stale", lambda: len(doctor.stale_agents(now))),
    ):
        try:
            facts[name] = read()
        except Exception:
            facts[name] = None
    tick = doctor.last_beat_tick()
    facts["beat_last_tick_at"] = tick.isoformat() if tick else None
    facts["celery_queue_length"] = celery_queue_length()
    return facts


@never_cache
@require_GET
def status_api(request: HttpRequest) -> JsonResponse:
    user = getattr(request, "user", None)
    is_staff = bool(user and user.is_authenticated and (user.is_staff or user.is_superuser))
    presented = bearer_token(request)
    if not is_staff and not token_matches(presented, settings.OPS_TOKEN):
        if presented or not (user and user.is_authenticated):
            return json_error(
                401,
                "not_authenticated",
                "Send Authorization: Bearer <OPS_TOKEN> or log in as staff.",
                headers={"WWW-Authenticate": 'Bearer realm="ops"'},
            )
        return json_error(403, "permission_denied", "Only staff may read the operational status.")
    facts = status_facts(context="web")
    # Always 200: this is a fact sheet; probes that page on failure use /readyz or .ok here.
    return JsonResponse(facts)


# Right for production, expected on a laptop serving plain HTTP (LOCAL_INSTALL=1).
EXPECTED_LOCALLY = frozenset(
    {
        "debug",
        "check_deploy security.W004",  # HSTS
        "check_deploy security.W008",  # SECURE_SSL_REDIRECT
        "check_deploy security.W012",  # SESSION_COOKIE_SECURE
        "check_deploy security.W016",  # CSRF_COOKIE_SECURE
        "check_deploy security.W018",  # DEBUG
    }
)


def page_checks(checks: list[dict[str, Any]], *, local_install: bool) -> list[dict[str, Any]]:
    """The doctor's findings for the page: problems first, local-only findings marked as such."""
    rows = []
    for check in checks:
        expected = local_install and check["status"] != "ok" and check["check"] in EXPECTED_LOCALLY
        rows.append({**check, "expected_locally": expected})
    order = {"error": 0, "warning": 1, "note": 2, "skipped": 3, "ok": 4}
    return sorted(rows, key=lambda c: 2 if c["expected_locally"] else order.get(c["status"], 2))


@never_cache
@login_required
def ops_page(request: HttpRequest) -> HttpResponse:
    """Staff only; a signed-in member who is not staff gets the product's 403 page."""
    if not request.user.is_staff:
        raise PermissionDenied("The operations page is for staff.")
    facts = status_facts(context="web")
    checks = page_checks(facts["checks"], local_install=settings.LOCAL_INSTALL)
    problems = [c for c in checks if c["status"] == "error" and not c["expected_locally"]]
    notes = [c for c in checks if c["status"] == "note"]
    warnings = [c for c in checks if c["status"] == "warning" and not c["expected_locally"]]
    backups = Backup.objects.all()[:30]
    try:
        consumers = consumer_lags()
    except DatabaseError:
        consumers = []
    return render(
        request,
        "ops/status.html",
        {
            "facts": facts,
            "checks": checks,
            "problems": problems,
            "notes": notes,
            "warnings": warnings,
            "offline_minutes": max(1, settings.AGENT_OFFLINE_SECONDS // 60),
            "backups": backups,
            "consumers": consumers,
            "expected_count": sum(1 for c in checks if c["expected_locally"]),
            "checked_at": timezone.now(),
        },
    )
