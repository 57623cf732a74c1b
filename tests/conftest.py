"""Shared fixtures: three users (owner, teammate, outsider), an organization, a board, clients.

`user` is an admin of `organization`, `teammate` an operator there, `viewer` a viewer, and
`outsider` an admin of another organization who must never see anything of the first.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from core.models import Role
from tests.ci_plugin import OTHER_BACKEND
from tests.factories import (
    BoardFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

USING_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
USING_REDIS = bool(os.environ.get("REDIS_URL"))

# A skip that names OTHER_BACKEND is the only kind CI's PostgreSQL run accepts (REQUIRE_SERVICES=1,
# tests/ci_plugin.py): any other skip there fails the run.
requires_postgres = pytest.mark.skipif(not USING_POSTGRES, reason="needs DATABASE_URL=postgres://…")
requires_redis = pytest.mark.skipif(not USING_REDIS, reason="needs REDIS_URL=redis://…")
requires_sqlite = pytest.mark.skipif(
    USING_POSTGRES, reason=f"{OTHER_BACKEND} the embedded SQLite database only"
)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """SQLite: each worker's test database is a file in memory (/dev/shm), in WAL mode, not
    Django's in-memory shared-cache database. In shared-cache mode a second connection (the
    in-process server's, the embedded worker's) that meets a writer gets "database table is
    locked" at once, with no busy timeout: a browser page refreshing while an agent posted, or
    the worker's alert evaluation beside a delivery, failed so in CI. A WAL file lets readers
    run beside the writer and makes writers wait their turn (the settings' 20 s timeout), as the
    embedded default does in production."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        yield
        return
    directory = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = directory / f"missioncontrol-test-{os.getpid()}-{worker}.sqlite3"
    database.setdefault("TEST", {})["NAME"] = str(path)
    yield
    for leftover in directory.glob(f"{path.name}*"):  # the database, its -wal and -shm files
        leftover.unlink(missing_ok=True)


@pytest.fixture(autouse=True, scope="session")
def _transactional_tests_empty_tables_with_delete():
    """Each transactional test's teardown deletes the rows instead of Django's flush (TRUNCATE and
    post_migrate): 10 ms instead of about a second on PostgreSQL (tests/fast_flush.py)."""
    from tests import fast_flush

    fast_flush.install()


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """PBKDF2's deliberate slowness is for attackers, not for the factories of every test."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Rate-limit windows and cached state must not leak from one test into the next."""
    from infra import ratelimits

    ratelimits.reset_backend_state()
    for alias in ("default", "ratelimit"):
        caches[alias].clear()
    yield
    ratelimits.reset_backend_state()


@pytest.fixture(autouse=True)
def _rate_windows_that_do_not_roll_over(monkeypatch):
    """Rate-limit windows are fixed, not sliding, and each key's window ends at its own second of
    the period: a burst that straddles that second gets a fresh count halfway (an MCP lockout test
    failed so in CI). The limiter's clock stands still in every test (only django_ratelimit's view
    of time; everything else keeps the real clock)."""
    from types import SimpleNamespace

    import django_ratelimit.core

    now = time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: now))


@pytest.fixture(autouse=True)
def _no_realtime_state_from_an_earlier_test():
    """An in-process server of an earlier test (tests/e2e) binds realtime to its event loop; if
    that loop outlives its test (a slow shutdown under load), later tests' publishes would be
    handed to it instead of to their own loop, and their sockets would wait for nothing."""
    from channels.layers import channel_layers

    from infra import realtime

    # A fresh channel layer per test, too: channels-redis remembers the event loop of a receive
    # still pending when a test's server loop went away, and refuses every later loop ("Two
    # event loops are trying to receive()"); the in-memory layer keeps queues of dead loops.
    channel_layers.backends.clear()
    realtime._server_loop = None
    yield
    realtime._server_loop = None
    channel_layers.backends.clear()


@pytest.fixture
def organization(db):
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(name="Globex", slug="globex")


@pytest.fixture
def user(organization):
    member = UserFactory(username="owner")
    MembershipFactory(organization=organization, user=member, role=Role.ADMIN)
    return member


@pytest.fixture
def teammate(organization):
    member = UserFactory(username="teammate")
    MembershipFactory(organization=organization, user=member, role=Role.OPERATOR)
    return member


@pytest.fixture
def viewer(organization):
    member = UserFactory(username="viewer")
    MembershipFactory(organization=organization, user=member, role=Role.VIEWER)
    return member


@pytest.fixture
def outsider(other_organization):
    stranger = UserFactory(username="outsider")
    MembershipFactory(organization=other_organization, user=stranger, role=Role.ADMIN)
    return stranger


@pytest.fixture
def board(organization, user):
    return BoardFactory(organization=organization, name="Launch", slug="launch", created_by=user)


@pytest.fixture
def api_client(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def eager_tasks():
    """Celery tasks run in the caller, for tests about something else (alert emails, evaluations)."""
    from missioncontrol.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
