"""@mentions in board chat: the composer's candidates and links in rendered messages.

Finding and resolving mentions is boards.mentions (a task's comments are its thread's messages).
"""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from boards.markdown import render_markdown
from boards.mentions import (
    AUTOCOMPLETE_LIMIT,
    BROADCAST_NAMES,
    MENTION_PATTERN,
    NAME_PATTERN,
    board_agents,
    board_members,
)
from boards.models import Board


def mention_candidates(*, board: Board, prefix: str) -> list[dict[str, str]]:
    """What the composer offers after `@`: people and agents whose name starts with `prefix`."""
    prefix = prefix.strip().lstrip("@")[:150]
    users = board_members(board).filter(username__istartswith=prefix).order_by("username")
    agents = board_agents(board).filter(name__istartswith=prefix).order_by("name")
    candidates = [
        {"name": u.get_username(), "kind": "user", "label": u.get_username()}
        for u in users[:AUTOCOMPLETE_LIMIT]
    ]
    candidates += [
        {"name": a.name, "kind": "agent", "label": f"{a.name} (agent)"}
        for a in agents[:AUTOCOMPLETE_LIMIT]
        if NAME_PATTERN.match(a.name)
    ]
    for name in sorted(BROADCAST_NAMES):
        if name.startswith(prefix.lower()):
            candidates.append({"name": name, "kind": "broadcast", "label": f"{name} (everyone on the board)"})
    return candidates[:AUTOCOMPLETE_LIMIT]


# --- rendering -------------------------------------------------------------------------------

_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
# Text inside these is left alone: a link in a link is invalid, and code is literal.
_NO_LINK_TAGS = ("a", "code", "pre")


def _mention_links(message) -> dict[str, str]:
    links: dict[str, str] = {}
    for mention in message.mentions.all():
        if mention.kind == "agent" and mention.agent_id:
            links[mention.name] = reverse("agents:agent-detail", args=[mention.agent_id])
        elif mention.user_id:
            # A person's work on this board: the board filtered to what they are assigned.
            links[mention.name] = reverse("boards:board-detail", args=[message.board_id]) + (
                f"?assignee=user:{mention.user_id}"
            )
    return links


def render_message_body(message) -> SafeString:
    """Sanitised Markdown (boards.markdown) with each structured mention turned into a link.

    Mentions are linked after sanitising, in text nodes only: the names are limited to
    [\\w.-] so they need no escaping, and the links are built here, not from user input.
    """
    html = str(render_markdown(message.body))
    links = _mention_links(message)
    if not links and not message.mentions_here:
        return mark_safe(html)  # noqa: S308 - render_markdown's sanitised output, unchanged

    def link(match: re.Match) -> str:
        name = match.group(1).rstrip(".-")
        key = name.lower()
        tail = match.group(1)[len(name) :]
        if key in links:
            return format_html('<a class="mention" href="{}">@{}</a>{}', links[key], name, tail)
        if key in BROADCAST_NAMES and message.mentions_here:
            return format_html('<span class="mention mention-broadcast">@{}</span>{}', name, tail)
        return match.group(0)

    parts = []
    depth = 0
    for piece in _TAG_OR_TEXT.split(html):
        if piece.startswith("<"):
            tag = piece.strip("</>").split()[0].lower() if piece.strip("</> ") else ""
            if tag in _NO_LINK_TAGS:
                depth += -1 if piece.startswith("</") else 1
            parts.append(piece)
        elif depth <= 0:
            parts.append(MENTION_PATTERN.sub(link, piece))
        else:
            parts.append(piece)
    return mark_safe("".join(parts))  # noqa: S308 - sanitised HTML plus links built by format_html
