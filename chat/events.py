"""Activity event types of board chat (register() is listed in settings.ACTIVITY_EVENT_TYPES)."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from activity.models import ActivityEvent
from activity.registry import register_category, register_event_type, task_link
from boards.markdown import plain_text


def _excerpt(event: ActivityEvent) -> str:
    text = plain_text((event.detail or {}).get("excerpt", ""))
    return text if len(text) <= 80 else text[:79] + "…"


def _posted(event: ActivityEvent) -> SafeString:
    if (event.detail or {}).get("thread_task_id"):
        # A task's thread is its conversation: the post is its comment.
        link = task_link(event, key="thread_task_id", title_key="thread_task_title")
        return format_html("{} commented on {}: “{}”", event.actor_label, link, _excerpt(event))
    return format_html("{} wrote in the chat: “{}”", event.actor_label, _excerpt(event))


def _edited(event: ActivityEvent) -> SafeString:
    return format_html("{} edited a chat message: “{}”", event.actor_label, _excerpt(event))


def _deleted(event: ActivityEvent) -> SafeString:
    return format_html("{} deleted a chat message", event.actor_label)


def _pinned(event: ActivityEvent) -> SafeString:
    return format_html("{} pinned “{}” to the board's memory", event.actor_label, _excerpt(event))


def _unpinned(event: ActivityEvent) -> SafeString:
    return format_html("{} unpinned “{}”", event.actor_label, _excerpt(event))


def _mentioned(event: ActivityEvent) -> SafeString:
    detail = event.detail or {}
    count = len(detail.get("user_ids", [])) + len(detail.get("agent_ids", []))
    return format_html(
        "{} mentioned {} in the chat",
        event.actor_label,
        "everyone on the board" if detail.get("here") else f"{count} people and agents",
    )


def register() -> None:
    """Called in order from settings.ACTIVITY_EVENT_TYPES (activity.registry.load_event_types)."""
    register_category("chat", "Chat")
    for _name, _label, _sentence, _on_feed in (
        ("chat.message_posted", "Chat message", _posted, True),
        ("chat.message_edited", "Chat message edited", _edited, True),
        ("chat.message_deleted", "Chat message deleted", _deleted, True),
        ("chat.message_pinned", "Chat message pinned", _pinned, True),
        ("chat.message_unpinned", "Chat message unpinned", _unpinned, True),
        # Addressed to the agents it names (their streams and push deliveries); the post is on the feed.
        ("chat.mentioned", "Mentioned in chat", _mentioned, False),
    ):
        register_event_type(_name, category="chat", label=_label, sentence=_sentence, on_board_feed=_on_feed)
