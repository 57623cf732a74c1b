"""Activity event types of notifications (register() is listed in settings.ACTIVITY_EVENT_TYPES)."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from activity.models import ActivityEvent
from activity.registry import register_category, register_event_type


def _muted(event: ActivityEvent) -> SafeString:
    return format_html("{} muted notifications from “{}”", event.actor_label, event.detail.get("name", ""))


def _unmuted(event: ActivityEvent) -> SafeString:
    return format_html("{} unmuted notifications from “{}”", event.actor_label, event.detail.get("name", ""))


def _watched(event: ActivityEvent) -> SafeString:
    return format_html("{} started watching “{}”", event.actor_label, event.detail.get("title", ""))


def _unwatched(event: ActivityEvent) -> SafeString:
    return format_html("{} stopped watching “{}”", event.actor_label, event.detail.get("title", ""))


def register() -> None:
    """Called in order from settings.ACTIVITY_EVENT_TYPES (activity.registry.load_event_types)."""
    register_category("notifications", "Notifications")
    for _name, _label, _sentence in (
        ("notification.board_muted", "Board muted", _muted),
        ("notification.board_unmuted", "Board unmuted", _unmuted),
        ("notification.task_watched", "Task watched", _watched),
        ("notification.task_unwatched", "Task unwatched", _unwatched),
    ):
        register_event_type(
            _name, category="notifications", label=_label, sentence=_sentence, on_board_feed=False
        )
