"""The MCP endpoint served by the real ASGI application under uvicorn on a free port, once per
module, in a thread of the test process so that it shares the test database (SQLite or
PostgreSQL) and the in-memory channel layer; and a driver for the official MCP client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.conftest import ThreadedUvicorn, free_port

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[ThreadedUvicorn]:
    from missioncontrol.asgi import application

    server = ThreadedUvicorn(application, free_port()).start()
    try:
        yield server
    finally:
        server.stop()


async def _with_session(url: str, raw_token: str, action: Callable[[ClientSession], Awaitable[T]]) -> T:
    headers = {"Authorization": f"Bearer {raw_token}"}
    async with (
        httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(15, read=30)) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, _session_id),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        return await action(session)


def with_mcp_session(url: str, raw_token: str, action: Callable[[ClientSession], Awaitable[T]]) -> T:
    """Run `action` on an initialized official-client session (a fresh event loop per call)."""
    return asyncio.run(asyncio.wait_for(_with_session(url, raw_token, action), timeout=60))


def call_tool(url: str, raw_token: str, name: str, arguments: dict[str, Any] | None = None):
    async def action(session: ClientSession):
        return await session.call_tool(name, arguments or {})

    return with_mcp_session(url, raw_token, action)


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "curl", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
