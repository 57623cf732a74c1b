"""GET /api/v1/status (staff session or the read-only OPS_TOKEN) and the staff-only /ops/ page:
the doctor's findings plus the facts behind them, as JSON and as a page."""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from missioncontrol.errors import json_error
from ops import doctor
from ops.doctor import celery_queue_length
from ops.models import Backup


def bearer_token(request: HttpRequest) -> str:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def token_matches(presented: str, expected: str) -> bool:
    """Constant-time comparison; an unset expected token never matches."""
    return bool(expected) and bool(presented) and hmac.compare_digest(
        presented.encode(), expected.encode()
    )


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
                401, "not_authenticated",
                "Send Authorization: Bearer <OPS_TOKEN> or log in as staff.",
                headers={"WWW-Authenticate": 'Bearer realm="ops"'},
            )
        return json_error(403, "permission_denied", "Only staff may read the operational status.")
    facts = status_facts(context="web")
    # Always 200: this is a fact sheet; probes that page on failure use /readyz or .ok here.
    return JsonResponse(facts)


@never_cache
@staff_member_required
def ops_page(request: HttpRequest) -> HttpResponse:
    facts = status_facts(context="web")
    backups = Backup.objects.all()[:30]
    return render(request, "ops/status.html", {"facts": facts, "backups": backups})
