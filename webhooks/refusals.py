"""Refused ingest requests (403 signature, 413 size, 429 rate), counted per webhook.

Refusals are the cheap path of ingest and the one an attacker controls, so they are never
written to the database: each is one atomic increment of a per-minute counter in the cache
(Redis in production, process memory in the embedded default), kept RETENTION_SECONDS. Alert
rules (alerts.conditions.WebhookRefusals) sum the buckets of their window.

A 429 is decided before the webhook is looked up, so it is only counted for a webhook id that
was found recently (a `known` mark set on lookup): sprayed made-up ids cannot fill the cache.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from django.core.cache import caches
from django.utils import timezone

logger = logging.getLogger(__name__)

BUCKET_SECONDS = 60
RETENTION_SECONDS = 25 * 3600
REFUSAL_STATUSES = (403, 413, 429)


def _bucket(moment: datetime) -> int:
    return int(moment.timestamp()) // BUCKET_SECONDS


def _count_key(webhook_id: int, status: int, bucket: int) -> str:
    return f"mc:webhook-refusals:{webhook_id}:{status}:{bucket}"


def _known_key(webhook_id: int) -> str:
    return f"mc:webhook-known:{webhook_id}"


def mark_webhook_known(webhook_id: int) -> None:
    """Set on every successful lookup (SET NX: one cheap command, usually a no-op)."""
    try:
        caches["default"].add(_known_key(webhook_id), 1, RETENTION_SECONDS)
    except Exception as exc:  # counting refusals must never fail an ingest
        logger.warning("webhook refusal counter unavailable: %s", type(exc).__name__)


def record_refusal(
    webhook_id: int, status: int, *, now: datetime | None = None, require_known: bool = False
) -> None:
    if status not in REFUSAL_STATUSES:
        return
    cache = caches["default"]
    key = _count_key(webhook_id, status, _bucket(now or timezone.now()))
    try:
        if require_known and cache.get(_known_key(webhook_id)) is None:
            return
        if not cache.add(key, 1, RETENTION_SECONDS):
            cache.incr(key)
    except Exception as exc:
        logger.warning("webhook refusal counter unavailable: %s", type(exc).__name__)


def refusal_counts(
    webhook_ids: Iterable[int], *, statuses: Iterable[int], since: datetime, until: datetime
) -> dict[int, list[tuple[datetime, int]]]:
    """Per webhook, (minute, refusals) for every minute of [since, until] that had any.

    One multi-get for all keys; at most RETENTION_SECONDS of history exists.
    """
    first, last = _bucket(since), _bucket(until)
    keys = {
        _count_key(webhook_id, status, bucket): (webhook_id, bucket)
        for webhook_id in webhook_ids
        for status in statuses
        for bucket in range(first, last + 1)
    }
    if not keys:
        return {}
    found = caches["default"].get_many(list(keys))
    totals: dict[int, dict[int, int]] = {}
    for key, count in found.items():
        webhook_id, bucket = keys[key]
        per_webhook = totals.setdefault(webhook_id, {})
        per_webhook[bucket] = per_webhook.get(bucket, 0) + int(count)
    return {
        webhook_id: [
            (datetime.fromtimestamp(bucket * BUCKET_SECONDS, tz=UTC), count)
            for bucket, count in sorted(buckets.items())
        ]
        for webhook_id, buckets in totals.items()
    }
