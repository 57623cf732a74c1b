"""RATE_LIMIT_BACKEND=redis: limits shared by every process; a clear start-up check when Redis is down."""

from __future__ import annotations

import os

import pytest
from django.core.cache import caches
from django.test import override_settings
from rest_framework.test import APIClient

from agents.apps import rate_limit_backend_check
from tests.conftest import requires_redis

pytestmark = pytest.mark.django_db

ME = "/api/v1/agent/me"
BAD = "mca_0123456789abcdef_" + "y" * 43


def _redis_caches(url: str) -> dict:
    return {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t-default"},
        "ratelimit": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.3, "SOCKET_TIMEOUT": 0.3},
        },
    }


@requires_redis
def test_failed_auth_counts_are_shared_through_redis():
    """Two 'processes' (separate cache clients) draw from one budget of 3 failures."""
    with override_settings(
        CACHES=_redis_caches(os.environ["REDIS_URL"]), RATE_LIMIT_BACKEND="redis", AGENT_AUTH_RATE="3/60s"
    ):
        caches["ratelimit"].clear()
        client = APIClient(REMOTE_ADDR="198.51.100.77")
        try:
            assert [
                client.get(ME, **{"HTTP_AUTHORIZATION": f"Bearer {BAD}"}).status_code for _ in range(2)
            ] == [
                401,
                401,
            ]
            # A fresh client with no local state, as in another process.
            caches._connections.ratelimit = caches.create_connection("ratelimit")
            third = client.get(ME, HTTP_X_AGENT_TOKEN=BAD)
            fourth = client.get(ME, HTTP_X_AGENT_TOKEN=BAD)
            assert (third.status_code, fourth.status_code) == (401, 429)
        finally:
            caches["ratelimit"].clear()


def test_the_start_up_check_is_silent_with_the_memory_backend():
    with override_settings(RATE_LIMIT_BACKEND="memory"):
        assert rate_limit_backend_check() == []


def test_the_start_up_check_warns_clearly_when_redis_is_unreachable():
    with override_settings(RATE_LIMIT_BACKEND="redis", CACHES=_redis_caches("redis://127.0.0.1:1/0")):
        messages = rate_limit_backend_check()
    assert [m.id for m in messages] == ["agents.W001"]
    assert "unreachable" in messages[0].msg and "fail open" in messages[0].msg


@requires_redis
def test_the_start_up_check_passes_when_redis_answers():
    with override_settings(RATE_LIMIT_BACKEND="redis", CACHES=_redis_caches(os.environ["REDIS_URL"])):
        assert rate_limit_backend_check() == []
