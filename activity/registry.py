"""The event-type registry: a name, a category, a label and a human sentence per event type.

Placeholder with the API fixed in COMMON.md (and h15's `get_event_type`, `register_category`)
until helper h15's registry (issue 15) lands; on merge, h15's module replaces this file whole.
Apps register their types in `<app>/events.py`, imported from AppConfig.ready.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.safestring import SafeString


@dataclass(frozen=True)
class EventType:
    name: str
    category: str
    label: str
    sentence: Callable[..., SafeString]
    on_board_feed: bool = True


_registry: dict[str, EventType] = {}
_category_labels: dict[str, str] = {}


def register_event_type(
    name: str,
    *,
    category: str,
    label: str,
    sentence: Callable[..., SafeString],
    on_board_feed: bool = True,
) -> None:
    _registry[name] = EventType(name, category, label, sentence, on_board_feed)


def register_category(key: str, label: str) -> None:
    _category_labels[key] = label


def get_event_type(name: str) -> EventType | None:
    return _registry.get(name)
