"""The event types this app records, for activity.registry (issue 15): import from ready()."""

from __future__ import annotations

from activity.registry import register_event_type
from django.utils.html import format_html


def _reported(event):
    detail = event.detail or {}
    return format_html(
        "{} reported usage: {} tokens, ${}",
        event.actor_label,
        detail.get("total_tokens", 0),
        detail.get("cost", "0"),
    )


register_event_type(
    "usage.reported", category="usage", label="Usage reported", sentence=_reported, on_board_feed=False
)
