"""Replay: what a live stream missed while it was away, read back from the activity table.

The activity event id is the cursor. A client that reconnects with the id of the last event
it saw receives the events after it, oldest first, before any live event. Replay is bounded
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
    """A last_event_id from a query string or a header; None for absent or malformed values."""
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


def missed_events(*, scope: Q, after_id: int) -> Replay:
    """Events matching `scope` with an id greater than `after_id`, oldest first, bounded."""
    limit = settings.REPLAY_MAX_EVENTS
    oldest = timezone.now() - timedelta(seconds=settings.REPLAY_MAX_AGE_SECONDS)
    # Newest first with a limit uses the (board, id) / (organization, id) indexes; one extra
    # row says whether the count bound cut anything.
    recent = ActivityEvent.objects.filter(scope, id__gt=after_id, created_at__gte=oldest)
    rows = list(recent.order_by("-id")[: limit + 1])
    truncated = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    if not truncated:
        first_kept = rows[0].id if rows else None
        older = ActivityEvent.objects.filter(scope, id__gt=after_id, created_at__lt=oldest)
        if first_kept is not None:
            older = older.filter(id__lt=first_kept)
        truncated = older.exists()
    return Replay(events=[activity_payload(event) for event in rows], truncated=truncated)


def latest_event_id(*, scope: Q) -> int:
    """The cursor a fresh client starts from (0 when the stream has no event yet)."""
    event = ActivityEvent.objects.filter(scope).order_by("-id").only("id").first()
    return event.id if event else 0
