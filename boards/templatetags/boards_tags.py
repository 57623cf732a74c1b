"""Template helpers for boards pages: safe Markdown, the organization switcher, labels."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from activity import registry
from boards.markdown import render_markdown
from core.access import current_organization, organizations_of

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str, mentions: dict[str, str] | None = None) -> SafeString:
    """`{{ body|markdown }}`, or `{{ body|markdown:mentions }}` to link @names (see link_mentions)."""
    return render_markdown(text, mentions)


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


@register.filter
def describe_event(event) -> SafeString:
    """The event's sentence from the activity registry (escaped values, links to its objects)."""
    return registry.describe(event)
