"""What caused the events being written: an automation's firing, carried into their detail.

Automations follow the log and their actions write events that other automations follow; the
loop guard needs to know how deep in such a chain an event is. Inside `caused_by(...)` every
event recorded gets `detail["caused_by"]` = {"kind", "id", "depth"}; nothing else changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

current_cause: ContextVar[dict[str, Any] | None] = ContextVar("current_cause", default=None)


@contextlib.contextmanager
def caused_by(*, kind: str, id: int | None, depth: int) -> Iterator[None]:
    token = current_cause.set({"kind": kind, "id": id, "depth": depth})
    try:
        yield
    finally:
        current_cause.reset(token)


def depth_of(detail: dict[str, Any] | None) -> int:
    """How many automation firings led to an event (0: a person, an agent, a webhook did it)."""
    cause = (detail or {}).get("caused_by")
    if not isinstance(cause, dict):
        return 0
    depth = cause.get("depth")
    return depth if isinstance(depth, int) and depth >= 0 else 0
