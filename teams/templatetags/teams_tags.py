"""The grouped board navigator (the "sidebar" list of boards by group) for board pages."""

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
