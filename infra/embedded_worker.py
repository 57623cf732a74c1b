"""The embedded default's Celery worker and beat: threads inside the web process.

With no REDIS_URL the broker is kombu's in-memory transport, which only a consumer in the same
process can read. So the web process runs a real Celery WorkController (thread pool) and an
embedded beat scheduler in daemon threads: retries, countdowns, periodic tasks and live pushes
from tasks (which need the in-memory channel layer of this process) all behave as they do with
separate processes on Redis.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery
from celery.beat import EmbeddedService
from celery.worker import WorkController

logger = logging.getLogger(__name__)

_started = False
_lock = threading.Lock()


def start_embedded_worker(app: Celery, *, concurrency: int = 4, with_beat: bool = True) -> bool:
    """Start the in-process worker (and beat) of `app` once per process; later calls do nothing.

    The WorkController is built inside its own thread: its start-up signals (Django's fixup
    closes database connections) must not run in the caller's thread, which may hold an
    event loop or a test transaction.
    """
    global _started
    with _lock:
        if _started:
            return False
        _started = True
    ready = threading.Event()

    def run_worker() -> None:
        worker = WorkController(
            app=app,
            pool="threads",
            concurrency=concurrency,
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            hostname=f"embedded@{threading.get_native_id()}",
            loglevel="WARNING",
        )
        ready.set()
        worker.start()

    threading.Thread(target=run_worker, name="celery-embedded-worker", daemon=True).start()
    ready.wait(10)
    if with_beat:
        beat = EmbeddedService(app, thread=True)
        beat.daemon = True
        beat.start()
    logger.info("embedded Celery worker started (concurrency=%s, beat=%s)", concurrency, with_beat)
    return True
