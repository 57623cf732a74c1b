"""Chat on the live streams: a post on the board stream, and a mention on the mentioned agent's
/ws/agent/ stream (live and replayed after a reconnect)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from activity.models import ActivityEvent
from chat.services import post_message
from core.actors import Actor
from tests.agents.factories import agent_with_token
from tests.realtime.streams import application, browser_socket, receive, receive_events

pytestmark = pytest.mark.django_db(transaction=True)


async def agent_socket(raw: str, query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application(), f"/ws/agent/{query}", headers=[(b"authorization", f"Bearer {raw}".encode())]
    )
    connected, code = await communicator.connect()
    assert connected, code
    assert (await receive(communicator))["type"] == "hello"
    return communicator


def say(board, user, body):
    return post_message(board=board, actor=Actor.for_user(user), body=body)


async def test_a_mention_reaches_the_agent_stream_and_a_post_the_board_stream(organization, board, teammate):
    agent, _token, raw = await database_sync_to_async(agent_with_token)(
        organization=organization, name="release-bot", boards=[board]
    )
    agent_stream = await agent_socket(raw)
    board_stream = await browser_socket(teammate, f"/ws/boards/{board.pk}/")
    assert (await board_stream.connect())[0]
    await receive(board_stream)  # hello

    message = await database_sync_to_async(say)(board, teammate, "@release-bot status?")

    posted, mentioned = await receive_events(agent_stream, 2)
    assert posted["verb"] == "chat.message_posted" and posted["detail"]["message_id"] == message.pk
    assert mentioned["verb"] == "chat.mentioned" and mentioned["detail"]["agent_ids"] == [agent.pk]
    [on_board] = await receive_events(board_stream, 1)
    assert on_board["verb"] == "chat.message_posted"
    await agent_stream.disconnect()
    await board_stream.disconnect()


async def test_a_mention_missed_while_away_is_replayed(organization, board, teammate):
    agent, _token, raw = await database_sync_to_async(agent_with_token)(
        organization=organization, name="release-bot", boards=[board]
    )
    cursor = await database_sync_to_async(
        lambda: ActivityEvent.objects.exclude(position=None).latest("position").position
    )()
    await database_sync_to_async(say)(board, teammate, "@release-bot while you were away")
    stream = await agent_socket(raw, f"?last_event_id={cursor}")
    events = await receive_events(stream, 2)
    assert [event["verb"] for event in events] == ["chat.message_posted", "chat.mentioned"]
    assert events[1]["detail"]["agent_ids"] == [agent.pk]
    await stream.disconnect()
