"""How the suite shares the machine and its services: `make test` loads this first, with
`-p tests.ci_plugin` (a plugin, not a conftest, so that it runs before Django reads settings).

- **Workers** (pytest-xdist, `make test` runs two): pytest-django gives each worker its own
  test database; this module gives each its own Redis database, before Django reads REDIS_URL,
  so one worker's cache clear or rate-limit window never touches the other's.
- **Groups** (`--dist loadgroup`): the tests of a module that share an expensive module-scoped
  thing (a browser, an in-process server, a production layout, a Celery worker) are kept on one
  worker in one block, so it is started once rather than once on each worker. Other tests are
  handed out one by one. A test marked `xdist_group(name)` joins that group instead.
- **No silent skips**: with `REQUIRE_SERVICES=1` (CI's PostgreSQL run) the session refuses to
  start unless PostgreSQL and Redis answer at the configured URLs, and a test that skips for any
  reason but "this runs on the other backend" fails instead.
"""

from __future__ import annotations

import os
import re

import pytest

# Redis databases 10..14 belong to test workers (0 is the default, 8 the benchmarks', 15 a
# test's fallback; the rest are left to people and their tools).
_FIRST_WORKER_REDIS_DB = 10
# The only skip reason CI's PostgreSQL run accepts (tests/conftest.py's `requires_sqlite`).
OTHER_BACKEND = "runs on the other backend:"


def _worker_index() -> int | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else None


def _give_this_worker_its_own_redis_db() -> None:
    index = _worker_index()
    url = os.environ.get("REDIS_URL", "")
    if index is None or not url:
        return
    db = _FIRST_WORKER_REDIS_DB + index
    if db > 14:
        raise pytest.UsageError("at most 5 test workers share one Redis (databases 10-14)")
    # redis://host:port/N (or no path): the database is the path's last segment.
    match = re.match(r"^(rediss?://[^/?#]+)(/\d*)?(.*)$", url)
    if match is None:
        raise pytest.UsageError(f"REDIS_URL is not a redis:// URL: {url!r}")
    os.environ["REDIS_URL"] = f"{match.group(1)}/{db}{match.group(3)}"


# Module import time: before pytest-django's early setup reads the settings.
_give_this_worker_its_own_redis_db()


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "") not in ("", "0")


def _check_services() -> None:
    """Fail the whole run at once when a promised service is not there (a mistyped URL)."""
    problems = []
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        problems.append(f"DATABASE_URL is not a postgres:// URL ({database_url or 'unset'})")
    else:
        import psycopg

        try:
            psycopg.connect(database_url, connect_timeout=5).close()
        except psycopg.Error as exc:
            problems.append(f"PostgreSQL at DATABASE_URL does not answer: {exc}".strip())
    if not redis_url.startswith(("redis://", "rediss://")):
        problems.append(f"REDIS_URL is not a redis:// URL ({redis_url or 'unset'})")
    else:
        import redis

        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
        except redis.RedisError as exc:
            problems.append(f"Redis at REDIS_URL does not answer: {exc}")
    if problems:
        raise pytest.UsageError("REQUIRE_SERVICES=1, but:\n  " + "\n  ".join(problems))


def pytest_configure(config: pytest.Config) -> None:
    if services_required():
        _check_services()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: xdist's own hook turns the xdist_group marks into scheduling scopes after this.
    for item in items:
        if any(True for _ in item.iter_markers("xdist_group")):
            continue
        group = shared_fixture_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


# (pytest reads only pytest_* names; specname makes this a second implementation of the hook.)
@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_long_modules_first(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Within each of pytest-django's classes (database tests, then transactional ones, then the
    rest), modules with a test marked `runs_long` go first, whole and in order, so the scheduler
    hands them out while short tests can still fill the other worker; last, they would be the
    run's tail. The classes keep their order: a transactional test's flush empties the rows
    migrations seeded (model prices), which a later plain database test may read.
    trylast: after pytest-django's own sort, which this refines."""
    long_modules = {_module_of(item) for item in items if item.get_closest_marker("runs_long")}
    items.sort(key=lambda item: (_django_class(item), _module_of(item) not in long_modules))


def _module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _django_class(item: pytest.Item) -> int:
    """pytest-django's order: 0 database tests, 1 transactional ones, 2 tests without the database."""
    marker = item.get_closest_marker("django_db")
    fixtures = set(getattr(item, "fixturenames", ()))
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        fixtures & {"transactional_db", "live_server"}
    )
    if transactional:
        return 1
    return 0 if marker or "db" in fixtures else 2


def shared_fixture_group(item: pytest.Item) -> str | None:
    """The group of a test that uses a wider-scoped fixture the tests define (a browser, a
    server, a worker, a gateway): its module's tests, or for a session-scoped one every test
    that uses it, so the thing is started once rather than once on each worker. Fixtures of
    plugins (pytest-django's database set-up) and autouse ones apply to every test: not counted."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    shared = None
    for name in info.names_closure:
        definitions = info.name2fixturedefs.get(name)
        if not definitions:
            continue
        fixture = definitions[-1]
        if not fixture.baseid.startswith("tests/") or getattr(fixture, "_autouse", False):
            continue
        if fixture.scope == "session":
            return f"session fixture {name}"
        if fixture.scope in ("module", "package"):
            shared = _module_of(item)
    return shared


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and services_required()) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if OTHER_BACKEND in reason:
        return
    report.outcome = "failed"
    report.longrepr = f"REQUIRE_SERVICES=1 and this test skipped: {reason}"
