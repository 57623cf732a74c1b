"""Event types recorded by teams and the board-group services (activity registry, issue 15).

register() is listed in settings.ACTIVITY_EVENT_TYPES.
"""

from __future__ import annotations

from django.utils.html import format_html

from activity.registry import actor, detail, quoted, register_event_type


def _role(event) -> str:
    return str(detail(event).get("role") or "a member")


def _names(event) -> str:
    names = detail(event).get("names") or []
    return ", ".join(str(n) for n in names) if isinstance(names, list) else ""


SENTENCES = {
    "organization.created": (
        "member",
        "Organization created",
        lambda e: format_html(
            "{} created the organization {}", actor(e), quoted(detail(e).get("name"), "this organization")
        ),
    ),
    "organization.renamed": (
        "member",
        "Organization renamed",
        lambda e: format_html(
            "{} renamed the organization from {} to {}",
            actor(e),
            quoted(detail(e).get("from"), "its old name"),
            quoted(detail(e).get("name"), "a new name"),
        ),
    ),
    "organization.time_zone_changed": (
        "member",
        "Organization time zone changed",
        lambda e: format_html(
            "{} set the organization's time zone to {} (was {})",
            actor(e),
            str(detail(e).get("time_zone") or "another one"),
            str(detail(e).get("from") or "UTC"),
        ),
    ),
    "member.joined": (
        "member",
        "Member joined",
        lambda e: format_html(
            "{} joined as {} (invited by {})", actor(e), _role(e), detail(e).get("invited_by") or "an admin"
        ),
    ),
    "member.left": ("member", "Member left", lambda e: format_html("{} left the organization", actor(e))),
    "invitation.created": (
        "member",
        "Invitation sent",
        lambda e: format_html("{} invited {} as {}", actor(e), detail(e).get("email", "someone"), _role(e)),
    ),
    "invitation.revoked": (
        "member",
        "Invitation revoked",
        lambda e: format_html(
            "{} withdrew the invitation for {}", actor(e), detail(e).get("email", "someone")
        ),
    ),
    "board_group.created": (
        "board",
        "Board group created",
        lambda e: format_html(
            "{} created the board group {}", actor(e), quoted(detail(e).get("name"), "a group")
        ),
    ),
    "board_group.renamed": (
        "board",
        "Board group renamed",
        lambda e: format_html(
            "{} renamed the board group {} to {}",
            actor(e),
            quoted(detail(e).get("from"), "a group"),
            quoted(detail(e).get("name"), "a new name"),
        ),
    ),
    "board_group.reordered": (
        "board",
        "Board groups reordered",
        lambda e: format_html("{} put the board groups in the order {}", actor(e), _names(e)),
    ),
    "board_group.deleted": (
        "board",
        "Board group deleted",
        lambda e: format_html(
            "{} deleted the board group {}", actor(e), quoted(detail(e).get("name"), "a group")
        ),
    ),
}


def register() -> None:
    """Called in order from settings.ACTIVITY_EVENT_TYPES (activity.registry.load_event_types)."""
    for name, (category, label, sentence) in SENTENCES.items():
        register_event_type(name, category=category, label=label, sentence=sentence, on_board_feed=False)
