"""Event types recorded by the overview app (activity registry). OverviewConfig.ready() calls register()."""

from __future__ import annotations

from django.utils.html import format_html

from activity.registry import actor, register_event_type


def register() -> None:
    register_event_type(
        "onboarding.dismissed",
        category="member",
        label="Checklist hidden",
        on_board_feed=False,
        sentence=lambda e: format_html("{} hid the getting-started checklist", actor(e)),
    )
