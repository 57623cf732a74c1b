"""Reads for standups: an organization's settings (or the defaults), posted rows, opt-ins."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date

from core.models import Membership, Organization
from core.time_zones import DEFAULT_TIME_ZONE
from infra.exceptions import DomainError
from standups.figures import Scope, local_today, zone
from standups.models import Standup, StandupEmailOptIn, StandupSettings


def default_time_zone(organization_time_zone: str | None) -> str:
    """Where an organization's standups start: its own time zone (Organization.time_zone); one
    still on the default, UTC, gets the installation's STANDUP_TIME_ZONE (itself UTC unless set)."""
    if organization_time_zone and organization_time_zone != DEFAULT_TIME_ZONE:
        return organization_time_zone
    return settings.STANDUP_TIME_ZONE


def settings_for(organization_id: int, *, organization_time_zone: str | None = None) -> StandupSettings:
    """The organization's row, or an unsaved one with the defaults (STANDUP_*, the organization's
    time zone; reads never write). `organization_time_zone` saves a query when the caller has it."""
    row = (
        StandupSettings.objects.filter(organization_id=organization_id).select_related("subscription").first()
    )
    if row is not None:
        return row
    if organization_time_zone is None:
        organization_time_zone = (
            Organization.objects.filter(pk=organization_id).values_list("time_zone", flat=True).first()
        )
    return StandupSettings(
        organization_id=organization_id,
        enabled=settings.STANDUPS_ENABLED,
        hour=settings.STANDUP_HOUR,
        time_zone=default_time_zone(organization_time_zone),
    )


def scope_of(config: StandupSettings, board_id: int | None = None) -> Scope:
    return Scope(organization_id=config.organization_id, board_id=board_id, time_zone=config.time_zone)


def due_day(now: datetime, config: StandupSettings) -> date | None:
    """The day whose standup is due at `now`: yesterday, once the local hour has come; before it,
    none. No older day is ever sent (docs/standups.md, "Missed days")."""
    local = now.astimezone(zone(config.time_zone))
    if local.hour < config.hour:
        return None
    return local.date() - timedelta(days=1)


def posted(organization_id: int, board_id: int | None, day: date) -> Standup | None:
    rows = Standup.objects.filter(organization_id=organization_id, date=day)
    rows = rows.filter(board_id=board_id) if board_id is not None else rows.filter(board__isnull=True)
    return rows.select_related("chat_message", "delivery").first()


def standups_visible_to(user) -> QuerySet[Standup]:
    return Standup.objects.visible_to(user)


def opted_in(user, organization_id: int, board_id: int | None) -> bool:
    rows = StandupEmailOptIn.objects.filter(user=user, organization_id=organization_id)
    rows = rows.filter(board_id=board_id) if board_id is not None else rows.filter(board__isnull=True)
    return rows.exists()


def email_recipients(standup: Standup) -> list[str]:
    """Addresses of the members who opted in to this standup's scope (still members, active)."""
    rows = StandupEmailOptIn.objects.filter(organization_id=standup.organization_id)
    if standup.board_id is not None:
        rows = rows.filter(board_id=standup.board_id)
    else:
        rows = rows.filter(board__isnull=True)
    members = Membership.objects.filter(organization_id=standup.organization_id).values("user_id")
    addresses = (
        rows.filter(user_id__in=members, user__is_active=True)
        .exclude(user__email="")
        .order_by("user_id")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(addresses))


def console_mail() -> bool:
    """Whether mail only reaches the server log (the default install): the page says so."""
    return settings.EMAIL_BACKEND.endswith(("console.EmailBackend", "dummy.EmailBackend"))


EARLIEST_DAY = date(2000, 1, 1)


def parse_day(raw: str | None, config: StandupSettings, *, now: datetime | None = None) -> date:
    """The `date` a page or API call asks for (YYYY-MM-DD; empty: today in the organization's time
    zone). A future day has no standup yet: refused, like a malformed one."""
    today = local_today(now or timezone.now(), config.time_zone)
    if not raw:
        return today
    try:
        day = parse_date(raw)
    except ValueError:
        day = None
    if day is None:
        raise DomainError("The date is a day as YYYY-MM-DD, such as 2026-12-06.", code="invalid_date")
    if day > today:
        raise DomainError(
            f"{day.isoformat()} has not begun in {config.time_zone}; today there is {today.isoformat()}.",
            code="future_date",
        )
    if day < EARLIEST_DAY:
        raise DomainError(f"Standups start on {EARLIEST_DAY.isoformat()}.", code="invalid_date")
    return day
