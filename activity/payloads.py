"""The one wire shape of an activity event: websockets, SSE, replay, the API and deliveries use it."""

from __future__ import annotations

from typing import Any

from activity.models import ActivityEvent


def activity_payload(event: ActivityEvent) -> dict[str, Any]:
    """The event as clients see it, on websockets, SSE and the activity API alike."""
    return {
        "id": event.id,
        # The cursor: commit order (docs/realtime.md). Clients resume with the last one they saw.
        "position": event.position,
        "verb": event.verb,
        "organization_id": event.organization_id,
        "board_id": event.board_id,
        "actor": {
            "kind": event.actor_kind,
            "label": event.actor_label,
            "user_id": event.actor_user_id,
            "agent_id": event.actor_agent_id,
        },
        "target": {"type": event.target_type, "id": event.target_id},
        "detail": event.detail,
        "request_id": event.request_id,
        "created_at": event.created_at.isoformat(),
    }
