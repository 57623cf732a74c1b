"""Log consumers under sustained ingest: signed webhooks offered at a fixed rate (100/s for 60 s)
through the production layout, with a Celery worker following the log (activity.following), while
the bench samples every consumer's lag twice a second: the age of the oldest committed event
its cursor has not passed (0 when caught up; what `mc_log_consumer_lag_seconds` shows). Also
gives the live figures of the same phase (commit -> board socket, events lost).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time

from bench import harness
from bench.live_latency import summary
from bench.live_webhooks import run_phase

SAMPLE_SECONDS = 0.5
# The age of the oldest event each cursor has not passed yet, 0 when none is waiting.
LAG_SQL = """
SELECT c.name, COALESCE(EXTRACT(EPOCH FROM (now() - e.created_at)), 0)
  FROM activity_logconsumercursor c
  LEFT JOIN LATERAL (
      SELECT created_at FROM boards_activityevent
       WHERE position > c.position ORDER BY position LIMIT 1
  ) e ON true
"""


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    """The worker of compose.yml's deliveries queue, where follow_activity_log runs."""
    command = [harness.PYTHON, "-m", "celery", "-A", "missioncontrol", "worker"]
    command += ["-Q", "deliveries,maintenance", "--pool=solo", "--without-heartbeat", "--without-gossip"]
    return subprocess.Popen(
        [*command, "--without-mingle", "--loglevel=WARNING"],
        cwd=harness.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


class LagSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: dict[str, list[float]] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        import psycopg

        url = harness.PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{harness.BENCH_DATABASE}"
        with psycopg.connect(url, autocommit=True) as conn:
            while not self.stopping.wait(SAMPLE_SECONDS):
                for name, seconds in conn.execute(LAG_SQL):
                    self.samples.setdefault(name, []).append(float(seconds))


def run(base: dict, quick: bool) -> dict:
    seconds = harness.sized(quick, full=60, quick_size=10, smoke_size=1)
    rate = harness.sized(quick, full=100, quick_size=100, smoke_size=10)
    env = harness.production_env()
    worker = start_worker(env)
    sampler = LagSampler()
    try:
        with harness.Layout(env=env) as layout:
            sampler.start()
            started = time.monotonic()
            live = asyncio.run(run_phase(layout.url, base, rate=rate, seconds=seconds))
            # Then until every consumer has caught up (or 30 s): the tail of the lag.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                time.sleep(SAMPLE_SECONDS)
                latest = {name: values[-1] for name, values in sampler.samples.items() if values}
                if latest and max(latest.values()) == 0:
                    break
            caught_up_after = round(time.monotonic() - started, 1)
    finally:
        sampler.stopping.set()
        if sampler.ident is not None:
            sampler.join(5)
        harness.stop_process(worker)
    consumers = {name: summary(values) for name, values in sorted(sampler.samples.items()) if values}
    worst_p99 = max((c["p99_ms"] for c in consumers.values()), default=None)
    return {
        "rate": rate,
        "seconds": seconds,
        "worker": "celery -Q deliveries,maintenance --pool=solo (one process)",
        "live": live,
        "consumers": consumers,
        "worst_p99_ms": worst_p99,
        "all_caught_up_after_s": caught_up_after,
        "cpus": os.cpu_count(),
    }
