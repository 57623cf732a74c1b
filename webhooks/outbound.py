"""Outbound deliveries: activity events fanned out to subscriptions and push-mode agents.

(Interface in place; the delivery machinery lands with the deliveries feature.)
"""

from __future__ import annotations

from collections.abc import Iterable

from boards.models import ActivityEvent
from webhooks.models import Delivery


def create_deliveries_for_event(event: ActivityEvent, agent_ids: Iterable[int] = ()) -> list[Delivery]:
    """Called by record_activity inside the writing transaction; deliveries are sent on commit."""
    return []
