"""The gateway supervisor: one long-lived connection per enabled gateway, in one process.

Run as `manage.py run_gateways` (its own service in compose.yml) or, in the embedded default, as a
daemon thread of the web process (gateways.embedded). It is the only code that opens sockets to
gateways. Per gateway it:

- connects with the protocol-4 handshake and records the status (version, protocol, scopes,
  latency); a refusal (bad token, missing scope, protocol) is recorded as such;
- reconnects after a drop with doubling back-off (0.5 s … 30 s, jittered), and honours the
  gateway's own retryAfterMs while it is starting;
- runs the commands pages and the API queued as GatewayCommand rows, several at once (a
  `agent.wait` must not hold up a `chat.send`), and records each answer;
- hands every gateway event to gateways.gateway_events, which turns the ones Mission Control
  cares about into its own events.

Database work runs on one dedicated thread (never the web server's shared sync thread), with
stale connections closed around each call, because this loop lives for days.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings as django_settings
from django.db import OperationalError, close_old_connections

from gateways import services
from gateways.models import Gateway
from gateways.protocol import (
    DEFAULT_SCOPES,
    READ_ONLY_SCOPES,
    ConnectionLost,
    GatewayConnection,
    GatewayError,
    HandshakeRefused,
    backoff_delay,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How often the supervisor re-reads the gateway table (new, changed, removed gateways) and each
# connection looks for queued commands. A command waits at most COMMAND_POLL_SECONDS to start.
CONFIG_POLL_SECONDS = 2.0
COMMAND_POLL_SECONDS = 0.25
# A refused handshake will be refused again until someone changes the settings: retry slowly.
REFUSED_RETRY_SECONDS = 30.0
# The post-`agents.create` reload race: the new agent is missing from the config for a moment.
RELOAD_RACE_TEXT = "no longer exists in configuration"
RELOAD_RACE_RETRY_SECONDS = 10.0
SEEN_EVERY_SECONDS = 15.0
# After these succeed, the supervisor reads agents.list again (import, retire).
AGENT_CHANGING_METHODS = frozenset({"agents.create", "agents.update", "agents.delete"})
# sessions.changed comes with every run's start and end: read sessions.list at most this often.
SESSIONS_SYNC_SECONDS = 2.0
LOCKED_RETRIES = 6


class Database:
    """Runs ORM calls on one thread of its own, away from the event loop."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-db")

    def _call(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        for attempt in range(LOCKED_RETRIES + 1):
            close_old_connections()
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                # SQLite (the embedded default) refuses a write while the web process holds the
                # lock; the write is small and the lock short, so wait and try again.
                if "locked" not in str(exc) or attempt == LOCKED_RETRIES:
                    raise
                time.sleep(0.05 * 2**attempt)
            finally:
                close_old_connections()
        raise AssertionError("unreachable")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn, args, kwargs)

    def shutdown(self) -> None:
        self._executor.submit(lambda: __import__("django.db").db.connections.close_all())
        self._executor.shutdown(wait=True)


@dataclass(frozen=True)
class GatewaySettings:
    """What a connection needs; a change (updated_at) restarts the connection."""

    id: int
    organization_id: int
    name: str
    url: str
    updated_at: float

    @classmethod
    def of(cls, gateway: Gateway) -> GatewaySettings:
        return cls(
            id=gateway.pk,
            organization_id=gateway.organization_id,
            name=gateway.name,
            url=gateway.url,
            updated_at=gateway.updated_at.timestamp(),
        )


def _load_enabled() -> dict[int, GatewaySettings]:
    return {g.pk: GatewaySettings.of(g) for g in Gateway.objects.supervised()}


def _credentials(gateway_id: int) -> tuple[str, Any, tuple[str, ...]]:
    gateway = Gateway.objects.get(pk=gateway_id)
    scopes = READ_ONLY_SCOPES if gateway.read_only else DEFAULT_SCOPES
    return services.gateway_token(gateway), services.gateway_device(gateway), scopes


