"""Replay: what a live stream missed while it was away, read back from the activity table.

The event's `position` is the cursor: positions are handed out in commit order (migration 0003,
docs/realtime.md), so an event that commits late can never land behind a cursor a client already
holds. A client that reconnects with the position of the last event it saw receives the events
after it, in commit order, before any live event. Replay is bounded
(REPLAY_MAX_EVENTS, REPLAY_MAX_AGE_SECONDS) so that a client away for a week cannot make the
server read the whole table; `truncated` tells it to reload instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from activity.models import ActivityEvent
from activity.payloads import activity_payload


@dataclass(frozen=True)
class Replay:
    events: list[dict[str, Any]] = field(default_factory=list)
    # True when events after the cursor exist but fall outside the bounds (too many or too old).
    truncated: bool = False


def parse_cursor(raw: str | None) -> int | None:
    """A last_event_id (an event's position) from a query string or a header; None for absent or
    malformed values."""
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


def missed_events(*, scope: Q, after_position: int) -> Replay:
    """Events matching `scope` after the cursor `after_position`, in commit order, bounded."""
    limit = settings.REPLAY_MAX_EVENTS
    oldest = timezone.now() - timedelta(seconds=settings.REPLAY_MAX_AGE_SECONDS)
    # Newest first with a limit uses the (board, position) / (organization, position) indexes;
    # one extra row says whether the count bound cut anything.
    recent = ActivityEvent.objects.filter(scope, position__gt=after_position, created_at__gte=oldest)
    rows = list(recent.order_by("-position")[: limit + 1])
    truncated = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    if not truncated:
        first_kept = rows[0].position if rows else None
        older = ActivityEvent.objects.filter(scope, position__gt=after_position, created_at__lt=oldest)
        if first_kept is not None:
            older = older.filter(position__lt=first_kept)
        truncated = older.exists()
    return Replay(events=[activity_payload(event) for event in rows], truncated=truncated)


def latest_position(*, scope: Q) -> int:
    """The cursor a fresh client starts from (0 when the stream has no event yet)."""
    newest = (
        ActivityEvent.objects.filter(scope, position__isnull=False)
        .order_by("-position")
        .values_list("position", flat=True)[:1]
    )
    return newest[0] if newest else 0
