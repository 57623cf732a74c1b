"""/ws/notifications/: a person's unread notification count, live, for the bell on every page.

Sends `{"type": "notifications", "unread": N}` on connect and after every change (a new
notification, a read, mark all read), from any process: the count is published to the
person's own group (realtime.user_group) after commit. Nothing to replay: the first message
is always the current count.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from activity.streams import CLOSE_UNAUTHENTICATED, ActivityStreamConsumer
from infra import realtime
from notifications.services import unread_count


class NotificationConsumer(ActivityStreamConsumer):
    stream = "notifications"

    async def open(self) -> None:
        self.group: str | None = None
        user = self.scope.get("user")
        if not getattr(user, "is_authenticated", False):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.accept_socket()
        # Joined before the count is read: a change in between arrives after it, never lost.
        self.group = realtime.user_group(user.pk)
        await realtime.join_groups(self.channel_name, [self.group])
        unread = await database_sync_to_async(unread_count)(user)
        await self.send_json({"type": "notifications", "unread": unread})

    async def notification_count(self, message: dict[str, Any]) -> None:
        """A published count (realtime.NOTIFICATION_MESSAGE_TYPE)."""
        if not self.closing:
            await self.send_json({"type": "notifications", "unread": message["unread"]})

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if getattr(self, "group", None):
            await realtime.leave_groups(self.channel_name, [self.group])
