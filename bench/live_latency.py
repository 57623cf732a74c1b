"""Live latency: from an activity row being written to its receipt on a websocket.

Two shapes, both real uvicorn subprocesses on 127.0.0.1:
- embedded: one process, SQLite (a temporary file), in-memory channel layer, embedded worker;
  the write and the socket are on the same process (the only way the in-memory layer works);
- production: two processes on Postgres + Redis (the bench database, DEBUG=0); the write goes
  to process A, the socket is held by process B, so every event crosses the Redis layer.

Each of EVENTS tasks is created by a session-authenticated `POST /api/v1/tasks/`, one at a time
(the figure is latency, not throughput). The clock starts at the event's `created_at` (set when
the row is inserted, inside the transaction, so the figure is an upper bound of commit →
receipt) and stops when the socket client has parsed the event. Same machine, same clock.

    python -m bench.live_latency [--events 200] [--only embedded|production]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from bench.harness import (
    PYTHON,
    ROOT,
    Server,
    machine,
    production_env,
    reset_database,
)

EVENT_TIMEOUT_SECONDS = 5.0


def embedded_env(sqlite_path: Path) -> dict[str, str]:
    env = production_env()
    for name in ("DATABASE_URL", "REDIS_URL", "RATE_LIMIT_REDIS_URL"):
        env.pop(name, None)
    env.update(RATE_LIMIT_BACKEND="memory", SQLITE_PATH=str(sqlite_path), CELERY_EMBEDDED_WORKER="1")
    return env


def run_python(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run([PYTHON, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def seed_base(env: dict[str, str]) -> dict:
    return json.loads(run_python(["-m", "bench.seed", "base"], env).strip().splitlines()[-1])


async def measure(write_url: str, socket_url: str, seeded: dict, events: int) -> list[float]:
    csrf = secrets.token_hex(16)
    cookie = f"sessionid={seeded['session_key']}; csrftoken={csrf}"
    origin = socket_url.replace("ws://", "http://").split("/ws/")[0]
    arrivals: dict[int, float] = {}
    latencies: list[float] = []
    async with connect(
        f"{socket_url}/ws/boards/{seeded['board_id']}/",
        additional_headers={"Origin": origin, "Cookie": f"sessionid={seeded['session_key']}"},
    ) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"

        async def reader() -> None:
            async for frame in ws:
                received = time.time()
                message = json.loads(frame)
                if message["type"] == "event" and message["event"]["verb"] == "task.created":
                    event = message["event"]
                    created = datetime.fromisoformat(event["created_at"]).timestamp()
                    arrivals[int(event["target"]["id"])] = received
                    latencies.append(received - created)

        reading = asyncio.create_task(reader())
        headers = {"Cookie": cookie, "X-CSRFToken": csrf}
        async with httpx.AsyncClient(timeout=10) as client:
            for n in range(events):
                response = await client.post(
                    f"{write_url}/api/v1/tasks/",
                    json={"board": seeded["board_id"], "title": f"latency {n}"},
                    headers=headers,
                )
                if response.status_code != 201:
                    raise RuntimeError(f"task create failed: {response.status_code} {response.text[:300]}")
                task_id = response.json()["id"]
                deadline = time.monotonic() + EVENT_TIMEOUT_SECONDS
                while task_id not in arrivals:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"event for task {task_id} never arrived")
                    await asyncio.sleep(0.001)
        reading.cancel()
    return latencies


def summary(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "events": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def embedded(events: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-live-") as directory:
        env = embedded_env(Path(directory) / "live.sqlite3")
        run_python(["manage.py", "migrate", "--noinput", "-v", "0"], env)
        seeded = seed_base(env)
        with Server("missioncontrol.asgi:application", env=env, workers=1) as server:
            socket_url = server.url.replace("http://", "ws://")
            return summary(asyncio.run(measure(server.url, socket_url, seeded, events)))


def production(events: int) -> dict:
    reset_database()
    seeded = seed_base(production_env())
    with (
        Server("missioncontrol.asgi:application", workers=1) as writer,
        Server("missioncontrol.asgi:application", workers=1) as holder,
    ):
        socket_url = holder.url.replace("http://", "ws://")
        return summary(asyncio.run(measure(writer.url, socket_url, seeded, events)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--only", choices=["embedded", "production"])
    args = parser.parse_args()
    events = max(1, min(args.events, 5000))
    results: dict = {"machine": machine(), "events_per_mode": events}
    if args.only in (None, "embedded"):
        results["embedded"] = embedded(events)
    if args.only in (None, "production"):
        results["production"] = production(events)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
