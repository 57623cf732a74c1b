"""Liveness (/healthz, no I/O) and readiness (/readyz, every dependency, each bounded in time)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync

# The project's Celery app (missioncontrol/celery.py) as Celery's current app (its Django fix-up
# makes it the default of every thread): the project package is the top, nothing below imports it.
from celery import current_app as celery_app
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# Shared by all readiness probes; a check stuck on a dead socket occupies one thread until its
# own socket timeout, never the request.
_probe_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


def check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


def check_cache() -> None:
    key = f"mc:readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")

    async def roundtrip() -> None:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz.ping"})
        message = await layer.receive(channel)
        if message.get("type") != "readyz.ping":
            raise RuntimeError("channel layer returned a different message")

    async_to_sync(roundtrip)()


def check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.HEALTH_CHECK_TIMEOUT_SECONDS)


@functools.cache
def _import_probe_modules() -> None:
    """Import what the probes import lazily, once, on one thread: run concurrently in a fresh
    process, those first imports can collide on Python's import locks (_DeadlockError) and a
    healthy dependency would be reported down."""
    import importlib

    for module in ("kombu.transport.redis", "channels_redis.core", "django_redis.cache"):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


def readiness_checks() -> dict[str, Callable[[], None]]:
    _import_probe_modules()
    checks: dict[str, Callable[[], None]] = {
        "database": check_database,
        "cache": check_cache,
        "channel_layer": check_channel_layer,
    }
    if settings.REDIS_URL:
        checks["broker"] = check_broker
    return checks


# What apps above this package add to /readyz (settings.READINESS_REPORTS; gateways: each
# gateway's state). A report is shown, never failed on: a gateway that is down is news for people
# and alerts, but taking every web process out of the load balancer for it would turn one outage
# into a total one.
@functools.cache
def _report(path: str) -> Callable[[], Any]:
    return import_string(path)


def readiness_reports() -> dict[str, Callable[[], Any]]:
    """settings.READINESS_REPORTS as {name: report}, in the list's order."""
    return {name: _report(path) for name, path in settings.READINESS_REPORTS}


def run_reports(timeout: float) -> dict[str, Any]:
    futures = {name: _probe_pool.submit(report) for name, report in readiness_reports().items()}
    results: dict[str, Any] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            results[name] = {"status": "error", "error": f"timed out after {timeout:g}s"}
        except Exception as exc:
            logger.warning("readiness report %s failed: %s", name, type(exc).__name__)
            results[name] = {"status": "error", "error": type(exc).__name__}
    return results


def run_checks(checks: dict[str, Callable[[], None]], timeout: float) -> dict[str, dict]:
    futures = {name: _probe_pool.submit(check) for name, check in checks.items()}
    results: dict[str, dict] = {}
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
            results[name] = {"status": "ok"}
        except concurrent.futures.TimeoutError:
            results[name] = {"status": "error", "error": f"timed out after {timeout:g}s"}
        except Exception as exc:
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = {"status": "error", "error": type(exc).__name__}
    return results


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results = run_checks(readiness_checks(), settings.HEALTH_CHECK_TIMEOUT_SECONDS)
    failed = sorted(name for name, result in results.items() if result["status"] != "ok")
    body: dict[str, Any] = {"status": "ok", "checks": results}
    if settings.READINESS_REPORTS:
        body["reports"] = run_reports(settings.HEALTH_CHECK_TIMEOUT_SECONDS)
    if failed:
        body["status"] = "unavailable"
        body["error"] = {"code": "not_ready", "message": f"failed: {', '.join(failed)}"}
        return JsonResponse(body, status=503)
    return JsonResponse(body)
