"""Boards by group: the sidebar's list on every page, and the compact disclosure on board pages."""

from __future__ import annotations

from django import template

from boards.models import Board
from boards.views import group_sections
from core.access import current_organization

register = template.Library()


@register.inclusion_tag("teams/partials/board_navigator.html", takes_context=True)
def board_navigator(context, board: Board | None = None) -> dict:
    """The boards of the current board's organization (else the current one), under their groups.

    One query: the boards with their groups; the organization comes from the page or the session.
    """
    request = context.get("request")
    organization_id = board.organization_id if board is not None else None
    if organization_id is None and request is not None:
        organization = current_organization(request)
        organization_id = organization.pk if organization else None
    if organization_id is None:
        return {"sections": [], "current": board}
    boards = list(
        Board.objects.filter(organization_id=organization_id, archived=False)
        .select_related("group")
        .order_by("name", "id")
    )
    return {"sections": group_sections(boards), "current": board}


# More boards than this and the sidebar lists the groups' first ones and links to the full list.
SIDEBAR_BOARDS_MAX = 30


@register.inclusion_tag("teams/partials/sidebar_boards.html", takes_context=True)
def sidebar_boards(context) -> dict:
    """The current organization's boards under their groups, for the sidebar (one query).

    The board a page shows (its `board` context) is marked current.
    """
    request = context.get("request")
    organization = current_organization(request) if request is not None else None
    if organization is None:
        return {"sections": []}
    boards = list(
        Board.objects.filter(organization_id=organization.pk, archived=False)
        .select_related("group")
        .order_by("name", "id")[: SIDEBAR_BOARDS_MAX + 1]
    )
    current = context.get("board")
    return {
        "sections": group_sections(boards[:SIDEBAR_BOARDS_MAX]),
        "more": len(boards) > SIDEBAR_BOARDS_MAX,
        "current_id": current.pk if isinstance(current, Board) else None,
    }
