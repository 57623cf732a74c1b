"""The agent stream /ws/agent/: token auth (headers or a first auth message), heartbeat, ack."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from activity import streams as stream_base
from activity.streams import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from agents import consumers as agent_consumers
from agents.models import Agent
from agents.services import issue_agent_token, revoke_agent_token, suspend_agent
from core.actors import Actor
from tests.factories import AgentFactory, BoardFactory
from tests.realtime.streams import application, assert_silent, closed_with, receive, receive_events, record

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agent(organization, board):
    agent = AgentFactory(organization=organization, name="builder")
    agent.boards.add(board)
    return agent


@pytest.fixture
def raw_token(agent, user):
    _token, raw = issue_agent_token(agent=agent, actor=Actor.for_user(user))
    return raw


def agent_socket(headers=(), query: str = "") -> WebsocketCommunicator:
    return WebsocketCommunicator(application(), f"/ws/agent/{query}", headers=list(headers))


async def open_agent(raw_token: str, query: str = "", header: bytes = b"authorization"):
    value = f"Bearer {raw_token}" if header == b"authorization" else raw_token
    communicator = agent_socket([(header, value.encode())], query)
    connected, code = await communicator.connect()
    assert connected, code
    assert (await receive(communicator))["stream"] == "agent"
    return communicator


async def test_it_refuses_an_invalid_token_in_the_handshake(agent):
    communicator = agent_socket([(b"authorization", b"Bearer mca_0123456789abcdef_" + b"x" * 43)])
    assert await communicator.connect() == (False, CLOSE_UNAUTHENTICATED)


async def test_it_receives_its_boards_events_and_those_addressed_to_it(agent, raw_token, organization, board):
    other_board = await database_sync_to_async(BoardFactory)(organization=organization)
    communicator = await open_agent(raw_token, header=b"x-agent-token")
    on_board = await record(organization=organization, board=board, verb="task.created")
    await record(organization=organization, board=other_board, verb="task.created")
    addressed = await record(
        organization=organization, board=other_board, verb="task.assigned", notify_agent_ids=[agent.pk]
    )
    # On its board AND addressed to it: reaches the socket through two groups, sent once.
    both = await record(
        organization=organization, board=board, verb="task.assigned", notify_agent_ids=[agent.pk]
    )
    events = await receive_events(communicator, 3)
    assert [e["id"] for e in events] == [on_board.pk, addressed.pk, both.pk]
    await assert_silent(communicator)
    await communicator.disconnect()


async def test_a_browser_style_client_authenticates_with_a_first_message(
    agent, raw_token, organization, board
):
    missed = await record(organization=organization, board=board)
    communicator = agent_socket()
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to(
        {"type": "auth", "token": raw_token, "last_event_id": missed.position - 1}
    )
    assert (await receive(communicator))["stream"] == "agent"
    assert [e["id"] for e in await receive_events(communicator, 1)] == [missed.pk]
    await communicator.disconnect()


async def test_it_closes_a_socket_that_does_not_authenticate_in_time(agent, monkeypatch):
    monkeypatch.setattr(agent_consumers, "AUTH_TIMEOUT_SECONDS", 0.2)
    communicator = agent_socket()
    connected, _ = await communicator.connect()
    assert connected
    assert await closed_with(communicator) == CLOSE_UNAUTHENTICATED


async def test_it_closes_a_socket_whose_first_message_is_not_auth(agent):
    communicator = agent_socket()
    await communicator.connect()
    await communicator.send_json_to({"type": "heartbeat"})
    assert await closed_with(communicator) == CLOSE_UNAUTHENTICATED


async def test_a_heartbeat_records_presence_and_status(agent, raw_token):
    communicator = await open_agent(raw_token)
    await communicator.send_json_to({"type": "heartbeat", "status_text": "compiling"})
    assert await receive(communicator) == {"type": "heartbeat.ok"}
    refreshed = await database_sync_to_async(Agent.objects.get)(pk=agent.pk)
    assert refreshed.status_text == "compiling" and refreshed.last_seen_at is not None
    await communicator.disconnect()


async def test_an_ack_becomes_the_cursor_of_the_next_connection(agent, raw_token, organization, board):
    first, second, third = [await record(organization=organization, board=board) for _ in range(3)]
    communicator = await open_agent(raw_token)
    await communicator.send_json_to({"type": "ack", "event_id": first.pk})
    assert await receive(communicator) == {"type": "ack.ok", "event_id": first.pk}
    await communicator.send_json_to({"type": "ack", "event_id": "1"})
    assert (await receive(communicator))["code"] == "invalid"
    await communicator.disconnect()
    again = await open_agent(raw_token)
    assert [e["id"] for e in await receive_events(again, 2)] == [second.pk, third.pk]
    await again.disconnect()


async def test_a_token_revoked_while_connected_ends_the_stream(agent, raw_token, user):
    communicator = await open_agent(raw_token)
    token = await database_sync_to_async(lambda: agent.tokens.get())()
    await database_sync_to_async(revoke_agent_token)(token=token, actor=Actor.for_user(user))
    await communicator.send_json_to({"type": "heartbeat"})
    assert await closed_with(communicator) == CLOSE_UNAUTHENTICATED


async def test_a_browser_origin_must_still_be_allowed(agent, raw_token):
    headers = [(b"origin", b"https://evil.example"), (b"x-agent-token", raw_token.encode())]
    communicator = agent_socket(headers)
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_board_added_to_the_agent_is_joined_at_the_next_recheck(
    agent, raw_token, organization, monkeypatch
):
    monkeypatch.setattr(stream_base, "REAUTHORIZE_SECONDS", 0.2)
    new_board = await database_sync_to_async(BoardFactory)(organization=organization)
    communicator = await open_agent(raw_token)
    await database_sync_to_async(agent.boards.add)(new_board)
    await assert_silent(communicator, wait=0.5)
    event = await record(organization=organization, board=new_board)
    assert [e["id"] for e in await receive_events(communicator, 1)] == [event.pk]
    await communicator.disconnect()


def _revoke(token_id: int, user) -> None:
    from agents.models import AgentToken

    revoke_agent_token(token=AgentToken.objects.get(pk=token_id), actor=Actor.for_user(user))


async def test_revoking_a_token_closes_its_open_sockets_at_once(agent, raw_token, user):
    """No message from the agent and no recheck needed: the revocation reaches the socket
    through the channel layer. A socket of another token of the same agent stays open."""
    communicator = await open_agent(raw_token)
    other_token, other_raw = await database_sync_to_async(issue_agent_token)(
        agent=agent, actor=Actor.for_user(user), name="second"
    )
    other = await open_agent(other_raw)
    first_token = await database_sync_to_async(lambda: agent.tokens.exclude(pk=other_token.pk).get())()
    await database_sync_to_async(_revoke)(first_token.pk, user)
    assert await closed_with(communicator) == CLOSE_UNAUTHENTICATED
    await other.send_json_to({"type": "ping"})
    assert await receive(other) == {"type": "pong"}
    await other.disconnect()


async def test_suspending_an_agent_closes_every_socket_of_it_at_once(agent, raw_token, user):
    communicator = await open_agent(raw_token)
    await database_sync_to_async(suspend_agent)(agent=agent, actor=Actor.for_user(user))
    assert await closed_with(communicator) == CLOSE_FORBIDDEN


async def test_a_suspended_agent_is_refused_with_4403_at_the_handshake(agent, raw_token, user):
    await database_sync_to_async(suspend_agent)(agent=agent, actor=Actor.for_user(user))
    communicator = agent_socket([(b"authorization", f"Bearer {raw_token}".encode())])
    connected, code = await communicator.connect()
    assert not connected and code == CLOSE_FORBIDDEN
