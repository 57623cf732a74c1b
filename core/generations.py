"""Cache generations: a counter that cached values built from agents carry.

A value cached with generation G is stale as soon as the counter differs from G, without the
cache having to know every key built from agents (the webhook ingest cache keeps who to notify:
webhooks.services.get_webhook_for_ingest). Agents' services bump it when an agent is created,
changed (status, board lead flag, boards) or deleted: rare next to ingests, so one counter for
all organizations is read in the same round trip as the cached value. Domain apps are independent
of each other (docs/architecture.md), so the counter lives here, below both.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


AGENTS_GENERATION_KEY = "mc:agents-generation"


def bump_agents_generation(organization_id: int) -> None:
    """After the commit of a change to an agent: values cached before are stale. (The
    organization is not part of the key yet; it is taken so callers say whose agents changed.)"""
    transaction.on_commit(lambda: _bump(AGENTS_GENERATION_KEY), robust=True)


def agents_generation(value: object) -> int:
    """The counter as read from the cache (absent, e.g. evicted: 0, which no bump produces)."""
    return value if isinstance(value, int) else 0


def _bump(key: str) -> None:
    try:
        try:
            cache.incr(key)
        except ValueError:  # never bumped (or evicted): any new value differs from what was cached
            cache.set(key, 1, None)
    except Exception as exc:
        # The ingest cache also expires on its own (WEBHOOK_INGEST_CACHE_SECONDS).
        logger.warning("bumping %s failed: %s", key, type(exc).__name__)
