"""The event types this app records, with their sentences (activity.registry); register() is
listed in settings.ACTIVITY_EVENT_TYPES."""

from __future__ import annotations

from django.utils.html import format_html

from activity.registry import register_category, register_event_type


def _count(value) -> str:
    """34362000 reads "34,362,000" (an old event's odd value is shown as it is)."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def _reported(event):
    detail = event.detail or {}
    return format_html(
        "{} reported usage: {} tokens, ${}",
        event.actor_label,
        _count(detail.get("total_tokens", 0)),
        detail.get("cost", "0"),
    )


def _budget_crossed(event):
    detail = event.detail or {}
    return format_html(
        "A {} {} budget passed {}% (${} of ${})",
        detail.get("period", ""),
        detail.get("scope", ""),
        detail.get("threshold", ""),
        detail.get("spent", "0"),
        detail.get("limit", "0"),
    )


def _budget_set(event):
    detail = event.detail or {}
    return format_html(
        "{} set a {} {} budget of ${}{}",
        event.actor_label,
        detail.get("period", ""),
        detail.get("scope", ""),
        detail.get("limit", "0"),
        " with a hard stop" if detail.get("hard_stop") else "",
    )


def _budget_removed(event):
    detail = event.detail or {}
    return format_html(
        "{} removed the {} {} budget of ${}",
        event.actor_label,
        detail.get("period", ""),
        detail.get("scope", ""),
        detail.get("limit", "0"),
    )


def register() -> None:
    """Called in order from settings.ACTIVITY_EVENT_TYPES (activity.registry.load_event_types)."""
    register_category("usage", "Usage")
    register_event_type(
        "usage.reported", category="usage", label="Usage reported", sentence=_reported, on_board_feed=False
    )
    register_event_type(
        "usage.budget_crossed", category="usage", label="Budget threshold passed", sentence=_budget_crossed
    )
    register_event_type("usage.budget_set", category="usage", label="Budget set", sentence=_budget_set)
    register_event_type(
        "usage.budget_removed", category="usage", label="Budget removed", sentence=_budget_removed
    )
