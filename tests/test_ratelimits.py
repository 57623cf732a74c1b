"""The shared rate limiter: counts at the boundary, Retry-After, and failing open fast."""

import logging
import os
import time

import pytest
from django.test import override_settings

from infra import ratelimits

DEAD_RATELIMIT_CACHE = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.3, "SOCKET_TIMEOUT": 0.3},
}


def test_it_allows_up_to_the_limit_and_refuses_the_next_with_retry_after():
    decisions = [ratelimits.hit("test", "k", "3/60s") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 1 <= decisions[-1].retry_after <= 60


def test_keys_are_counted_separately():
    for _ in range(3):
        ratelimits.hit("test", "a", "3/60s")
    assert ratelimits.hit("test", "b", "3/60s").allowed


@pytest.mark.parametrize("outage_requests", [20])
def test_a_dead_backend_fails_open_with_one_warning_and_skips_the_backend(settings, caplog, outage_requests):
    dead = override_settings(CACHES={**settings.CACHES, "ratelimit": DEAD_RATELIMIT_CACHE})
    with dead, caplog.at_level(logging.WARNING, logger="infra.ratelimits"):
        started = time.monotonic()
        decisions = [ratelimits.hit("test", "k", "1/60s") for _ in range(outage_requests)]
        elapsed = time.monotonic() - started
    assert all(d.allowed for d in decisions)
    assert len([r for r in caplog.records if "failing open" in r.getMessage()]) == 1
    # One request pays the socket timeout; the rest skip the dead backend.
    assert elapsed < 2.0


def test_the_backend_is_tried_again_after_the_retry_window(settings, monkeypatch):
    with override_settings(CACHES={**settings.CACHES, "ratelimit": DEAD_RATELIMIT_CACHE}):
        ratelimits.hit("test", "k", "1/60s")
    assert ratelimits._backend_down_until > time.monotonic()
    monkeypatch.setattr(ratelimits, "_backend_down_until", 0.0)
    assert ratelimits.hit("test", "k", "1/60s").allowed
    assert not ratelimits.hit("test", "k", "1/60s").allowed, "the healthy backend counts again"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL=redis://…")
def test_the_one_round_trip_redis_path_counts_like_django_ratelimit(settings):
    from django_ratelimit.core import get_usage

    redis_cache = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": os.environ["REDIS_URL"]}
    with override_settings(CACHES={**settings.CACHES, "ratelimit": redis_cache}):
        key = f"k-{time.time_ns()}"
        decisions = [ratelimits.hit("test", key, "3/60s") for _ in range(4)]
        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert 1 <= decisions[-1].retry_after <= 60
        peeked = ratelimits.usage("test", key, "3/60s", increment=False)
        same_keys = get_usage(None, group="mc:test", key=lambda _g, _r: key, rate="3/60s", increment=False)
        assert peeked["count"] == same_keys["count"] == 4
