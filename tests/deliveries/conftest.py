"""Delivery test fixtures: a real HTTP receiver and a real Celery worker for each mode.

Embedded default: celery.contrib.testing's worker thread on the in-memory broker. Production
mode (REDIS_URL set): a `celery -A missioncontrol worker` subprocess on Redis and the pytest
test database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from deliveries.models import Delivery
from tests.conftest import USING_REDIS
from tests.deliveries.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
# The worker subprocess and this process must agree on these, so both read them from here.
DELIVERY_ENV = {
    "DELIVERY_ALLOWED_HOSTS": "127.0.0.1",
    "DELIVERY_RETRY_SCHEDULE": "1,1,1",
    "DELIVERY_TIMEOUT_SECONDS": "1.5",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def fast_delivery_settings(settings):
    settings.DELIVERY_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.DELIVERY_RETRY_SCHEDULE = [1, 1, 1]
    settings.DELIVERY_TIMEOUT_SECONDS = 1.5
    return settings


def worker_env() -> dict[str, str]:
    """The pytest test database (not the configured one) for a worker subprocess."""
    env = {**os.environ, **DELIVERY_ENV, "CELERY_EMBEDDED_WORKER": "0", "DEBUG": "1"}
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env["DATABASE_URL"] = f"{base}/{connection.settings_dict['NAME']}"
    return env


class WorkerProcess:
    def __init__(
        self, log_path: Path, *, queues: str = "", include: str = "", env: dict | None = None
    ) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        # -Q (empty: every queue) and -I (extra task modules) as compose's workers are started.
        self.options = [*(["-Q", queues] if queues else []), *(["-I", include] if include else [])]
        self.extra_env = env or {}

    def start(self) -> WorkerProcess:
        self.log = open(self.log_path, "ab")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "missioncontrol",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=WARNING",
                f"--hostname=deliveries-test-{time.monotonic_ns()}@%h",
                *self.options,
            ],
            cwd=ROOT,
            env={**worker_env(), **self.extra_env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL, no warm shutdown: the task in flight is neither acked nor finished."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def start_worker_process(tmp_path) -> Iterator[Callable[[], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        worker = WorkerProcess(tmp_path / "worker.log").start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="module")
def _module_worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[object]:
    """One worker per test module: starting and stopping one takes seconds.

    It starts on empty queues: tasks that earlier tests on this process enqueued with no worker
    running (a delivery's on-commit enqueue, a log consumer's catch-up) are not this module's,
    and a backlog of them ran first, against the next test's database, and delayed its delivery
    past its deadline (CI5)."""
    from missioncontrol.celery import app

    app.control.purge()
    if USING_REDIS:
        with django_db_blocker.unblock():
            worker = WorkerProcess(tmp_path_factory.mktemp("worker") / "worker.log").start()
        yield worker
        worker.stop()
        return
    from celery.contrib.testing.worker import start_worker

    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10
    ) as worker:
        yield worker


@pytest.fixture
def celery_worker(transactional_db, fast_delivery_settings, _module_worker) -> Iterator[object]:
    """A real worker: a subprocess on Redis in production mode, a thread on memory:// otherwise."""
    if connection.vendor == "sqlite":
        # The test database is SQLite's shared-cache memory database, where a reader locks the
        # table against the worker thread's writes; the test only polls, so it reads uncommitted.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")
    yield _module_worker
    if not USING_REDIS:
        _wait_until_the_worker_thread_is_idle()


def _wait_until_the_worker_thread_is_idle(timeout: float = 15.0) -> None:
    """The module's worker thread shares this process and its SQLite database: a task it still
    runs after the test (following the activity log after the test's last commit) would hold a
    table while the test's data is flushed and the next test's is written."""
    from celery.worker import state

    deadline = time.monotonic() + timeout
    while (state.active_requests or state.reserved_requests) and time.monotonic() < deadline:
        time.sleep(0.05)


def wait_for_status(delivery: Delivery, statuses: set[str], timeout: float = 20) -> Delivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.status in statuses and delivery.locked_until is None:
            return delivery
        time.sleep(0.1)
    raise AssertionError(
        f"delivery {delivery.pk} is {delivery.status} after {timeout}s "
        f"(attempts {delivery.attempt_count}, now {timezone.now():%H:%M:%S})"
    )
