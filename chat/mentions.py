"""@mentions: found in a message's text, resolved to people and agents, rendered as links.

`@name` names a member of the board's organization (by username) or an active agent on the
board (by name), case-insensitively; `@here` and `@board` name everyone on the board. A name is
letters, digits, `_`, `.` and `-` (trailing `.`/`-` are punctuation, not name): an agent whose
name has spaces cannot be mentioned by text, so the composer only offers names that can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from agents.models import Agent, AgentStatus
from boards.markdown import render_markdown
from boards.models import Board

User = get_user_model()
MENTION_PATTERN = re.compile(r"(?<![\w@./:-])@([A-Za-z0-9_][\w.\-]*)")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][\w.\-]*$")
BROADCAST_NAMES = frozenset({"here", "board"})
AUTOCOMPLETE_LIMIT = 8


@dataclass
class Mentions:
    users: list = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    here: bool = False


def mentioned_names(text: str) -> set[str]:
    return {match.group(1).rstrip(".-").lower() for match in MENTION_PATTERN.finditer(text or "")} - {""}


def board_members(board: Board) -> QuerySet:
    return User.objects.filter(memberships__organization_id=board.organization_id, is_active=True)


def board_agents(board: Board) -> QuerySet[Agent]:
    return Agent.objects.filter(
        boards=board, organization_id=board.organization_id, status=AgentStatus.ACTIVE
    )


def resolve_mentions(*, board: Board, text: str) -> Mentions:
    """The people and agents `text` names, each once; two queries at most."""
    names = mentioned_names(text)
    found = Mentions(here=bool(names & BROADCAST_NAMES))
    names -= BROADCAST_NAMES
    if names:
        found.users = list(
            board_members(board).annotate(lname=Lower("username")).filter(lname__in=names).order_by("pk")
        )
        found.agents = list(
            board_agents(board).annotate(lname=Lower("name")).filter(lname__in=names).order_by("pk")
        )
    return found


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
