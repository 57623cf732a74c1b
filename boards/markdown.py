"""Markdown for task descriptions and comments, rendered to HTML that is safe to show.

Markdown is converted first and the result sanitised with nh3 (an allow-list HTML cleaner):
raw HTML typed by a user or an agent is dropped (script and style with their content), and what
survives is limited to formatting tags and http(s)/mailto links, with no attribute that can run
script or style the page.
"""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text: str) -> SafeString:
    """HTML for `text`; untrusted input in, markup without script or styles out."""
    if not text:
        return mark_safe("")
    html = markdown_lib.markdown(
        text, extensions=["fenced_code", "tables", "sane_lists", "nl2br"], output_format="html"
    )
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        clean_content_tags={"script", "style"},
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 with an allow-list just above
