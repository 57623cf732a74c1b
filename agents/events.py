"""Event types recorded by agents: lifecycle, tokens, presence, status and claims."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import mark_safe

from activity.registry import actor, agent_link, detail, register_event_type, task_link


def _token(event) -> str:
    name = detail(event).get("token_name")
    return format_html("the token \u2018{}\u2019", name) if name else mark_safe("a token")


def _presence(event):
    d = detail(event)
    presence = d.get("presence") or "offline"
    return format_html("{} is now {}", agent_link(event), presence)


def _status(event):
    text = detail(event).get("status_text") or ""
    if not text:
        return format_html("{} cleared its status", agent_link(event))
    return format_html("{} is “{}”", agent_link(event), text)


def register() -> None:
    for verb, label, phrase in (
        ("agent.created", "Agent created", "added the agent"),
        ("agent.updated", "Agent changed", "changed the agent"),
        ("agent.suspended", "Agent suspended", "suspended"),
        ("agent.resumed", "Agent resumed", "resumed"),
        ("agent.deleted", "Agent deleted", "deleted the agent"),
    ):
        register_event_type(
            verb,
            category="agent",
            label=label,
            on_board_feed=False,
            sentence=lambda e, phrase=phrase: format_html("{} {} {}", actor(e), phrase, agent_link(e)),
        )
    for verb, label, phrase in (
        ("agent.token_issued", "Agent token issued", "issued {} for {}"),
        ("agent.token_rotated", "Agent token rotated", "rotated {} of {}"),
        ("agent.token_revoked", "Agent token revoked", "revoked {} of {}"),
    ):
        register_event_type(
            verb,
            category="agent",
            label=label,
            on_board_feed=False,
            sentence=lambda e, phrase=phrase: format_html("{} " + phrase, actor(e), _token(e), agent_link(e)),
        )
    register_event_type(
        "agent.token_first_used",
        category="agent",
        label="Agent token first used",
        on_board_feed=False,
        sentence=lambda e: format_html("{} made its first call with {}", agent_link(e), _token(e)),
    )
    register_event_type(
        "agent.presence_changed",
        category="agent",
        label="Agent online/offline",
        on_board_feed=False,
        sentence=_presence,
    )
    register_event_type(
        "agent.status_changed",
        category="agent",
        label="Agent status text",
        on_board_feed=False,
        sentence=_status,
    )
    register_event_type(
        "task.claimed",
        category="task",
        label="Task claimed by an agent",
        sentence=lambda e: format_html("{} claimed {}", actor(e), task_link(e)),
    )
