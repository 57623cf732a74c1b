"""`{% live_region %}`: the attributes that make an element a live region (static/js/live.js).

A region says what it follows (verb prefixes) and where it refreshes from: by default the page it
sits on, of which htmx keeps only the element with the region's id; with `source=` a URL that
renders the region's inside alone (the overview's fragments). live.js dispatches "live-refresh"
on a region when an event it follows arrives; htmx fetches and swaps it.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def live_region(context, region_id: str, *, follows: str, source: str = "", board: object = "") -> str:
    if not region_id or not follows.strip():
        raise template.TemplateSyntaxError("live_region needs an id and the verb prefixes it follows")
    request = getattr(context, "request", None)
    if not source and request is None:
        raise template.TemplateSyntaxError(
            f"live region #{region_id} has no source: pass source= or a request"
        )
    board_attribute = format_html(' data-live-board="{}"', board) if board else ""
    if source:
        # The source renders the region's inside: swap that in, keep the element.
        swap = format_html('hx-get="{}" hx-swap="innerHTML"', source)
    else:
        swap = format_html(
            'hx-get="{}" hx-select="#{}" hx-swap="outerHTML"', request.get_full_path(), region_id
        )
    # hx-disinherit: htmx attributes inherit, and a button inside the region (a row's Replay,
    # hx-post with its own target) would otherwise filter its answer through the region's
    # hx-select and swap in nothing.
    return format_html(
        'id="{}" data-live-follows="{}"{} {} hx-sync="this:drop" hx-trigger="live-refresh" hx-disinherit="*"',
        region_id,
        follows,
        board_attribute,
        swap,
    )
