"""The only caller of the channel layer. Services publish here, on commit; consumers listen.

Group names come only from the helpers below so that publishers and consumers cannot drift.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

# The consumer method that receives published events: "activity.event" -> activity_event().
ACTIVITY_MESSAGE_TYPE = "activity.event"


def board_group(board_id: int) -> str:
    return f"board.{board_id}"


def organization_group(organization_id: int) -> str:
    return f"org.{organization_id}"


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def publish_event(payload: dict[str, Any], groups: Iterable[str]) -> None:
    """Send one event to each group once. Never raises: a dead layer must not fail a write
    that has already committed (clients catch up from the activity table on reconnect)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": ACTIVITY_MESSAGE_TYPE, "event": payload}
    for group in dict.fromkeys(groups):
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception as exc:
            logger.warning("realtime publish to %s failed: %s", group, type(exc).__name__)


def groups_for_activity(
    *, organization_id: int, board_id: int | None, agent_ids: Iterable[int] = ()
) -> list[str]:
    groups = [organization_group(organization_id)]
    if board_id is not None:
        groups.append(board_group(board_id))
    groups.extend(agent_group(agent_id) for agent_id in agent_ids)
    return groups
