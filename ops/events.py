"""Event types recorded by operations: sign-ins, backups and secret re-encryption."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import mark_safe

from activity.registry import actor, detail, register_event_type


def register() -> None:
    register_event_type(
        "auth.login",
        category="auth",
        label="Signed in",
        on_board_feed=False,
        sentence=lambda e: format_html(
            "{} signed in{}",
            actor(e),
            format_html(" from {}", detail(e)["ip"]) if detail(e).get("ip") else "",
        ),
    )
    register_event_type(
        "auth.login_failed",
        category="auth",
        label="Failed sign-in",
        on_board_feed=False,
        sentence=lambda e: format_html(
            "Someone failed to sign in as {}{}",
            detail(e).get("username") or "a member",
            format_html(" from {}", detail(e)["ip"]) if detail(e).get("ip") else "",
        ),
    )
    register_event_type(
        "backup.failed",
        category="ops",
        label="Backup failed",
        on_board_feed=False,
        sentence=lambda e: mark_safe("The database backup failed; an administrator has the details"),
    )
    register_event_type(
        "secrets.reencrypted",
        category="ops",
        label="Secrets re-encrypted",
        on_board_feed=False,
        sentence=lambda e: format_html(
            "{} re-encrypted {} stored secret{} with the current key",
            actor(e),
            detail(e).get("secrets") or 0,
            "" if detail(e).get("secrets") == 1 else "s",
        ),
    )
