"""/ws/gateways/<id>/session/?key=<session key>: one gateway session's run, live.

The supervisor publishes each `agent`/`chat` event of the session to the session's group
(realtime.gateway_session_group); this consumer forwards them as
`{"type": "gateway.stream", "event": "chat"|"agent", "payload": {…the gateway's payload…}}`.
Nothing is replayed: the page reads the history (chat.history) through the command queue and
the socket carries what happens next. Members of the gateway's organization only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from activity.streams import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, ActivityStreamConsumer
from gateways.models import Gateway
from infra import realtime

MAX_SESSION_KEY = 200


def _visible(user, gateway_id: int) -> bool:
    return Gateway.objects.visible_to(user).filter(pk=gateway_id).exists()


class GatewaySessionConsumer(ActivityStreamConsumer):
    stream = "gateway-session"

    async def open(self) -> None:
        self.group: str | None = None
        user = self.scope.get("user")
        if not getattr(user, "is_authenticated", False):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        gateway_id = int(self.scope["url_route"]["kwargs"]["gateway_id"])
        query = parse_qs(self.scope.get("query_string", b"").decode())
        key = (query.get("key") or [""])[0]
        if (
            not key
            or len(key) > MAX_SESSION_KEY
            or not await database_sync_to_async(_visible)(user, gateway_id)
        ):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.accept_socket()
        self.group = realtime.gateway_session_group(gateway_id, key)
        await realtime.join_groups(self.channel_name, [self.group])
        await self.send_json({"type": "gateway.subscribed", "session_key": key})

    async def gateway_stream(self, message: dict[str, Any]) -> None:
        """A published run event (realtime.GATEWAY_STREAM_MESSAGE_TYPE)."""
        if not self.closing:
            event = message["event"]
            await self.send_json(
                {"type": "gateway.stream", "event": event["event"], "payload": event["payload"]}
            )

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if getattr(self, "group", None):
            await realtime.leave_groups(self.channel_name, [self.group])
