"""The pipeline strip of the board page: boards sits below automations and loads this tag rather
than import it."""

from __future__ import annotations

from django import template

from automations.engine import Action
from automations.models import Pipeline
from automations.services import pipeline_progress
from boards.models import TaskStatus

register = template.Library()
SHOWN = 5


@register.inclusion_tag("automations/partials/board_pipelines.html", takes_context=True)
def board_pipelines(context, board) -> dict:
    """The board's newest unfinished pipelines with their progress (nothing when there is none)."""
    unfinished = (
        Pipeline.objects.filter(board=board)
        .filter(steps__task__status__in=[s for s in TaskStatus.values if s != TaskStatus.DONE])
        .distinct()
        .order_by("-id")[:SHOWN]
    )
    # A live region (a pipeline started, a step done): live_region reads the page's request.
    return {
        "board": board,
        "request": context.get("request"),
        "pipelines": [{"pipeline": p, "progress": pipeline_progress(p)} for p in unfinished],
    }


@register.filter
def action_label(name: str) -> str:
    """“Post to the board's chat” for post_chat (unknown names as they are)."""
    return Action.LABELS.get(name, name or "—")
