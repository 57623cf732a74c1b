"""The event-type registry: every verb the code records, with its category and a human sentence.

Feeds, filters, toasts and subscription forms read this instead of printing raw verbs. Each app
registers its own types in a `register()` function of `<app>/events.py`; the functions are listed
in settings.ACTIVITY_EVENT_TYPES (the one place, in order, like ACTIVITY_LOG_CONSUMERS) and called
when this app is ready. Tests fail for a verb the code emits without a registration.

A sentence callable takes the ActivityEvent and returns a SafeString built with `format_html`
(every value from `detail` is escaped there). It must not query the database: a feed renders
fifty of them, so it reads `event.detail`, `event.actor_*`, `event.board_id` and `event.target_id`,
which the service that recorded the event filled in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

logger = logging.getLogger(__name__)

Sentence = Callable[[Any], SafeString]

# Dotted lower-case names, as the house style says (`task.status_changed`).
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")

# Human names for the filter menus, in the order menus show them. Apps with a new category call
# register_category(); an unknown key falls back to its capitalised self.
_category_labels: dict[str, str] = {
    "task": "Tasks",
    "comment": "Comments",
    "approval": "Approvals",
    "board": "Boards",
    "webhook": "Webhooks",
    "agent": "Agents",
    "delivery": "Deliveries",
    "subscription": "Subscriptions",
    "tag": "Tags",
    "member": "Members",
    "auth": "Sign-ins",
    "ops": "Operations",
}


@dataclass(frozen=True)
class EventType:
    """One registered verb: how filters group it, how menus name it, how feeds say it."""

    name: str
    category: str
    label: str
    sentence: Sentence
    on_board_feed: bool = True

    @property
    def category_label(self) -> str:
        return category_label(self.category)


_types: dict[str, EventType] = {}


def register_event_type(
    name: str,
    *,
    category: str,
    label: str,
    sentence: Sentence,
    on_board_feed: bool = True,
) -> None:
    """Make `name` readable. A second registration of one name is a bug (two apps, one verb)."""
    if not EVENT_NAME.match(name):
        raise ValueError(f"event type {name!r}: use a dotted lower-case name such as 'task.moved'")
    if not callable(sentence):
        raise TypeError(f"event type {name!r}: sentence must be a callable returning format_html(...)")
    if name in _types:
        raise ValueError(f"event type {name!r} is registered twice")
    _types[name] = EventType(
        name=name, category=category, label=label, sentence=sentence, on_board_feed=on_board_feed
    )


def load_event_types() -> None:
    """Call every registration function of settings.ACTIVITY_EVENT_TYPES, in order; once."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    if _types:
        return
    for path in settings.ACTIVITY_EVENT_TYPES:
        import_string(path)()


def register_category(key: str, label: str) -> None:
    """Name a category for filter menus (new categories go after the built-in ones)."""
    _category_labels[key] = label


def get_event_type(name: str) -> EventType | None:
    return _types.get(name)


def is_registered(name: str) -> bool:
    return name in _types


def event_types() -> list[EventType]:
    """Every registered type, grouped by category in menu order, then by label."""
    order = {key: index for index, key in enumerate(_category_labels)}
    return sorted(_types.values(), key=lambda t: (order.get(t.category, len(order)), t.category, t.label))


def category_label(key: str) -> str:
    return _category_labels.get(key) or key.replace("_", " ").capitalize()


def categories(*, board_feed_only: bool = False) -> list[tuple[str, str]]:
    """(key, human name) of every category with at least one type, in menu order."""
    seen: dict[str, str] = {}
    for event_type in event_types():
        if board_feed_only and not event_type.on_board_feed:
            continue
        seen.setdefault(event_type.category, event_type.category_label)
    return list(seen.items())


def verbs_in_category(key: str) -> list[str]:
    return [t.name for t in event_types() if t.category == key]


def board_feed_verbs() -> list[str]:
    """The verbs a board's feed shows by default: work, not presence, deliveries or sign-ins."""
    return [t.name for t in event_types() if t.on_board_feed]


def choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped (category, [(name, label)]) choices for a form's multi-select."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for event_type in event_types():
        grouped.setdefault(event_type.category_label, []).append((event_type.name, event_type.label))
    return list(grouped.items())


def describe(event: Any) -> SafeString:
    """The event as a sentence; an unknown verb or a sentence that fails still reads sensibly."""
    event_type = _types.get(event.verb)
    if event_type is not None:
        try:
            return event_type.sentence(event)
        except Exception:  # a feed must render even if one old event lacks a detail key
            logger.exception("event type %s: the sentence failed for event %s", event.verb, event.pk)
    return format_html("{} recorded {}", actor(event), event.verb)


# --- building blocks for sentences ---------------------------------------------------------------


def url_or_none(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def link(url: str | None, text: Any) -> SafeString:
    """A link when there is somewhere to go, else the escaped text."""
    if not url:
        return format_html("{}", text)
    return format_html('<a href="{}">{}</a>', url, text)


def quoted(text: Any, fallback: str = "a task") -> SafeString:
    return format_html("\u2018{}\u2019", text) if text else format_html("{}", fallback)


def actor(event: Any) -> SafeString:
    """Who did it, linked to the agent's page when an agent did."""
    label = event.actor_label or "Someone"
    if event.actor_kind == "agent" and event.actor_agent_id:
        return link(url_or_none("agents:agent-detail", event.actor_agent_id), label)
    if event.actor_kind == "system":
        return mark_safe("Mission Control")
    return format_html("{}", label)


def detail(event: Any) -> dict[str, Any]:
    return event.detail if isinstance(event.detail, dict) else {}


def task_link(event: Any, *, key: str = "task_id", title_key: str = "title") -> SafeString:
    """The quoted title linked to the task's page (plain when the task or board is not known)."""
    d = detail(event)
    task_id = d.get(key) or (event.target_id if event.target_type == "task" and key == "task_id" else None)
    url = (
        url_or_none("boards:task-detail", event.board_id, int(task_id))
        if (event.board_id and str(task_id or "").isdigit())
        else None
    )
    return link(url, quoted(d.get(title_key)))


def agent_link(event: Any, *, name_key: str = "name") -> SafeString:
    d = detail(event)
    agent_id = d.get("agent_id") or (event.target_id if event.target_type == "agent" else None)
    name = d.get(name_key) or "an agent"
    url = url_or_none("agents:agent-detail", int(agent_id)) if str(agent_id or "").isdigit() else None
    return link(url, name)