class GatewayRunner:
    """Keeps one gateway connected and runs its commands, until cancelled."""

    def __init__(self, settings: GatewaySettings, db: Database, event_sink: Callable | None = None) -> None:
        self.settings = settings
        self.db = db
        self.event_sink = event_sink
        self.connection: GatewayConnection | None = None
        self.connected = asyncio.Event()
        self._inflight: set[asyncio.Task] = set()
        self._last_seen = 0.0
        self._sessions_sync_due = False

    async def run(self) -> None:
        attempt = 0
        while True:
            delay = await self._connect_and_serve()
            ceiling = django_settings.GATEWAY_RECONNECT_MAX_SECONDS
            if delay is None:  # served a while, then lost: start the back-off from the bottom
                attempt = 0
                delay = backoff_delay(0, ceiling=ceiling)
            elif delay < 0:
                delay = backoff_delay(attempt, ceiling=ceiling)
                attempt += 1
            await asyncio.sleep(delay)

    async def _connect_and_serve(self) -> float | None:
        """One connection's life. Returns None after a served connection dropped, a delay in
        seconds after a refusal or a starting gateway, or -1 to back off."""
        gateway_id = self.settings.id
        try:
            token, device, scopes = await self.db.run(_credentials, gateway_id)
            connection = await GatewayConnection.open(
                self.settings.url, token=token, device=device, scopes=scopes, on_event=self._on_event
            )
        except HandshakeRefused as exc:
            logger.warning("gateway %s refused the connection: %s", gateway_id, exc.code)
            await self.db.run(
                services.record_disconnected,
                gateway_id=gateway_id,
                code=exc.code,
                error=exc.message,
                refused=True,
            )
            return REFUSED_RETRY_SECONDS
        except GatewayError as exc:
            if exc.is_starting:
                return (exc.retry_after_ms or 500) / 1000
            await self.db.run(
                services.record_disconnected,
                gateway_id=gateway_id,
                code=exc.code,
                error=exc.message,
                refused=False,
            )
            return -1
        except ConnectionLost as exc:
            await self.db.run(
                services.record_disconnected,
                gateway_id=gateway_id,
                code="UNREACHABLE",
                error=str(exc),
                refused=False,
            )
            return -1
        except Exception as exc:  # a bug or a broken key: keep the supervisor alive, say what failed
            logger.exception("gateway %s: connecting failed", gateway_id)
            await self.db.run(
                services.record_disconnected,
                gateway_id=gateway_id,
                code="CLIENT_ERROR",
                error=f"{exc.__class__.__name__}: {exc}",
                refused=False,
            )
            return -1
        self.connection = connection
        await self.db.run(services.record_connected, gateway_id=gateway_id, hello=connection.hello)
        await self.sync_agents(connection)
        self._sessions_sync_due = False
        self.spawn(self.sync_sessions(connection, subscribe=True))
        self.connected.set()
        try:
            await self._serve(connection)
        finally:
            self.connected.clear()
            self.connection = None
            for task in list(self._inflight):
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)
            await connection.close()
        reason = connection.close_reason
        if connection.shutdown is not None:
            reason = f"the gateway shut down ({connection.shutdown.get('reason') or 'no reason given'})"
        await self.db.run(services.requeue_running_commands, gateway_id=gateway_id)
        await self.db.run(
            services.record_disconnected,
            gateway_id=gateway_id,
            code="DISCONNECTED",
            error=reason,
            refused=False,
        )
        return None

    async def _serve(self, connection: GatewayConnection) -> None:
        while not connection.closed.is_set():
            commands = await self.db.run(services.claim_commands, gateway_id=self.settings.id)
            for command in commands:
                task = asyncio.create_task(self._run_command(connection, command))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(connection.closed.wait(), COMMAND_POLL_SECONDS)

    async def _run_command(self, connection: GatewayConnection, command) -> None:
        deadline = time.monotonic() + RELOAD_RACE_RETRY_SECONDS
        while True:
            try:
                started = time.monotonic()
                result = await connection.request(
                    command.method, command.params, timeout=_timeout_for(command)
                )
            except ConnectionLost:
                return  # requeued when the connection's end is recorded
            except GatewayError as exc:
                if RELOAD_RACE_TEXT in exc.message and time.monotonic() < deadline:
                    # The gateway hot-reloads its config after agents.create; until then the new
                    # agent "no longer exists". Wait for the reload instead of failing the command.
                    await asyncio.sleep(0.25)
                    continue
                await self.db.run(services.finish_command, command=command, error=exc)
                return
            await self.db.run(services.finish_command, command=command, result=result)
            await self._seen(int((time.monotonic() - started) * 1000))
            if command.method in AGENT_CHANGING_METHODS:
                await self.sync_agents(connection)
            return

    async def sync_agents(self, connection: GatewayConnection) -> None:
        """Import the gateway's agents (and retire the ones it dropped). A failure is logged and
        left for the next connect or agent change: it must not cost the connection."""
        try:
            listed = await connection.request("agents.list")
            await self.db.run(services.sync_gateway_agents, gateway_id=self.settings.id, listed=listed)
        except (GatewayError, ConnectionLost) as exc:
            logger.warning("gateway %s: agents.list failed: %s", self.settings.id, exc)

    async def sync_sessions(self, connection: GatewayConnection, *, subscribe: bool = False) -> None:
        """Keep the gateway's sessions for the agent pages (a page never asks the gateway).

        On connect, `sessions.subscribe` both lists them and asks for `sessions.changed`, which
        the gateway sends only to connections that subscribed; later reads are `sessions.list`.
        """
        try:
            if subscribe:
                answer = await connection.request("sessions.subscribe", {"limit": services.MAX_SESSIONS_KEPT})
                listed = answer.get("list") if isinstance(answer, dict) else None
            else:
                listed = await connection.request("sessions.list", {"limit": services.MAX_SESSIONS_KEPT})
            await self.db.run(services.sync_gateway_sessions, gateway_id=self.settings.id, listed=listed)
        except (GatewayError, ConnectionLost) as exc:
            logger.warning("gateway %s: sessions.list failed: %s", self.settings.id, exc)

    async def _sync_sessions_soon(self, connection: GatewayConnection) -> None:
        # A burst of sessions.changed (a run starting, streaming, ending) is one read.
        await asyncio.sleep(SESSIONS_SYNC_SECONDS)
        self._sessions_sync_due = False
        await self.sync_sessions(connection)

    def spawn(self, coroutine) -> None:
        """Run work an event asked for outside the reader (a request awaited inside the reader
        would wait for a response only the reader can read)."""
        task = asyncio.create_task(coroutine)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _seen(self, latency_ms: int | None = None) -> None:
        now = time.monotonic()
        if now - self._last_seen >= SEEN_EVERY_SECONDS or latency_ms is not None:
            self._last_seen = now
            await self.db.run(services.record_seen, gateway_id=self.settings.id, latency_ms=latency_ms)

    async def _on_event(self, event: str, payload: dict[str, Any]) -> None:
        if event == "tick":
            await self._seen()
        elif event == "config.changed" and self.connection is not None:
            # The gateway reloaded its config: agents created or removed (here or elsewhere) are
            # listed only now, not yet right after agents.create answered.
            self.spawn(self.sync_agents(self.connection))
        elif event == "sessions.changed" and self.connection is not None and not self._sessions_sync_due:
            self._sessions_sync_due = True
            self.spawn(self._sync_sessions_soon(self.connection))
        if self.event_sink is not None:
            await self.event_sink(self, event, payload)


