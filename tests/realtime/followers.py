"""Clients that follow a live stream the way the real ones do, in a thread each: connect, read,
and on any close or error reconnect with the position of the last event seen (live.js,
EventSource, an agent's loop). The scenario in test_late_commit_restarts.py restarts Redis and
kills the web process under them and then reads what each one saw.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
from websockets.sync.client import connect

# Reconnects back off as live.js's do (doubling, capped), so an outage is not a reconnect storm.
FIRST_RECONNECT_SECONDS = 0.2
LONGEST_RECONNECT_SECONDS = 2.0


class Follower(threading.Thread):
    """One stream's client. `events` holds every event it was sent, in arrival order, across all
    its connections; `connections` counts the connections that were accepted. `port` may be
    changed while it runs: its next connection goes there (another web process taking over)."""

    name_of_stream = ""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.port, self.headers = port, headers
        self.events: list[dict[str, Any]] = []
        self.counts: list[int] = []
        self.cursor: int | None = None
        self.connections = 0
        self.changed = threading.Condition()
        self.stopping = threading.Event()

    def run(self) -> None:
        wait = FIRST_RECONNECT_SECONDS
        while not self.stopping.is_set():
            connections = self.connections
            # Refused, reset, closed: what a restart or a kill looks like from here.
            with contextlib.suppress(Exception):
                self.follow_once()
            wait = FIRST_RECONNECT_SECONDS if self.connections > connections else wait
            self.stopping.wait(wait)
            wait = min(wait * 2, LONGEST_RECONNECT_SECONDS)

    def follow_once(self) -> None:
        raise NotImplementedError

    def connected(self) -> None:
        with self.changed:
            self.connections += 1
            self.changed.notify_all()

    def got_event(self, event: dict[str, Any]) -> None:
        with self.changed:
            self.events.append(event)
            self.cursor = event["position"]
            self.changed.notify_all()

    def got_count(self, unread: int) -> None:
        with self.changed:
            self.counts.append(unread)
            self.changed.notify_all()

    def wait_for(self, condition: Callable[[Follower], bool], timeout: float = 30.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: condition(self), timeout)

    def saw(self, event_id: int) -> bool:
        return any(event["id"] == event_id for event in self.events)

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


class WebsocketFollower(Follower):
    """A websocket stream: `hello` (whose last_event_id is the cursor of a client that has seen
    nothing yet), then replay from ?last_event_id=, then live events."""

    def __init__(self, port: int, headers: dict[str, str], path: str) -> None:
        super().__init__(port, headers)
        self.path = path

    def url(self) -> str:
        url = f"ws://127.0.0.1:{self.port}{self.path}"
        return url if self.cursor is None else f"{url}?last_event_id={self.cursor}"

    def follow_once(self) -> None:
        headers = dict(self.headers)
        if "Origin" in headers:  # a browser's page is served by the host it connects to
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
        with connect(self.url(), additional_headers=headers, open_timeout=5) as ws:
            self.connected()
            while not self.stopping.is_set():
                try:
                    message = json.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
                self.on_message(message)

    def on_message(self, message: dict[str, Any]) -> None:
        if message["type"] == "hello" and self.cursor is None:
            self.cursor = message["last_event_id"]
        elif message["type"] == "event":
            self.got_event(message["event"])


class NotificationFollower(WebsocketFollower):
    """/ws/notifications/: the unread count, first on connect and then after every change;
    nothing to replay."""

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.path}"

    def on_message(self, message: dict[str, Any]) -> None:
        if message["type"] == "notifications":
            self.got_count(message["unread"])


class SseFollower(Follower):
    """GET /api/v1/agent/events/stream, reconnecting with Last-Event-ID as EventSource does."""

    def follow_once(self) -> None:
        headers = dict(self.headers)
        if self.cursor is not None:
            headers["Last-Event-ID"] = str(self.cursor)
        url = f"http://127.0.0.1:{self.port}/api/v1/agent/events/stream"
        # Longer than the server's keep-alive interval (15 s): a read that times out means the
        # stream is stuck, which this client treats like a drop.
        with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(5.0, read=20.0)) as response:
            if response.status_code != 200:
                return
            self.response = response
            self.connected()
            for line in response.iter_lines():
                if self.stopping.is_set():
                    return
                if line.startswith("data: "):
                    self.got_event(json.loads(line[6:]))

    def stop(self) -> None:
        self.stopping.set()
        response = getattr(self, "response", None)
        if response is not None:
            response.close()  # wakes the blocked read
        self.join(10)
