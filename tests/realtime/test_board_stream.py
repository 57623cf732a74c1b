"""The browser streams: /ws/boards/<id>/ and /ws/activity/ (session auth, origin, replay, limits)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from activity import streams as stream_base
from activity.models import ActivityEvent
from activity.payloads import activity_payload
from activity.streams import (
    CLOSE_FLOOD,
    CLOSE_FORBIDDEN,
    CLOSE_IDLE,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHENTICATED,
)
from core.models import Membership
from infra import realtime
from infra.metrics import OPEN_WEBSOCKETS, WEBSOCKET_POLICY_CLOSES
from tests.factories import AgentFactory, BoardFactory, MembershipFactory
from tests.realtime.streams import (
    assert_silent,
    browser_socket,
    closed_with,
    receive,
    receive_events,
    record,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def open_board(user, board, query: str = ""):
    communicator = await browser_socket(user, f"/ws/boards/{board.pk}/{query}")
    connected, code = await communicator.connect()
    assert connected, code
    hello = await receive(communicator)
    assert {k: hello[k] for k in ("type", "stream", "board_id")} == {
        "type": "hello",
        "stream": "board",
        "board_id": board.pk,
    }
    return communicator


async def test_it_refuses_an_anonymous_board_socket(board):
    communicator = await browser_socket(None, f"/ws/boards/{board.pk}/")
    assert await communicator.connect() == (False, CLOSE_UNAUTHENTICATED)


async def test_it_refuses_a_member_of_another_organization(board, outsider):
    communicator = await browser_socket(outsider, f"/ws/boards/{board.pk}/")
    assert await communicator.connect() == (False, CLOSE_FORBIDDEN)


async def test_it_refuses_an_unknown_board_like_a_foreign_one(user):
    communicator = await browser_socket(user, "/ws/boards/999999/")
    assert await communicator.connect() == (False, CLOSE_FORBIDDEN)


async def test_it_refuses_a_foreign_origin(board, user):
    communicator = await browser_socket(user, f"/ws/boards/{board.pk}/", origin=b"https://evil.example")
    connected, _code = await communicator.connect()
    assert not connected


async def test_it_refuses_a_session_cookie_without_origin(board, user):
    communicator = await browser_socket(user, f"/ws/boards/{board.pk}/", origin=None)
    assert await communicator.connect() == (False, CLOSE_FORBIDDEN)


async def test_a_viewer_receives_every_event_of_the_board_and_none_of_another(board, viewer, organization):
    other_board = await database_sync_to_async(BoardFactory)(organization=organization)
    communicator = await open_board(viewer, board)
    await record(organization=organization, board=board, verb="task.created", target_id=1)
    await record(organization=organization, board=other_board, verb="task.created", target_id=2)
    await record(organization=organization, board=board, verb="comment.added", target_id=3)
    events = await receive_events(communicator, 2)
    assert [(e["verb"], e["target"]["id"]) for e in events] == [("task.created", "1"), ("comment.added", "3")]
    assert all(e["board_id"] == board.pk for e in events)
    await assert_silent(communicator)
    await communicator.disconnect()


async def test_it_replays_missed_events_in_order_then_goes_live_without_duplicates(board, user, organization):
    missed = [await record(organization=organization, board=board, target_id=n) for n in range(5)]
    communicator = await open_board(user, board, f"?last_event_id={missed[1].position}")
    replayed = await receive_events(communicator, 3)
    assert [e["id"] for e in replayed] == [e.pk for e in missed[2:]]
    done = await receive(communicator)
    last = missed[-1].position
    assert done == {"type": "replay.done", "count": 3, "truncated": False, "last_event_id": last}
    # The same event reaching the socket again (it was queued live while the replay ran) is dropped.
    await database_sync_to_async(realtime.publish_event)(
        activity_payload(missed[3]), [realtime.board_group(board.pk)]
    )
    live = await record(organization=organization, board=board, target_id=99)
    assert [e["id"] for e in await receive_events(communicator, 1)] == [live.pk]
    await assert_silent(communicator)
    await communicator.disconnect()


async def test_it_delivers_an_event_published_live_but_missing_from_the_replay(board, user, organization):
    """Join first, then read: an event committed after the replay query still arrives."""
    first = await record(organization=organization, board=board)
    communicator = await open_board(user, board, f"?last_event_id={first.position}")
    assert (await receive(communicator))["type"] == "replay.done"
    late = await record(organization=organization, board=board)
    assert [e["id"] for e in await receive_events(communicator, 1)] == [late.pk]
    await communicator.disconnect()


async def test_replay_is_bounded_by_count_and_says_so(board, user, organization, settings):
    settings.REPLAY_MAX_EVENTS = 3
    events = [await record(organization=organization, board=board) for _ in range(5)]
    communicator = await open_board(user, board, f"?last_event_id={events[0].position - 1}")
    replayed = await receive_events(communicator, 3)
    assert [e["id"] for e in replayed] == [e.pk for e in events[2:]]
    assert (await receive(communicator))["truncated"] is True
    await communicator.disconnect()


async def test_replay_at_exactly_the_count_bound_is_complete(board, user, organization, settings):
    settings.REPLAY_MAX_EVENTS = 3
    events = [await record(organization=organization, board=board) for _ in range(4)]
    communicator = await open_board(user, board, f"?last_event_id={events[0].position}")
    assert [e["id"] for e in await receive_events(communicator, 3)] == [e.pk for e in events[1:]]
    assert (await receive(communicator))["truncated"] is False
    await communicator.disconnect()


async def test_replay_skips_events_older_than_the_age_bound(board, user, organization, settings):
    settings.REPLAY_MAX_AGE_SECONDS = 60
    old = await record(organization=organization, board=board)
    recent = await record(organization=organization, board=board)
    await database_sync_to_async(ActivityEvent.objects.filter(pk=old.pk).update)(
        created_at=timezone.now() - timedelta(seconds=61)
    )
    communicator = await open_board(user, board, f"?last_event_id={old.position - 1}")
    assert [e["id"] for e in await receive_events(communicator, 1)] == [recent.pk]
    done = await receive(communicator)
    assert done["truncated"] is True and done["count"] == 1
    await communicator.disconnect()


async def test_hello_carries_the_newest_event_id_of_the_stream(board, user, organization):
    await record(organization=organization, board=board)
    newest = await record(organization=organization, board=board)
    await record(organization=organization, verb="agent.presence_changed")  # not this board's
    communicator = await browser_socket(user, f"/ws/boards/{board.pk}/")
    await communicator.connect()
    assert (await receive(communicator))["last_event_id"] == newest.position
    await communicator.disconnect()


async def test_a_malformed_last_event_id_means_no_replay(board, user, organization):
    await record(organization=organization, board=board)
    communicator = await open_board(user, board, "?last_event_id=abc")
    await assert_silent(communicator)
    await communicator.disconnect()


async def test_it_answers_pings_up_to_the_rate_and_closes_a_flood_with_4008(board, user, settings):
    settings.WS_RATE = 5
    communicator = await open_board(user, board)
    before = WEBSOCKET_POLICY_CLOSES.labels(stream="board", reason="policy: flood")._value.get()
    for _ in range(5):
        await communicator.send_json_to({"type": "ping"})
        assert await receive(communicator) == {"type": "pong"}
    await communicator.send_json_to({"type": "ping"})
    assert await closed_with(communicator) == CLOSE_FLOOD
    assert WEBSOCKET_POLICY_CLOSES.labels(stream="board", reason="policy: flood")._value.get() == before + 1
    entry = await database_sync_to_async(ActivityEvent.objects.filter(verb="stream.flood_closed").get)()
    assert entry.board_id == board.pk and entry.actor_user_id == user.pk
    assert entry.detail == {"stream": "board", "limit_per_second": 5, "close_code": CLOSE_FLOOD}


async def test_the_default_rate_allows_thirty_messages_a_second(board, user):
    communicator = await open_board(user, board)
    for _ in range(30):
        await communicator.send_json_to({"type": "ping"})
    for _ in range(30):
        assert await receive(communicator) == {"type": "pong"}
    await communicator.send_json_to({"type": "ping"})
    assert await closed_with(communicator) == CLOSE_FLOOD


async def test_it_accepts_a_message_at_the_size_limit_and_closes_above_it_with_1009(board, user, settings):
    settings.WS_MAX_MESSAGE_BYTES = 64
    communicator = await open_board(user, board)
    at_limit = '{"type":"ping","pad":"' + "x" * (64 - 24) + '"}'
    assert len(at_limit.encode()) == 64
    await communicator.send_to(text_data=at_limit)
    assert await receive(communicator) == {"type": "pong"}
    await communicator.send_to(text_data=at_limit[:-2] + 'x"}')
    assert await closed_with(communicator) == CLOSE_TOO_BIG


async def test_it_pings_an_idle_socket_and_closes_it_when_unanswered(board, user, settings):
    settings.WS_IDLE_TIMEOUT_SECONDS = 1
    communicator = await open_board(user, board)
    assert await receive(communicator, timeout=2) == {"type": "ping"}
    await communicator.send_json_to({"type": "pong"})
    assert await receive(communicator, timeout=2) == {"type": "ping"}
    assert await closed_with(communicator, timeout=2.5) == CLOSE_IDLE


async def test_it_answers_nonsense_with_an_error_and_stays_open(board, user):
    communicator = await open_board(user, board)
    await communicator.send_to(text_data="not json")
    assert (await receive(communicator))["code"] == "bad_message"
    await communicator.send_json_to({"type": "launch-missiles"})
    assert (await receive(communicator))["code"] == "unknown_type"
    await communicator.send_json_to({"type": "ping"})
    assert await receive(communicator) == {"type": "pong"}
    await communicator.disconnect()


async def test_the_open_socket_gauge_follows_connections(board, user):
    gauge = OPEN_WEBSOCKETS.labels(stream="board")
    before = gauge._value.get()
    communicator = await open_board(user, board)
    assert gauge._value.get() == before + 1
    await communicator.disconnect()
    assert gauge._value.get() == before


async def test_the_activity_stream_carries_the_current_organization_only(
    user, organization, other_organization, board
):
    communicator = await browser_socket(user, "/ws/activity/")
    connected, _ = await communicator.connect()
    assert connected
    assert (await receive(communicator))["stream"] == "activity"
    await record(
        organization=other_organization, verb="agent.presence_changed", target_type="agent", target_id=7
    )
    mine = await record(
        organization=organization,
        verb="agent.presence_changed",
        target_type="agent",
        target_id=8,
        detail={"agent_id": 8, "presence": "online"},
    )
    on_board = await record(organization=organization, board=board, verb="task.created")
    assert [e["id"] for e in await receive_events(communicator, 2)] == [mine.pk, on_board.pk]
    await assert_silent(communicator)
    await communicator.disconnect()


async def test_the_activity_stream_refuses_anonymous_users():
    communicator = await browser_socket(None, "/ws/activity/")
    assert await communicator.connect() == (False, CLOSE_UNAUTHENTICATED)


async def test_a_member_removed_while_connected_is_cut_off(board, teammate, monkeypatch):
    monkeypatch.setattr(stream_base, "REAUTHORIZE_SECONDS", 0.3)
    communicator = await open_board(teammate, board)
    await database_sync_to_async(Membership.objects.filter(user=teammate).delete)()
    assert await closed_with(communicator) == CLOSE_FORBIDDEN


async def test_a_member_still_in_place_stays_connected_across_rechecks(
    board, user, organization, monkeypatch
):
    monkeypatch.setattr(stream_base, "REAUTHORIZE_SECONDS", 0.2)
    communicator = await open_board(user, board)
    await assert_silent(communicator, wait=0.6)
    event = await record(organization=organization, board=board)
    assert [e["id"] for e in await receive_events(communicator, 1)] == [event.pk]
    await communicator.disconnect()


async def test_the_board_stream_carries_presence_of_the_boards_agents_only(board, user, organization):
    on_board = await database_sync_to_async(AgentFactory)(organization=organization, name="on-board")
    await database_sync_to_async(on_board.boards.add)(board)
    elsewhere = await database_sync_to_async(AgentFactory)(organization=organization, name="elsewhere")
    before = await record(organization=organization, board=board)
    missed = await record(
        organization=organization,
        verb="agent.presence_changed",
        target_type="agent",
        target_id=on_board.pk,
        detail={"agent_id": on_board.pk, "presence": "idle"},
    )
    communicator = await open_board(user, board, f"?last_event_id={before.position}")
    assert [e["id"] for e in await receive_events(communicator, 1)] == [missed.pk]
    assert (await receive(communicator))["type"] == "replay.done"
    await record(
        organization=organization, verb="agent.presence_changed", target_type="agent", target_id=elsewhere.pk
    )
    await record(
        organization=organization, verb="agent.token_issued", target_type="agent", target_id=on_board.pk
    )
    live = await record(
        organization=organization,
        verb="agent.presence_changed",
        target_type="agent",
        target_id=on_board.pk,
        detail={"agent_id": on_board.pk, "presence": "online"},
    )
    assert [e["id"] for e in await receive_events(communicator, 1)] == [live.pk]
    await assert_silent(communicator)
    await communicator.disconnect()


async def test_the_activity_stream_follows_the_organization_picked_in_the_switcher(
    user, organization, other_organization
):
    await database_sync_to_async(MembershipFactory)(organization=other_organization, user=user)
    communicator = await browser_socket(
        user, "/ws/activity/", session={"current_organization_id": other_organization.pk}
    )
    connected, _ = await communicator.connect()
    assert connected
    assert (await receive(communicator))["stream"] == "activity"
    await record(organization=organization, verb="agent.presence_changed")
    picked = await record(organization=other_organization, verb="agent.presence_changed")
    assert [e["id"] for e in await receive_events(communicator, 1)] == [picked.pk]
    await assert_silent(communicator)
    await communicator.disconnect()


async def test_a_refused_handshake_never_reads_the_channel_layer(board, user, monkeypatch):
    """Most refused handshakes carry no valid credentials: they cost no Redis read, and leave
    none pending (a pending read cancelled with its event loop could hang that loop's close)."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    reads = []
    original = layer.receive

    async def counting_receive(channel):
        reads.append(channel)
        return await original(channel)

    monkeypatch.setattr(layer, "receive", counting_receive)
    refused = await browser_socket(None, f"/ws/boards/{board.pk}/")
    assert await refused.connect() == (False, CLOSE_UNAUTHENTICATED)
    await refused.disconnect()
    foreign = await browser_socket(user, f"/ws/boards/{board.pk}/", origin=b"https://evil.example")
    assert not (await foreign.connect())[0]
    assert reads == []
    accepted = await open_board(user, board)
    await assert_silent(accepted, wait=0.1)
    assert len(reads) == 1
    await accepted.disconnect()
