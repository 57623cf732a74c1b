"""/ws/gateways/<id>/session/: members of the gateway's organization get the session's run
events as the supervisor publishes them; anyone else is refused."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from core.actors import Actor
from gateways import services
from gateways.gateway_events import session_stream_payload
from infra import realtime
from tests.realtime.streams import browser_socket, receive

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "agent:main:main"


@pytest.fixture
def gateway(organization, user):
    return services.create_gateway(
        actor=Actor.for_user(user), organization=organization, name="g", url="ws://127.0.0.1:9", token="t"
    )


async def test_a_member_receives_the_sessions_run_events(gateway, viewer):
    socket = await browser_socket(viewer, f"/ws/gateways/{gateway.pk}/session/?key={KEY}")
    connected, _ = await socket.connect()
    assert connected
    assert await receive(socket) == {"type": "gateway.subscribed", "session_key": KEY}
    payload = {"runId": "r1", "sessionKey": KEY, "state": "delta", "deltaText": "hel"}
    await database_sync_to_async(realtime.publish_gateway_session)(
        gateway_id=gateway.pk, session_key=KEY, payload=session_stream_payload(gateway.pk, "chat", payload)
    )
    assert await receive(socket) == {"type": "gateway.stream", "event": "chat", "payload": payload}
    # Another session of the same gateway is not this page's business.
    await database_sync_to_async(realtime.publish_gateway_session)(
        gateway_id=gateway.pk,
        session_key="agent:main:other",
        payload=session_stream_payload(gateway.pk, "chat", {}),
    )
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_an_outsider_is_refused(gateway, outsider):
    socket = await browser_socket(outsider, f"/ws/gateways/{gateway.pk}/session/?key={KEY}")
    assert await socket.connect() == (False, 4403)


async def test_a_socket_without_a_session_key_is_refused(gateway, viewer):
    socket = await browser_socket(viewer, f"/ws/gateways/{gateway.pk}/session/")
    assert await socket.connect() == (False, 4403)


async def test_an_anonymous_socket_is_refused(gateway):
    socket = await browser_socket(None, f"/ws/gateways/{gateway.pk}/session/?key={KEY}")
    assert await socket.connect() == (False, 4401)
