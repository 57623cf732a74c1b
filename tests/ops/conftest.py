"""A deployment that doctor should call healthy, as settings overrides on the test process."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from ops import doctor
from ops.models import Backup, BackupStatus
from ops.tasks import BEAT_TICK_CACHE_KEY

STRONG_SECRET_KEY = "Xq7-vP2rT9sLw4nB8mZ1cY6dF3hJ0kQ5aE-uR7tG2wS9xV4bN1mC8pL3oK6iH0jD"


@pytest.fixture(autouse=True)
def _skip_schema_generation_check(monkeypatch):
    """drf-spectacular's deploy check builds the whole API schema (~1 s per doctor run); its
    warnings are folded into one non-failing warning (tested once, explicitly)."""
    from drf_spectacular.settings import spectacular_settings

    monkeypatch.setattr(spectacular_settings, "ENABLE_DJANGO_DEPLOY_CHECK", False)


@pytest.fixture
def healthy(settings, tmp_path, monkeypatch, db):
    """Production-safe settings, a fresh backup, a recent beat tick and a worker that answers."""
    settings.DEBUG = False
    settings.SECRET_KEY = STRONG_SECRET_KEY
    settings.ALLOWED_HOSTS = ["mc.example.com", "testserver"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.BACKUP_DIR = tmp_path / "backups"
    now = timezone.now()
    Backup.objects.create(
        started_at=now,
        finished_at=now,
        status=BackupStatus.SUCCEEDED,
        engine="sqlite",
        file_name="missioncontrol-x.sqlite3",
        size_bytes=1,
        sha256="0" * 64,
    )
    cache.set(BEAT_TICK_CACHE_KEY, now.isoformat(), timeout=None)
    monkeypatch.setattr(doctor, "ping_workers", lambda timeout=1.0: ["celery@worker-1"])
    # Set by the browser tests' fixtures (Playwright's sync API in a test process); a
    # deployment must not have it, and check --deploy says so (async.E001).
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    return settings
