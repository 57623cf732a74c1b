"""Outbound deliveries: events fanned out to a subscription, sent by real Celery worker
processes on Redis to a local receiver, measured from the commit to the receiver's last 2xx.

Also the recovery drain: the receiver answers 503 while a backlog builds up, then recovers;
the figure is the time from recovery until every delivery has been received once.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from bench import harness


@dataclass
class Receiver:
    """A minimal HTTP/1.1 server on 127.0.0.1 counting each webhook-id once."""

    port: int = field(default_factory=harness.free_port)
    failing: bool = False
    seen: dict[str, float] = field(default_factory=dict)
    requests: int = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests += 1
                if self.failing:
                    writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                else:
                    self.seen.setdefault(headers.get("webhook-id", ""), time.time())
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @contextmanager
    def running(self):
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
            ready.set()
            loop.run_forever()
            server.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        ready.wait(10)
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.seen) >= count:
                return True
            time.sleep(0.05)
        return False


def worker_env(receiver_port: int) -> dict[str, str]:
    return harness.production_env(
        DELIVERY_ALLOWED_HOSTS="127.0.0.1",
        DELIVERY_RETRY_SCHEDULE="1,1,1,1,1,1,1,1,1,1",
        DELIVERY_TIMEOUT_SECONDS="5",
    )


def start_celery(*args: str, env: dict[str, str]) -> subprocess.Popen:
    """`celery -A missioncontrol <args>` in its own session, quiet."""
    return subprocess.Popen(
        [str(harness.VENV_BIN / "celery"), "-A", "missioncontrol", *args, "--loglevel=WARNING"],
        cwd=harness.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@contextmanager
def celery_workers(count: int, env: dict[str, str], *, queue: str | None = None, concurrency: int = 1):
    """`count` prefork workers (on every queue, or only `queue`), stopped on exit."""
    queues = ["-Q", queue] if queue else []
    processes = [
        start_celery(
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            *queues,
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            f"--hostname={queue or 'bench'}{n}-{time.monotonic_ns()}@%h",
            env=env,
        )
        for n in range(count)
    ]
    time.sleep(4)  # workers connect to Redis and start consuming
    try:
        yield processes
    finally:
        for process in processes:
            harness.stop_process(process)


def emit_events(count: int, receiver_port: int) -> float:
    """Create `count` events in one transaction (each fans out to the subscription); return the
    commit time."""
    result = subprocess.run(
        [harness.PYTHON, "-m", "bench.seed", "events", str(count), f"http://127.0.0.1:{receiver_port}/hook"],
        cwd=harness.ROOT,
        env=worker_env(receiver_port),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"emitting events failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["committed_at"]


def throughput(worker_processes: int, count: int) -> dict:
    with Receiver().running() as receiver, celery_workers(worker_processes, worker_env(receiver.port)):
        committed_at = emit_events(count, receiver.port)
        complete = receiver.wait_for(count, timeout=120)
        last = max(receiver.seen.values()) if receiver.seen else committed_at
        elapsed = max(last - committed_at, 1e-6)
        return {
            "workers": worker_processes,
            "deliveries": count,
            "received": len(receiver.seen),
            "complete": complete,
            "seconds": round(elapsed, 2),
            "rate": round(len(receiver.seen) / elapsed, 1),
        }


def recovery_drain(count: int, outage_seconds: float) -> dict:
    with Receiver(failing=True).running() as receiver, celery_workers(2, worker_env(receiver.port)):
        emit_events(count, receiver.port)
        time.sleep(outage_seconds)
        failed_requests = receiver.requests
        receiver.failing = False
        recovered_at = time.time()
        complete = receiver.wait_for(count, timeout=120)
        last = max(receiver.seen.values()) if receiver.seen else recovered_at
        return {
            "deliveries": count,
            "outage_seconds": outage_seconds,
            "refused_during_outage": failed_requests,
            "received": len(receiver.seen),
            "complete": complete,
            "drain_seconds": round(last - recovered_at, 2),
        }


def run(quick: bool) -> dict:
    count = harness.sized(quick, full=1000, quick_size=100, smoke_size=10)
    results = {"one_worker": throughput(1, count)}
    if not harness.smoke():  # the same code with two processes: the smoke run proves it once
        results["two_workers"] = throughput(2, count)
    results["recovery"] = recovery_drain(
        *harness.sized(quick, full=(300, 5), quick_size=(50, 2), smoke_size=(10, 1))
    )
    return results
