"""The live publisher: the first log consumer, pushing each committed event to the open streams."""

from __future__ import annotations

from collections.abc import Sequence

from activity.models import ActivityEvent
from activity.payloads import activity_payload
from infra import realtime


def publish_events(events: Sequence[ActivityEvent]) -> None:
    """Publish a batch in commit order; raises if the channel layer refuses a send, so the cursor
    stays put and the batch is published again (streams drop what they already sent, by id)."""
    realtime.publish_events_in_order(
        [
            (
                activity_payload(event),
                realtime.groups_for_activity(
                    organization_id=event.organization_id,
                    board_id=event.board_id,
                    agent_ids=event.notify_agent_ids or (),
                ),
            )
            for event in events
            if event.live
        ]
    )
