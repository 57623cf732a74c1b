"""Fixtures for the gateway tests: one real OpenClaw gateway and one fake model per test session.

Without the gateway tools (`make gateway-tools`) the real-gateway tests skip with the reason,
except where REQUIRE_SERVICES=1 (CI's PostgreSQL run): there a missing gateway fails them, so a
broken install step cannot pass as a green run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.gateways.fake_model import FakeModelServer
from tests.gateways.gateway_process import GatewayProcess, tools_missing_reason


@pytest.fixture(scope="session")
def fake_model() -> Iterator[FakeModelServer]:
    server = FakeModelServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def openclaw_gateway(fake_model, tmp_path_factory) -> Iterator[GatewayProcess]:
    """The session's gateway, started on first use (about 20 s), stopped at the end."""
    reason = tools_missing_reason()
    if reason:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    gateway = GatewayProcess(base_dir=tmp_path_factory.mktemp("openclaw"), model_base_url=fake_model.base_url)
    gateway.start()
    yield gateway
    gateway.stop()


class SupervisorThread:
    """The real supervisor on a thread with its own event loop, as in the embedded default."""

    def __init__(self) -> None:
        import asyncio
        import threading

        from gateways.gateway_events import GatewayEventSink
        from gateways.supervisor import GatewaySupervisor

        self.supervisor = GatewaySupervisor(event_sink=GatewayEventSink())
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(
            target=lambda: self._loop.run_until_complete(self.supervisor.run(self._stop)),
            name="test-gateway-supervisor",
            daemon=True,
        )

    def start(self) -> SupervisorThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self._loop.close()


@pytest.fixture
def gateway_supervisor(transactional_db) -> Iterator[SupervisorThread]:
    thread = SupervisorThread().start()
    yield thread
    thread.stop()


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.1, what: str = "the condition"):
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout`."""
    import time

    from django.db import OperationalError

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except OperationalError as exc:  # SQLite's shared in-memory test database: a table is
            if "locked" not in str(exc):  # locked while the supervisor's thread writes to it
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
