"""missioncontrol.websocket_origin: foreign origins refused, cookies without an Origin dropped."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from missioncontrol.websocket_origin import OriginValidator


class ScopeRecorder:
    """An inner app that accepts and remembers the scope it was given."""

    def __init__(self) -> None:
        self.scope = None

    async def __call__(self, scope, receive, send):
        self.scope = scope
        await receive()
        await send({"type": "websocket.accept"})
        await receive()


async def handshake(headers):
    inner = ScopeRecorder()
    communicator = WebsocketCommunicator(OriginValidator(inner), "/ws/agent/", headers=headers)
    connected, _ = await communicator.connect()
    if connected:
        await communicator.disconnect()
    return connected, inner.scope


async def test_a_handshake_without_origin_loses_its_cookie():
    connected, scope = await handshake([(b"cookie", b"sessionid=stolen"), (b"authorization", b"Bearer x")])
    assert connected
    assert dict(scope["headers"]) == {b"authorization": b"Bearer x"}


async def test_an_allowed_origin_keeps_its_cookie():
    connected, scope = await handshake([(b"origin", b"http://localhost:8000"), (b"cookie", b"sessionid=abc")])
    assert connected
    assert dict(scope["headers"])[b"cookie"] == b"sessionid=abc"


@pytest.mark.parametrize("origin", [b"https://evil.example", b"null", b"http://localhost.evil.example"])
async def test_a_foreign_origin_is_refused(origin):
    connected, scope = await handshake([(b"origin", origin), (b"cookie", b"sessionid=abc")])
    assert not connected and scope is None
