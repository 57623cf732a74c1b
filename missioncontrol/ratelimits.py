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

from django_ratelimit.core import get_usage

from missioncontrol.metrics import RATE_LIMIT_BACKEND_ERRORS, RATE_LIMIT_REJECTIONS

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
        limiter, type(exc).__name__,
    )


def reset_backend_state() -> None:
    """Forget a recorded outage (tests, and after the cache configuration changes)."""
    global _backend_down_until, _last_warning_at
    _backend_down_until = 0.0
    _last_warning_at = 0.0


def hit(limiter: str, key: str, rate: str) -> RateDecision:
    """Count one request for `key` against `rate` ("60/60s"); say whether it may proceed."""
    global _backend_down_until
    if time.monotonic() < _backend_down_until:
        RATE_LIMIT_BACKEND_ERRORS.labels(limiter=limiter).inc()
        return RateDecision(allowed=True)
    try:
        usage = get_usage(
            None, group=f"mc:{limiter}", key=lambda _group, _request: key, rate=rate, increment=True
        )
    except Exception as exc:  # any backend failure fails open, by design
        _backend_down_until = time.monotonic() + BACKEND_RETRY_SECONDS
        RATE_LIMIT_BACKEND_ERRORS.labels(limiter=limiter).inc()
        _warn_backend_down(limiter, exc)
        return RateDecision(allowed=True)
    if usage is None:
        RATE_LIMIT_BACKEND_ERRORS.labels(limiter=limiter).inc()
        return RateDecision(allowed=True)
    if usage["should_limit"]:
        RATE_LIMIT_REJECTIONS.labels(limiter=limiter).inc()
        return RateDecision(allowed=False, retry_after=max(1, int(usage["time_left"])))
    return RateDecision(allowed=True)
