"""Soak: the production layout on this machine at a steady mixed load for some minutes, then
what it kept and what it grew.

Layout (bench.harness.Layout): nginx -> gunicorn (3 processes, plain HTTP) + uvicorn (1 process,
websockets), i.e. 4 web processes; Celery workers per queue as compose.yml runs them
(deliveries, maintenance) plus beat; PostgreSQL and Redis on 127.0.0.1 (a database this script
drops and creates, BENCH_DATABASE_NAME, default mc_soak; BENCH_REDIS_URL, flushed). A local
HTTP receiver is subscribed to `webhook.received`, so every accepted webhook becomes one
outbound delivery.

Load, every loop bounded by the run's duration: signed webhooks at a fixed rate, agents that
each poll their tasks and heartbeat once per interval, websocket clients on the board counting
the `webhook.received` events. Then it checks: accepted (202) == stored payloads; deliveries
created == received by the receiver (duplicates counted: delivery is at-least-once); every
socket got every event; RSS of every server/worker process from warm-up to the end within a
bound. Writes bench/soak_results.json and bench/soak_report.md.

    python -m bench.soak [--minutes 10] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from bench import harness
from bench.outbound import Receiver, celery_workers, start_celery, worker_env

RESULTS = harness.BENCH_DIR / "soak_results.json"
REPORT = harness.BENCH_DIR / "soak_report.md"
EVENT_TYPE = "webhook.received"
WEB_PROCESSES = {"gunicorn": 3, "uvicorn": 1}
# compose.yml's workers; backups has no worker here: nothing schedules one in a soak.
WORKER_QUEUES = {"deliveries": 4, "maintenance": 1}
# A process may grow by this much from warm-up to the end (caches, pools filling) and pass.
RSS_GROWTH_MB = 50
RSS_GROWTH_PERCENT = 30
DRAIN_SECONDS = 120
BUCKET_SECONDS = 60
REQUEST_TIMEOUT_SECONDS = 60
MAX_WEBHOOKS_IN_FLIGHT = 48


class Recorder:
    """Client-side latency per request type per time bucket, and non-2xx/errors per type."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.latencies: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.failures: dict[str, int] = defaultdict(int)

    async def timed(self, kind: str, request) -> httpx.Response | None:
        began = time.monotonic()
        try:
            response = await request
        except httpx.HTTPError:
            self.failures[kind] += 1
            return None
        bucket = int((began - self.started) // BUCKET_SECONDS)
        self.latencies[kind][bucket].append(time.monotonic() - began)
        if response.status_code >= 300:
            self.failures[kind] += 1
        return response

    def table(self) -> dict[str, list[dict]]:
        return {
            kind: [
                dict(minute=bucket + 1, **percentiles(values)) for bucket, values in sorted(buckets.items())
            ]
            for kind, buckets in self.latencies.items()
        }


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    at = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)  # noqa: E731
    return {
        "requests": len(ordered),
        "p50_ms": at(0.50),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def send_webhooks(
    client, recorder, base: dict, *, rate: float, until: float, accepted: set[int]
) -> dict[str, int]:
    """Signed webhooks, one unique body each, due at `rate` per second until `until`. At most
    MAX_WEBHOOKS_IN_FLIGHT wait at once: one due while the server is that far behind is skipped
    and counted, so an overloaded machine gets a steady load, not a backlog that never ends."""
    url = f"/api/v1/boards/{base['board_id']}/webhooks/{base['webhook_id']}"
    in_flight: set[asyncio.Task] = set()

    async def send(n: int) -> None:
        body = json.dumps({"event": "soak", "n": n, "sent": time.time()}).encode()
        signature = "sha256=" + hmac.new(base["secret"].encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        response = await recorder.timed("webhook", client.post(url, content=body, headers=headers))
        if response is not None and response.status_code == 202:
            accepted.add(int(response.json()["id"]))

    started, due, sent = time.monotonic(), 0, 0
    while time.monotonic() < until:
        while due < (time.monotonic() - started) * rate:
            due += 1
            if len(in_flight) < MAX_WEBHOOKS_IN_FLIGHT:
                task = asyncio.create_task(send(sent))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                sent += 1
        await asyncio.sleep(0.005)
    await asyncio.gather(*in_flight)
    return {"due": due, "sent": sent, "skipped_server_behind": due - sent}


async def run_agent(client, recorder, token: str, *, offset: float, interval: float, until: float) -> None:
    """One agent: poll its tasks, then heartbeat, once per `interval`, first after `offset`."""
    headers = {"Authorization": f"Bearer {token}"}
    next_at = time.monotonic() + offset
    while next_at < until:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await recorder.timed("agent_poll", client.get("/api/v1/agent/tasks", headers=headers))
        await recorder.timed(
            "heartbeat",
            client.post("/api/v1/agent/heartbeat", json={"status_text": "soaking"}, headers=headers),
        )
        next_at += interval


async def watch_board(
    url: str, base: dict, received: set[int], ready: asyncio.Event, errors: list[str]
) -> None:
    """A websocket client on the board recording the payload id of every webhook.received; how
    it ended, if before the run did, goes to `errors`. The server's pings keep it alive (the
    client sends none: a starved load generator must not close its own sockets)."""
    socket_url = url.replace("http://", "ws://") + f"/ws/boards/{base['board_id']}/"
    headers = {"Origin": url, "Cookie": f"sessionid={base['session_key']}"}
    try:
        async with connect(socket_url, additional_headers=headers, max_queue=None, ping_interval=None) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            ready.set()
            async for frame in ws:
                if EVENT_TYPE in frame or '"ping"' in frame:
                    message = json.loads(frame)
                    if message.get("type") == "ping":  # as static/js/live.js: a silent socket is closed
                        await ws.send(json.dumps({"type": "pong"}))
                    elif message.get("type") == "event" and message["event"]["verb"] == EVENT_TYPE:
                        received.add(int(message["event"]["target"]["id"]))
            errors.append(f"closed by the server: {ws.close_code} {ws.close_reason}")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # counted and reported, the other sockets go on
        errors.append(f"{type(exc).__name__}: {exc}")
        ready.set()


async def soak(url: str, base: dict, tokens: list[str], args, on_warm) -> dict:
    seconds = args.minutes * 60
    started = time.monotonic()
    until = started + seconds
    recorder = Recorder(started)
    accepted: set[int] = set()
    sockets = [set() for _ in range(args.sockets)]
    readies = [asyncio.Event() for _ in sockets]
    socket_errors: list[str] = []
    watchers = [
        asyncio.create_task(watch_board(url, base, got, ready, socket_errors))
        for got, ready in zip(sockets, readies, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 30)

    async def warm_up() -> None:
        await asyncio.sleep(args.warm_up)
        on_warm()

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    # A generous timeout: a request given up on may still be stored, which would spoil accepted == stored.
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_SECONDS, limits=limits) as client:
        interval = args.interval
        results = await asyncio.gather(
            send_webhooks(client, recorder, base, rate=args.rate, until=until, accepted=accepted),
            *(
                run_agent(
                    client, recorder, token, offset=n * interval / len(tokens), interval=interval, until=until
                )
                for n, token in enumerate(tokens)
            ),
            warm_up(),
        )
    ran_for = time.monotonic() - started
    deadline = time.monotonic() + 15
    while any(not accepted <= got for got in sockets) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for watcher in watchers:
        watcher.cancel()
    per_socket = [len(accepted & got) for got in sockets]
    return {
        "seconds": round(ran_for, 1),
        "webhooks": results[0],
        "accepted": accepted,
        "failures": dict(recorder.failures),
        "latency": recorder.table(),
        "socket_received": per_socket,
        "socket_errors": dict(Counter(socket_errors)),
    }


def process_rss(sessions: dict[str, int]) -> dict[str, dict]:
    """VmRSS (MB) of every process in each named session, keyed `role pid`."""
    found = {}
    for role, session_id in sessions.items():
        for pid in sorted(harness.session_processes(session_id)):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            rss_kb = next(
                (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
            )
            found[f"{role} {pid}"] = round(rss_kb / 1024, 1)
    return found


def rss_checks(warm: dict[str, float], end: dict[str, float]) -> list[dict]:
    rows = []
    for name, before in warm.items():
        after = end.get(name)
        if after is None:
            rows.append({"process": name, "warm_mb": before, "end_mb": None, "growth_mb": None, "ok": False})
            continue
        growth = round(after - before, 1)
        percent = round(100 * growth / before, 1) if before else 0.0
        ok = growth < RSS_GROWTH_MB or percent < RSS_GROWTH_PERCENT
        rows.append(
            {
                "process": name,
                "warm_mb": before,
                "end_mb": after,
                "growth_mb": growth,
                "growth_percent": percent,
                "ok": ok,
            }
        )
    return rows


def wait_for_deliveries(receiver: Receiver, env: dict[str, str], base: dict) -> dict:
    """Until every delivery row is succeeded and the receiver saw each, or DRAIN_SECONDS."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        counts = harness.seed("soak_counts", str(base["webhook_id"]), EVENT_TYPE, env=env)
        succeeded = counts["deliveries_by_status"].get("succeeded", 0)
        done = succeeded == counts["deliveries"] and len(receiver.seen) >= counts["deliveries"]
        if done or time.monotonic() > deadline:
            return counts
        time.sleep(2)


def run(args) -> dict:
    harness.reset_database()
    base = harness.seed("base")
    tokens = harness.seed("agent_tokens", str(args.agents))["tokens"]
    results: dict = {"machine": harness.machine()}
    with ExitStack() as stack:
        receiver = stack.enter_context(Receiver().running())
        env = worker_env(receiver.port)
        harness.seed("subscription", f"http://127.0.0.1:{receiver.port}/hook", EVENT_TYPE, env=env)
        layout = stack.enter_context(
            harness.Layout(env=env, workers=WEB_PROCESSES["gunicorn"], asgi_workers=WEB_PROCESSES["uvicorn"])
        )
        sessions = {
            "nginx": layout.nginx.pid,
            "gunicorn": layout.wsgi.process.pid,
            "uvicorn": layout.asgi.process.pid,
        }
        for queue, concurrency in WORKER_QUEUES.items():
            (worker,) = stack.enter_context(celery_workers(1, env, queue=queue, concurrency=concurrency))
            sessions[f"celery-{queue}"] = worker.pid
        schedule = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mc-soak-beat-"))) / "schedule"
        beat = start_celery("beat", f"--schedule={schedule}", env=env)
        stack.callback(harness.stop_process, beat)
        sessions["celery-beat"] = beat.pid
        time.sleep(2)
        rss = {"boot": process_rss(sessions)}
        measured = asyncio.run(
            soak(
                layout.url, base, tokens, args, on_warm=lambda: rss.__setitem__("warm", process_rss(sessions))
            )
        )
        rss["end"] = process_rss(sessions)
        counts = wait_for_deliveries(receiver, env, base)
        received, requests = len(receiver.seen), receiver.requests
    accepted = measured.pop("accepted")
    per_socket = measured.pop("socket_received")
    rss_rows = rss_checks(rss.get("warm", rss["boot"]), rss["end"])
    results.update(
        config={
            "minutes": args.minutes,
            "webhooks_per_second": args.rate,
            "agents": args.agents,
            "agent_interval_seconds": args.interval,
            "sockets": args.sockets,
            "warm_up_seconds": args.warm_up,
            "web_processes": WEB_PROCESSES,
            "worker_queues": WORKER_QUEUES,
        },
        load_average_at_end=os.getloadavg(),
        **measured,
        accepted=len(accepted),
        stored=counts["payloads"],
        events_published=counts["events"],
        deliveries=counts,
        receiver={"received": received, "requests": requests, "duplicates": requests - received},
        sockets={
            "count": len(per_socket),
            "min": min(per_socket),
            "median": statistics.median(per_socket),
            "max": max(per_socket),
            "lost_total": sum(len(accepted) - got for got in per_socket),
        },
        rss=rss,
        rss_growth=rss_rows,
    )
    results["checks"] = {
        "accepted == stored": len(accepted) == counts["payloads"],
        "published == accepted": counts["events"] == len(accepted),
        "deliveries created == accepted": counts["deliveries"] == len(accepted),
        "deliveries created == received (unique)": counts["deliveries"] == received,
        "every socket got every event": results["sockets"]["lost_total"] == 0,
        f"RSS growth < {RSS_GROWTH_MB} MB or < {RSS_GROWTH_PERCENT} % per process": all(
            r["ok"] for r in rss_rows
        ),
    }
    return results


def report(results: dict) -> str:
    m, c, r, sk = results["machine"], results["config"], results, results["sockets"]
    lines = [
        "# Soak",
        "",
        f"`python -m bench.soak --minutes {c['minutes']}` at commit `{m['commit']}`, {m['date']}, on "
        f"{m['cores']} cores ({m['cpu_model']} {m['platform']}). Load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in r['load_average_at_end'])} (the machine was shared: "
        "absolute latencies include other work).",
        "",
        f"Layout: nginx -> gunicorn ({c['web_processes']['gunicorn']} processes) + uvicorn "
        f"({c['web_processes']['uvicorn']}); Celery workers "
        + ", ".join(f"{q} (concurrency {n})" for q, n in c["worker_queues"].items())
        + " and beat; PostgreSQL and Redis on 127.0.0.1. "
        f"Load for {r['seconds']} s: {c['webhooks_per_second']} signed webhooks/s, {c['agents']} agents each "
        f"polling tasks and heartbeating every {c['agent_interval_seconds']} s, {c['sockets']} websocket "
        "clients on the board, one outbound delivery per accepted webhook to a local receiver.",
        "",
        "## Checks",
        "",
        "| check | result |",
        "|---|---|",
        *(f"| {name} | {'PASS' if ok else 'FAIL'} |" for name, ok in r["checks"].items()),
        "",
        "## Counts",
        "",
        f"- Webhooks due {r['webhooks']['due']}, sent {r['webhooks']['sent']} (skipped while "
        f"{MAX_WEBHOOKS_IN_FLIGHT} were waiting: {r['webhooks']['skipped_server_behind']}), "
        f"accepted (202) {r['accepted']}, stored payload rows "
        f"{r['stored']}; `{EVENT_TYPE}` events published {r['events_published']}.",
        f"- Deliveries created {r['deliveries']['deliveries']} "
        f"(by status {r['deliveries']['deliveries_by_status']}, attempts "
        f"{r['deliveries']['delivery_attempts']}); received by the receiver "
        f"{r['receiver']['received']} unique webhook-ids in {r['receiver']['requests']} requests "
        f"(duplicates {r['receiver']['duplicates']}: delivery is at-least-once, a receiver dedupes on "
        "webhook-id; a duplicate means a worker sent and then lost its lease or acknowledgement).",
        f"- Events per socket ({sk['count']} sockets, {r['accepted']} published each): "
        f"min {sk['min']}, median {sk['median']}, max {sk['max']}; "
        f"lost in total {sk['lost_total']}; sockets that ended early: "
        f"{r['socket_errors'] or 'none'}.",
        f"- Failed requests (non-2xx or transport error) by type: {r['failures'] or 'none'}.",
        "",
        "## Latency over time (client side, ms)",
        "",
        "| minute | " + " | ".join(f"{kind} n / p50 / p99" for kind in r["latency"]) + " |",
        "|---|" + "---|" * len(r["latency"]),
    ]
    minutes = sorted({row["minute"] for rows in r["latency"].values() for row in rows})
    for minute in minutes:
        cells = []
        for rows in r["latency"].values():
            row = next((r for r in rows if r["minute"] == minute), None)
            cells.append(f"{row['requests']} / {row['p50_ms']} / {row['p99_ms']}" if row else "-")
        lines.append(f"| {minute} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"## RSS per process (MB): boot, after {c['warm_up_seconds']} s warm-up, end",
        "",
        f"Bound: from warm-up to the end each process grows by less than {RSS_GROWTH_MB} MB or less than "
        f"{RSS_GROWTH_PERCENT} %.",
        "",
        "| process | boot | warm | end | growth | result |",
        "|---|---|---|---|---|---|",
    ]
    for row in r["rss_growth"]:
        boot = r["rss"]["boot"].get(row["process"], "-")
        growth = (
            "exited" if row["growth_mb"] is None else f"{row['growth_mb']:+} MB ({row['growth_percent']:+} %)"
        )
        lines.append(
            f"| {row['process']} | {boot} | {row['warm_mb']} | {row['end_mb']} | {growth} | "
            f"{'PASS' if row['ok'] else 'FAIL'} |"
        )
    lines += ["", "Raw figures: [soak_results.json](soak_results.json).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--quick", action="store_true", help="one minute, for development")
    parser.add_argument("--rate", type=float, default=20, help="webhooks per second")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--interval", type=float, default=30, help="seconds between an agent's polls")
    parser.add_argument("--sockets", type=int, default=50)
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes = 1
    # Bounded: at most an hour, a few hundred per second, a few hundred sockets.
    args.minutes = max(0.25, min(args.minutes, 60))
    args.rate = max(1, min(args.rate, 500))
    args.agents = max(1, min(args.agents, 2000))
    args.sockets = max(1, min(args.sockets, 500))
    args.warm_up = min(60, args.minutes * 60 / 6)
    harness.BENCH_DATABASE = os.environ.get("BENCH_DATABASE_NAME", "mc_soak")
    os.chdir(harness.ROOT)
    results = run(args)
    if not args.quick:
        RESULTS.write_text(json.dumps(results, indent=2, default=list) + "\n")
        REPORT.write_text(report(results))
    print(report(results))
    return results


if __name__ == "__main__":
    main()
