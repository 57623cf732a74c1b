"""The seam through which higher apps act on every recorded event, without activity importing them.

`record_activity` is the one event path, and some apps must write rows in the same transaction
as the event: deliveries creates its outbox rows there, so an event that commits is never lost
to its subscribers and one that rolls back is never sent. Activity sits below those apps, so it
cannot import them; instead each registers a listener in its `AppConfig.ready()`:

    from activity.listeners import register_event_listener
    register_event_listener(create_deliveries_for_event)

A listener is called inside the caller's transaction with the new event and the agent ids the
writer asked to notify. It must be fast (it runs on every write) and may raise to roll the whole
write back. This is a plain list rather than a Django signal so that the order is explicit and
a listener's failure is never swallowed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from activity.models import ActivityEvent

EventListener = Callable[["ActivityEvent", Sequence[int]], None]

_listeners: list[EventListener] = []


def register_event_listener(listener: EventListener) -> None:
    """Call `listener(event, agent_ids)` for every recorded event (idempotent per listener)."""
    if listener not in _listeners:
        _listeners.append(listener)


def event_listeners() -> tuple[EventListener, ...]:
    return tuple(_listeners)
