"""@mentions in text people and agents write: one parser for board chat and task threads (a
task's comments are its thread's messages, so they are parsed here too).

`@name` names a member of the board's organization (by username) or an active agent on the
board (by name), case-insensitively; `@here` and `@board` name everyone on the board. A name is
letters, digits, `_`, `.` and `-` (trailing `.`/`-` are punctuation, not name): an agent whose
name has spaces cannot be mentioned by text, so the composer only offers names that can.

It lives with the boards (below chat), next to the boards and members it reads; chat.services
resolves with it, and chat.mentions adds the composer's candidates and the rendering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.db.models.functions import Lower

from boards.models import Board
from core.vocabulary import AgentStatus

User = get_user_model()
MENTION_PATTERN = re.compile(r"(?<![\w@./:-])@([A-Za-z0-9_][\w.\-]*)")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][\w.\-]*$")
BROADCAST_NAMES = frozenset({"here", "board"})
AUTOCOMPLETE_LIMIT = 8


@dataclass
class Mentions:
    users: list = field(default_factory=list)
    agents: list = field(default_factory=list)
    here: bool = False


def mentioned_names(text: str) -> set[str]:
    return {match.group(1).rstrip(".-").lower() for match in MENTION_PATTERN.finditer(text or "")} - {""}


def board_members(board: Board) -> QuerySet:
    return User.objects.filter(memberships__organization_id=board.organization_id, is_active=True)


def board_agents(board: Board) -> QuerySet:
    return board.agents.filter(organization_id=board.organization_id, status=AgentStatus.ACTIVE)


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
