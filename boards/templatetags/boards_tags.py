"""Template helpers for boards pages: safe Markdown, the organization switcher, labels."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from boards.markdown import render_markdown
from core.access import current_organization, organizations_of

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(text)


@register.inclusion_tag("boards/partials/org_switcher.html", takes_context=True)
def org_switcher(context) -> dict:
    """The organizations of the signed-in user and the current one (kept in the session)."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"organizations": [], "current": None}
    organizations = organizations_of(request)
    return {
        "organizations": organizations,
        "current": current_organization(request, organizations=organizations),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


STATUS_LABELS = {
    "inbox": "Inbox",
    "in_progress": "In progress",
    "review": "Review",
    "done": "Done",
    "blocked": "Blocked",
}


def _quoted(detail: dict, key: str = "title") -> str:
    value = detail.get(key)
    return f"“{value}”" if value else "a task"


@register.filter
def describe_event(event) -> str:
    """One plain-text sentence for a feed entry (escaped by the template like any text)."""
    d = event.detail or {}
    verb = event.verb
    if verb == "task.status_changed":
        return (
            f"moved {_quoted(d)} from {STATUS_LABELS.get(d.get('from'), d.get('from'))} "
            f"to {STATUS_LABELS.get(d.get('to'), d.get('to'))}"
        )
    sentences = {
        "board.created": lambda: f"created the board {_quoted(d, 'name')}",
        "board.updated": lambda: f"changed the board settings ({', '.join(d.get('fields', []))})",
        "board.archived": lambda: "archived the board",
        "task.created": lambda: f"created {_quoted(d)}",
        "task.updated": lambda: f"edited {_quoted(d)} ({', '.join(d.get('fields', []))})",
        "task.reordered": lambda: f"reordered {_quoted(d)}",
        "task.assigned": lambda: f"assigned {_quoted(d)} to {d.get('assignee') or 'nobody'}",
        "task.deleted": lambda: f"deleted {_quoted(d)}",
        "task.dependency_added": lambda: f"made {_quoted(d)} depend on {_quoted(d, 'depends_on_title')}",
        "task.dependency_removed": lambda: f"removed a dependency of {_quoted(d)}",
        "comment.added": lambda: f"commented on {_quoted(d)}: {d.get('excerpt', '')}",
        "approval.requested": lambda: f"asked for approval to finish {_quoted(d)}",
        "approval.decided": lambda: f"{'approved' if d.get('approved') else 'rejected'} {_quoted(d)}",
    }
    sentence = sentences.get(verb)
    if sentence is not None:
        return sentence()
    target = f" {event.target_type} {event.target_id}" if event.target_type else ""
    return f"{verb}{target}"

