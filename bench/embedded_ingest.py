"""The embedded default under webhook load: `make run`'s one uvicorn process (SQLite in WAL mode,
in-memory layers, the Celery worker and every log consumer in the same process), signed 1 KiB
webhooks from 64 connections. Ingests per second, latency p50/p99, timeouts, and the CPU of the
one process per ingest (#28's target: >= 150/s, p99 <= 1 s).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench import harness
from bench.live_latency import embedded_env, run_python, seed_base

CONNECTIONS = 64


def run(quick: bool) -> dict:
    from bench.run_all import signed_body

    seconds = harness.sized(quick, full=30, quick_size=10, smoke_size=1)
    with tempfile.TemporaryDirectory(prefix="bench-embedded-") as directory:
        env = embedded_env(Path(directory) / "embedded.sqlite3")
        run_python(["manage.py", "migrate", "--noinput", "-v", "0"], env)
        seeded = seed_base(env)
        body, signature = signed_body(seeded["secret"])
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        script = harness.wrk_script("POST", body, headers)
        path = f"/api/v1/boards/{seeded['board_id']}/webhooks/{seeded['webhook_id']}"
        with harness.Server(harness.ASGI_APP, env=env, workers=1, kind="uvicorn") as server:
            result = harness.measured(
                [server],
                lambda: harness.run_wrk(
                    f"{server.url}{path}", script, connections=CONNECTIONS, seconds=seconds
                ),
                database=None,
            )
    return {
        "server": "python -m missioncontrol.serving --workers 1 (make run), SQLite, inline consumers",
        "connections": CONNECTIONS,
        "seconds": seconds,
        "ingest": result,
    }
