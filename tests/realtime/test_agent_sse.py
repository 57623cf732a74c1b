"""GET /api/v1/agent/events/stream: the agent stream as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient

from agents import streams
from agents.services import issue_agent_token
from core.actors import Actor
from tests.factories import AgentFactory
from tests.realtime.streams import record

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/agent/events/stream"


@pytest.fixture
def agent(organization, board):
    agent = AgentFactory(organization=organization, name="reader")
    agent.boards.add(board)
    return agent


@pytest.fixture
def raw_token(agent, user):
    return issue_agent_token(agent=agent, actor=Actor.for_user(user))[1]


@pytest.fixture
def short_streams(monkeypatch):
    monkeypatch.setattr(streams, "SSE_MAX_LIFETIME_SECONDS", 1.0)
    monkeypatch.setattr(streams, "SSE_KEEPALIVE_SECONDS", 0.3)


def event_ids(body: str) -> list[int]:
    return [int(line[4:]) for line in body.splitlines() if line.startswith("id: ")]


async def read_all(response) -> str:
    chunks = [chunk async for chunk in response.streaming_content]
    return b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks).decode()


async def test_it_requires_a_token():
    response = await AsyncClient().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_it_rejects_a_bad_token(agent):
    response = await AsyncClient().get(URL, headers={"Authorization": "Bearer mca_nope"})
    assert response.status_code == 401


async def test_it_replays_from_last_event_id_then_keeps_alive_and_ends_in_time(
    raw_token, organization, board, short_streams
):
    events = [await record(organization=organization, board=board) for _ in range(3)]
    started = time.monotonic()
    response = await AsyncClient().get(
        URL, headers={"Authorization": f"Bearer {raw_token}", "Last-Event-ID": str(events[0].position)}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"
    body = await read_all(response)
    assert time.monotonic() - started < 3
    assert body.startswith("retry: ")
    data = [json.loads(line[6:]) for line in body.splitlines() if line.startswith('data: {"')]
    # Each message's SSE id is the event's position: the cursor an EventSource resumes from.
    assert event_ids(body) == [d["position"] for d in data]
    # The token's first call (agent.token_first_used) marked the agent online: events about the
    # agent, so replayed as well.
    assert [d["id"] for d in data if d["verb"] == "task.updated"] == [e.pk for e in events[1:]]
    assert [d["verb"] for d in data if d["verb"] != "task.updated"] == [
        "agent.token_first_used",
        "agent.presence_changed",
    ]
    assert ": keep-alive" in body


async def test_it_streams_live_events_of_the_agents_boards(raw_token, organization, board, short_streams):
    response = await AsyncClient().get(URL, headers={"X-Agent-Token": raw_token})
    iterator = aiter(response.streaming_content)
    assert (await anext(iterator)).startswith(b"retry:")
    live = await record(organization=organization, board=board, verb="task.moved")
    chunks = []

    async def collect():
        async for chunk in iterator:
            chunks.append(chunk)
            if f"id: {live.pk}".encode() in chunk:
                return

    await asyncio.wait_for(collect(), timeout=3)
    assert any(b'"verb":"task.moved"' in chunk for chunk in chunks)


async def test_a_suspended_agent_gets_403_as_documented(agent, raw_token, user):
    from agents.services import suspend_agent

    await database_sync_to_async(suspend_agent)(agent=agent, actor=Actor.for_user(user))
    response = await AsyncClient().get(URL, headers={"Authorization": f"Bearer {raw_token}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "agent_suspended"


@pytest.mark.parametrize("action", ["revoke", "suspend"])
async def test_revoking_the_token_or_suspending_the_agent_ends_an_open_stream_at_once(
    agent, raw_token, user, action
):
    from agents.services import revoke_agent_token, suspend_agent

    response = await AsyncClient().get(URL, headers={"Authorization": f"Bearer {raw_token}"})
    iterator = aiter(response.streaming_content)
    assert (await anext(iterator)).startswith(b"retry:")
    if action == "revoke":
        token = await database_sync_to_async(lambda: agent.tokens.get())()
        await database_sync_to_async(revoke_agent_token)(token=token, actor=Actor.for_user(user))
    else:
        await database_sync_to_async(suspend_agent)(agent=agent, actor=Actor.for_user(user))

    async def drain() -> list[bytes]:
        return [chunk async for chunk in iterator]

    # Well before the keep-alive (15 s) and the stream's lifetime (300 s).
    rest = await asyncio.wait_for(drain(), timeout=3)
    assert b"event: stream.closed" in b"".join(rest)
