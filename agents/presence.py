"""Presence: online, idle or offline, derived from when an agent was last seen.

Computed, never trusted from the client: `last_seen_at` is written by authenticated requests and
heartbeats; `Agent.presence` only remembers the last state recorded as an activity event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, CharField, Q, Value, When
from django.utils import timezone

ONLINE = "online"
IDLE = "idle"
OFFLINE = "offline"
PRESENCE_STATES = (ONLINE, IDLE, OFFLINE)


def presence_for(last_seen_at: datetime | None, now: datetime | None = None) -> str:
    if last_seen_at is None:
        return OFFLINE
    age = ((now or timezone.now()) - last_seen_at).total_seconds()
    if age <= settings.AGENT_ONLINE_SECONDS:
        return ONLINE
    if age <= settings.AGENT_OFFLINE_SECONDS:
        return IDLE
    return OFFLINE


def presence_expression(now: datetime | None = None) -> Case:
    """The same rule as presence_for(), as SQL, so a sweep can find stale rows in one query."""
    now = now or timezone.now()
    online_since = now - timedelta(seconds=settings.AGENT_ONLINE_SECONDS)
    idle_since = now - timedelta(seconds=settings.AGENT_OFFLINE_SECONDS)
    return Case(
        When(Q(last_seen_at__gte=online_since), then=Value(ONLINE)),
        When(Q(last_seen_at__gte=idle_since), then=Value(IDLE)),
        default=Value(OFFLINE),
        output_field=CharField(),
    )