def _timeout_for(command) -> float:
    if command.method == "agent.wait":
        return float(command.params.get("timeoutMs", 30000)) / 1000 + 10
    return 60.0


class GatewaySupervisor:
    """Starts, restarts and stops one GatewayRunner per enabled gateway."""

    def __init__(self, *, event_sink: Callable | None = None) -> None:
        self.db = Database()
        self.event_sink = event_sink
        self.runners: dict[int, tuple[GatewaySettings, GatewayRunner, asyncio.Task]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.reconcile()
                    await self.db.run(services.expire_stale_commands)
                except Exception:
                    logger.exception("gateway supervisor: reading the gateways failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), CONFIG_POLL_SECONDS)
        finally:
            for _settings, _runner, task in self.runners.values():
                task.cancel()
            await asyncio.gather(*(task for _s, _r, task in self.runners.values()), return_exceptions=True)
            self.runners.clear()
            self.db.shutdown()

    async def reconcile(self) -> None:
        wanted = await self.db.run(_load_enabled)
        for gateway_id in list(self.runners):
            settings, _runner, task = self.runners[gateway_id]
            if wanted.get(gateway_id) != settings or task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                del self.runners[gateway_id]
        for gateway_id, settings in wanted.items():
            if gateway_id not in self.runners:
                runner = GatewayRunner(settings, self.db, self.event_sink)
                task = asyncio.create_task(runner.run(), name=f"gateway-{gateway_id}")
                self.runners[gateway_id] = (settings, runner, task)
                logger.info("gateway supervisor: watching gateway %s (%s)", gateway_id, settings.url)
