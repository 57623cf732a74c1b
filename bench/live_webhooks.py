"""Live latency under webhook load: a websocket client on a board while signed webhooks arrive
at a fixed rate (50/s) and then as fast as the server takes them. For each accepted payload the
`webhook.received` event must reach the socket: commit-to-receipt p50/p99 and events lost.

Production configuration (uvicorn workers on PostgreSQL + Redis): the POSTs land on whichever
worker process accepts them, the socket is held by one, so events cross the Redis layer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import datetime

import httpx
from websockets.asyncio.client import connect

from bench import harness
from bench.live_latency import summary

DRAIN_SECONDS = 5.0
MAX_RATE_CONCURRENCY = 16


async def run_phase(server_url: str, base: dict, *, rate: float | None, seconds: float) -> dict:
    """`rate` requests per second, or None for as fast as MAX_RATE_CONCURRENCY senders go."""
    ingest_url = f"{server_url}/api/v1/boards/{base['board_id']}/webhooks/{base['webhook_id']}"
    socket_url = server_url.replace("http://", "ws://") + f"/ws/boards/{base['board_id']}/"
    accepted: set[int] = set()
    latencies: dict[int, float] = {}
    refused = 0

    async def send(client: httpx.AsyncClient, n: int) -> None:
        nonlocal refused
        body = json.dumps({"n": n, "sent": time.time()}).encode()
        signature = "sha256=" + hmac.new(base["secret"].encode(), body, hashlib.sha256).hexdigest()
        try:
            response = await client.post(
                ingest_url,
                content=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
            )
        except httpx.HTTPError:  # past what the machine serves: counted as refused, not fatal
            refused += 1
            return
        if response.status_code == 202:
            accepted.add(int(response.json()["id"]))
        else:
            refused += 1

    async with connect(
        socket_url, additional_headers={"Origin": server_url, "Cookie": f"sessionid={base['session_key']}"}
    ) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"

        async def read() -> None:
            async for frame in ws:
                received = time.time()
                message = json.loads(frame)
                if message.get("type") == "event" and message["event"]["verb"] == "webhook.received":
                    event = message["event"]
                    created = datetime.fromisoformat(event["created_at"]).timestamp()
                    latencies.setdefault(int(event["target"]["id"]), received - created)

        reader = asyncio.create_task(read())
        limits = httpx.Limits(max_connections=MAX_RATE_CONCURRENCY * 2)
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            if rate:
                pending = []
                n = 0
                while (elapsed := time.monotonic() - started) < seconds:
                    while n < elapsed * rate:
                        pending.append(asyncio.create_task(send(client, n)))
                        n += 1
                    await asyncio.sleep(0.002)
                await asyncio.gather(*pending)
            else:
                counter = iter(range(10**9))

                async def sender() -> None:
                    while time.monotonic() - started < seconds:
                        await send(client, next(counter))

                await asyncio.gather(*(sender() for _ in range(MAX_RATE_CONCURRENCY)))
        sent_for = time.monotonic() - started
        deadline = time.monotonic() + DRAIN_SECONDS
        while not accepted <= set(latencies) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        reader.cancel()
    received = [latencies[payload_id] for payload_id in accepted if payload_id in latencies]
    return {
        "target_rate": rate or "max",
        "accepted": len(accepted),
        "accepted_per_second": round(len(accepted) / sent_for, 1),
        "refused": refused,
        "lost": len(accepted - set(latencies)),
        **(summary(received) if received else {"events": 0}),
    }


def run(base: dict, quick: bool) -> dict:
    """Through the production layout: webhooks to nginx -> gunicorn, the socket nginx -> uvicorn."""
    seconds = harness.sized(quick, full=20, quick_size=3, smoke_size=1)
    rates = harness.sized(quick, full=(50, 100, 200), quick_size=(50,), smoke_size=(50,))
    with harness.Layout() as layout:
        results = {
            f"at_{rate}_per_second": asyncio.run(run_phase(layout.url, base, rate=rate, seconds=seconds))
            for rate in rates
        }
        results["at_max_rate"] = asyncio.run(run_phase(layout.url, base, rate=None, seconds=seconds))
    return results
