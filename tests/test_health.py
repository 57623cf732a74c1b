"""Liveness and readiness."""

import pytest
from django.test import override_settings

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_check_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert {"database", "cache", "channel_layer"} <= set(body["checks"])
    assert all(check["status"] == "ok" for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_is_503_naming_a_dead_cache(client, settings):
    dead_cache = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": DEAD_REDIS,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
    with override_settings(CACHES={**settings.CACHES, "default": dead_cache}):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["cache"]["status"] == "error"
    assert "cache" in body["error"]["message"]
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_readyz_is_503_naming_a_dead_broker(client, settings):
    from missioncontrol.celery import app

    settings.REDIS_URL = DEAD_REDIS  # readiness checks the broker whenever Redis is configured
    original = app.conf.broker_url
    app.conf.broker_url = DEAD_REDIS
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "error"


@pytest.mark.django_db
def test_readyz_bounds_a_hanging_check(client, settings, monkeypatch):
    import threading

    from infra import health

    release = threading.Event()
    monkeypatch.setattr(health, "check_cache", lambda: release.wait(10))
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3
    try:
        response = client.get("/readyz")
    finally:
        release.set()
    assert response.status_code == 503
    assert "timed out" in response.json()["checks"]["cache"]["error"]


def test_favicon_ico_redirects_to_the_svg_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
