"""Rate limits over the configured cache (`memory` per process, `redis` shared), failing open.

Built on django-ratelimit's fixed windows. When the backend cannot be reached the request is
allowed: a rate limiter must not take the product down with it. The first failure of an
outage logs one warning; every one is counted in a metric.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django_ratelimit import core as ratelimit_core
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key, _split_rate, get_usage
from django_redis.cache import RedisCache

from infra.metrics import RATE_LIMIT_BACKEND_ERRORS, RATE_LIMIT_REJECTIONS

logger = logging.getLogger(__name__)

_WARN_EVERY_SECONDS = 60.0
_last_warning_at = 0.0
_warning_lock = threading.Lock()
# After a backend failure, skip the backend for this long: while Redis is down every request
# would otherwise wait for its socket timeouts before failing open.
BACKEND_RETRY_SECONDS = 5.0
_backend_down_until = 0.0


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: int = 0


def _warn_backend_down(limiter: str, exc: Exception) -> None:
    global _last_warning_at
    with _warning_lock:
        now = time.monotonic()
        if now - _last_warning_at < _WARN_EVERY_SECONDS:
            return
        _last_warning_at = now
    logger.warning(
        "rate limit backend unreachable, failing open (limiter=%s, error=%s)",
        limiter,
        type(exc).__name__,
    )


def reset_backend_state() -> None:
    """Forget a recorded outage (tests, and after the cache configuration changes)."""
    global _backend_down_until, _last_warning_at
    _backend_down_until = 0.0
    _last_warning_at = 0.0


def usage(limiter: str, key: str, rate: str, *, increment: bool) -> dict | None:
    """django-ratelimit's get_usage (same keys, same fixed windows), in one Redis round trip.

    get_usage costs two (ADD then INCR, or ADD then GET) through the cache API; on every agent
    request and webhook that was a quarter of the CPU. With Redis, INCR + EXPIRE NX go in one
    pipeline (a read is one GET); other caches (memory) go through get_usage. Raises on backend
    errors: callers fail open.
    """
    group = f"mc:{limiter}"
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if not isinstance(cache, RedisCache):
        return get_usage(None, group=group, key=lambda _group, _request: key, rate=rate, increment=increment)
    limit, period = _split_rate(rate)
    window = _get_window(key, period)
    cache_key = cache.make_key(_make_cache_key(group, window, rate, key, None))
    client = cache.client.get_client(write=True)
    if increment:
        pipe = client.pipeline(transaction=False)
        pipe.incr(cache_key)
        pipe.expire(cache_key, period + EXPIRATION_FUDGE, nx=True)
        count = pipe.execute()[0]
    else:
        raw = client.get(cache_key)
        count = int(raw) if raw is not None else 0
    time_left = window - int(ratelimit_core.time.time())  # the clock the window came from
    return {"count": count, "limit": limit, "should_limit": count > limit, "time_left": time_left}


def hit(limiter: str, key: str, rate: str) -> RateDecision:
    """Count one request for `key` against `rate` ("60/60s"); say whether it may proceed."""
    global _backend_down_until
    if time.monotonic() < _backend_down_until:
        RATE_LIMIT_BACKEND_ERRORS.labels(limiter=limiter).inc()
        return RateDecision(allowed=True)
    try:
        counted = usage(limiter, key, rate, increment=True)
    except Exception as exc:  # any backend failure fails open, by design
        _backend_down_until = time.monotonic() + BACKEND_RETRY_SECONDS
        RATE_LIMIT_BACKEND_ERRORS.labels(limiter=limiter).inc()
        _warn_backend_down(limiter, exc)
        return RateDecision(allowed=True)
    if counted is None:
        RATE_LIMIT_BACKEND_ERRORS.labels(limiter=limiter).inc()
        return RateDecision(allowed=True)
    if counted["should_limit"]:
        RATE_LIMIT_REJECTIONS.labels(limiter=limiter).inc()
        return RateDecision(allowed=False, retry_after=max(1, int(counted["time_left"])))
    return RateDecision(allowed=True)
