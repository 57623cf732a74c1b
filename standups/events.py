"""Event types recorded by standups."""

from __future__ import annotations

from django.utils.html import format_html

from activity.registry import actor, detail, link, register_category, register_event_type


def _posted(event):
    d = detail(event)
    what = "the board" if d.get("scope") == "board" else "the organization"
    return format_html(
        "{} {} for {} was posted",
        link(d.get("url"), "The standup"),
        format_html("of {} \u2018{}\u2019", what, d.get("name")) if d.get("name") else what,
        d.get("date") or "a day",
    )


def _settings(event):
    d = detail(event)
    return format_html(
        "{} changed the standup settings (sent after {}:00, {})",
        actor(event),
        d.get("hour", "?"),
        d.get("time_zone") or "UTC",
    )


def _email(event):
    d = detail(event)
    return format_html(
        "{} {} the {} standup by email",
        actor(event),
        "subscribed to" if d.get("enabled") else "unsubscribed from",
        "board's" if d.get("scope") == "board" else "organization's",
    )


def register() -> None:
    register_category("standup", "Standups")
    register_event_type("standup.posted", category="standup", label="Standup posted", sentence=_posted)
    register_event_type(
        "standup.settings_updated",
        category="standup",
        label="Standup settings changed",
        sentence=_settings,
        on_board_feed=False,
    )
    register_event_type(
        "standup.email_changed",
        category="standup",
        label="Standup email subscription changed",
        sentence=_email,
        on_board_feed=False,
    )
