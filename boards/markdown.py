"""Markdown for task descriptions and comments, rendered to HTML that is safe to show.

Markdown is converted first and the result sanitised with nh3 (an allow-list HTML cleaner):
raw HTML typed by a user or an agent is dropped (script and style with their content), and what
survives is limited to formatting tags and http(s)/mailto links, with no attribute that can run
script or style the page.
"""

from __future__ import annotations

import html as html_lib
import re

import markdown as markdown_lib
import nh3
from django.utils.html import escape
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


# Tags, or runs of text between them; mentions are linked only in text outside code and links.
_HTML_PARTS = re.compile(r"(<[^>]+>)")
_MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9][\w.-]{0,119})")
_NO_MENTIONS_INSIDE = {"code", "pre", "a"}


def link_mentions(html: str, mentions: dict[str, str]) -> str:
    """`@name` of a known agent or member becomes a link (or a highlighted name without a page).

    `mentions` maps lower-cased names to a URL ("" for people, who have no page). Runs on
    sanitised HTML; the inserted markup is built from escaped values only.
    """
    if not mentions:
        return html
    out, inside = [], 0
    for part in _HTML_PARTS.split(html):
        if part.startswith("<"):
            name = part[1:].lstrip("/").split(" ", 1)[0].split(">", 1)[0].lower()
            if name in _NO_MENTIONS_INSIDE:
                inside += -1 if part.startswith("</") else 1
            out.append(part)
            continue
        if inside > 0:
            out.append(part)
            continue

        def replace(match: re.Match) -> str:
            name = match.group(1).rstrip(".")
            url = mentions.get(name.lower())
            if url is None:
                return match.group(0)
            rest = match.group(1)[len(name) :]
            if url:
                return f'<a class="mention" href="{escape(url)}">@{escape(name)}</a>{rest}'
            return f'<span class="mention">@{escape(name)}</span>{rest}'

        out.append(_MENTION.sub(replace, part))
    return "".join(out)


# "- [x] done" renders as <li>[x] done</li> (or <li><p>[x] … in a loose list): the box is only
# recognised at the very start of an item, so "[x]" in code or mid-sentence stays text.
_TASK_ITEM = re.compile(r"<li>(\s*<p>)?\[([ xX])\]\s+")


def task_list_items(html: str) -> str:
    """Checklist items ("- [ ] todo", "- [x] done") become disabled checkboxes, as GitHub shows them.

    Runs on sanitised HTML and inserts constant markup only (nh3 would drop <input>, so it cannot
    come from the input)."""

    def box(match: re.Match) -> str:
        checked = " checked" if match.group(2) in "xX" else ""
        return f'<li class="task-list-item">{match.group(1) or ""}<input type="checkbox" disabled{checked}> '

    return _TASK_ITEM.sub(box, html)


def render_markdown(text: str, mentions: dict[str, str] | None = None) -> SafeString:
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
    return mark_safe(link_mentions(task_list_items(cleaned), mentions or {}))  # noqa: S308 - sanitised by nh3 above


# Where a block ends, plain text gets a space ("<p>a</p><p>b</p>" reads "a b", not "ab").
_BLOCK_ENDS = re.compile(r"</(?:p|li|h[1-6]|tr|td|th|pre|blockquote|ul|ol|table)>|<br\s*/?>|<hr\s*/?>", re.I)


def plain_text(text: str) -> str:
    """`text` with its Markdown taken out ("**182 ms**" reads "182 ms"), for one-line places that
    show no markup: feed quotes, search titles and excerpts. The result is plain text, not HTML:
    it is escaped where it is shown."""
    if not text:
        return ""
    html = markdown_lib.markdown(
        text, extensions=["fenced_code", "tables", "sane_lists"], output_format="html"
    )
    html = _BLOCK_ENDS.sub(" ", html)
    stripped = nh3.clean(html, tags=set(), attributes={}, clean_content_tags={"script", "style"})
    return " ".join(html_lib.unescape(stripped).split())
