"""Chat fan-out: an agent's chat message, from its POST to being visible on many open board pages.

Production shape, real uvicorn subprocesses on 127.0.0.1 over Postgres + Redis, HTTP and
websockets served by separate tiers as in production: the agent posts to the HTTP tier
(`POST /api/v1/agent/boards/<id>/chat/`, WEB_WORKERS processes); CLIENTS browser-equivalent
clients hold the board's websocket (`/ws/boards/<id>/`, session cookie and Origin, as the
page's live.js) on the websocket tier (one process), so every message crosses the Redis channel
layer. A client has *seen* a message when its `chat.message_posted` event arrives, and it is
*visible* once it has what chat.js needs to insert it: the event carries the message itself
(`detail.message`, chat.services.message_wire), so visible is seen. `--fetch` measures the
client as it was before the event carried the message: on each event it fetched the message's
HTML fragment from the HTTP tier (`GET /boards/<id>/chat/<message id>/`), one request and one
render per open page and message. Messages are posted one at a time; the clock starts just
before the POST and stops at each client, so each message gives CLIENTS samples. Same machine,
same clock.

    python -m bench.chat_fanout [--clients 100] [--messages 20] [--fetch]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

import httpx
from websockets.asyncio.client import connect

from bench.harness import ROOT, UNLIMITED, Server, machine, production_env, reset_database, seed

MESSAGE_TIMEOUT_SECONDS = 30.0


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "samples": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def fetch_fragment(http: httpx.AsyncClient, url: str, cookie: str) -> httpx.Response:
    """GET, retried once on a kept-alive connection the server closed meanwhile (browsers retry
    an idempotent request on a stale connection too)."""
    headers = {"Cookie": cookie, "HX-Request": "true"}
    try:
        return await http.get(url, headers=headers)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        return await http.get(url, headers=headers)


class Client:
    """One open board page: its socket, and the fragment fetch chat.js makes per new message."""

    def __init__(
        self, socket_url: str, http_url: str, origin: str, seeded: dict, fetch: bool = False
    ) -> None:
        self.fetch = fetch
        self.socket_url = socket_url
        self.http_url = http_url
        self.origin = origin
        self.seeded = seeded
        self.cookie = f"sessionid={seeded['session_key']}"
        self.seen: dict[int, float] = {}
        self.visible: dict[int, float] = {}
        self.ready = asyncio.Event()

    async def run(self, http: httpx.AsyncClient) -> None:
        board_id = self.seeded["board_id"]
        headers = {"Origin": self.origin, "Cookie": self.cookie}
        async with connect(
            f"{self.socket_url}/ws/boards/{board_id}/", additional_headers=headers, max_queue=None
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            self.ready.set()
            async for frame in ws:
                message = json.loads(frame)
                if message.get("type") == "ping":
                    await ws.send('{"type": "pong"}')
                    continue
                event = message.get("event") or {}
                if event.get("verb") != "chat.message_posted":
                    continue
                message_id = event["detail"]["message_id"]
                self.seen[message_id] = time.monotonic()
                pushed = event["detail"].get("message") or {}
                if not self.fetch and pushed.get("id") == message_id and "body_html" in pushed:
                    self.visible[message_id] = self.seen[message_id]
                    continue
                response = await fetch_fragment(
                    http, f"{self.http_url}/boards/{board_id}/chat/{message_id}/", self.cookie
                )
                if response.status_code != 200 or f'id="chat-message-{message_id}"' not in response.text:
                    raise RuntimeError(f"fragment fetch failed: {response.status_code}")
                self.visible[message_id] = time.monotonic()


async def measure(
    write_url: str, hold_url: str, seeded: dict, token: str, clients: int, messages: int, fetch: bool = False
) -> dict:
    socket_url = hold_url.replace("http://", "ws://")
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        pages = [Client(socket_url, write_url, hold_url, seeded, fetch) for _ in range(clients)]
        tasks = [asyncio.create_task(page.run(http)) for page in pages]
        await asyncio.wait_for(asyncio.gather(*(page.ready.wait() for page in pages)), 60)
        seen: list[float] = []
        visible: list[float] = []
        posts: list[float] = []
        for n in range(messages):
            started = time.monotonic()
            response = await http.post(
                f"{write_url}/api/v1/agent/boards/{seeded['board_id']}/chat/",
                json={"body": f"fan-out message {n}: **build green**"},
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code != 201:
                raise RuntimeError(f"post failed: {response.status_code} {response.text[:300]}")
            posts.append(time.monotonic() - started)
            message_id = response.json()["id"]
            deadline = time.monotonic() + MESSAGE_TIMEOUT_SECONDS
            while not all(message_id in page.visible for page in pages):
                failed = [t for t in tasks if t.done()]
                if failed:
                    failed[0].result()  # raises what the client hit
                if time.monotonic() > deadline:
                    raise RuntimeError(f"message {message_id} not visible on every client")
                await asyncio.sleep(0.002)
            seen += [page.seen[message_id] - started for page in pages]
            visible += [page.visible[message_id] - started for page in pages]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"post": summary(posts), "event_received": summary(seen), "visible": summary(visible)}


def run(clients: int, messages: int, fetch: bool = False) -> dict:
    env = production_env(CHAT_POST_RATE=UNLIMITED)
    reset_database()
    seeded = seed("base")
    token = seed("agents", "1")["token"]
    with (
        Server("missioncontrol.asgi:application", env=env) as writer,
        Server("missioncontrol.asgi:application", env=env, workers=1) as holder,
    ):
        figures = asyncio.run(measure(writer.url, holder.url, seeded, token, clients, messages, fetch))
    client = "fetches the fragment" if fetch else "shows the pushed message"
    return {"machine": machine(), "clients": clients, "messages": messages, "client": client, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--fetch", action="store_true", help="the client before the push: fetch each message")
    args = parser.parse_args()
    clients, messages = max(1, min(args.clients, 1000)), max(1, min(args.messages, 1000))
    print(json.dumps(run(clients, messages, args.fetch), indent=2))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
