"""Design-system template helpers: icons from the sprite, avatars, relative times.

`{% load ui %}` then `{% icon "bot" %}`, `{% avatar name kind %}`, `{{ when|reltime }}`; the
markup matches docs/design-system.md so pages never hand-build these pieces.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django import template
from django.templatetags.static import static
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

AVATAR_HUES = 8


@register.simple_tag
def icon(name: str, label: str = "", css_class: str = "") -> SafeString:
    """An icon from static/icons/sprite.svg; decorative unless a label is given."""
    href = f"{static('icons/sprite.svg')}#{name}"
    classes = f"icon {css_class}".strip()
    if label:
        return format_html(
            '<svg class="{}" role="img" aria-label="{}"><use href="{}"></use></svg>', classes, label, href
        )
    return format_html(
        '<svg class="{}" aria-hidden="true" focusable="false"><use href="{}"></use></svg>', classes, href
    )


def initials(name: str) -> str:
    parts = [p for p in str(name or "?").replace("-", " ").replace("_", " ").replace(".", " ").split() if p]
    if not parts:
        return "?"
    if len(parts) == 1:
        return parts[0][:2].upper()
    return (parts[0][0] + parts[1][0]).upper()


@register.simple_tag
def avatar(name: str, kind: str = "user", size: str = "") -> SafeString:
    """Initials on a colour picked from the name (stable across pages); agents get a square."""
    hue = int(hashlib.sha1(str(name or "").encode(), usedforsecurity=False).hexdigest()[:4], 16) % AVATAR_HUES
    classes = f"avatar avatar-{kind} hue-{hue}" + (f" avatar-{size}" if size else "")
    if kind == "system":
        return format_html('<span class="{}" aria-hidden="true">{}</span>', classes, icon("zap"))
    if kind == "webhook":
        return format_html('<span class="{}" aria-hidden="true">{}</span>', classes, icon("webhook"))
    return format_html('<span class="{}" aria-hidden="true">{}</span>', classes, initials(name))


def relative(when: datetime, now: datetime | None = None) -> str:
    now = now or timezone.now()
    seconds = int((now - when).total_seconds())
    if seconds < 45:
        return "just now"
    minutes = seconds // 60
    if minutes < 1:
        return "1 min ago"
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    if days < 7:
        return "yesterday" if days == 1 else f"{days} days ago"
    return when.strftime("%-d %b %Y") if when.year != now.year else when.strftime("%-d %b")


@register.filter
def reltime(when: datetime | None) -> SafeString:
    """A <time> saying "just now" / "5 min ago"; static/js/app.js keeps it current."""
    if not when:
        return format_html("")
    local = timezone.localtime(when)
    return format_html(
        '<time class="reltime" datetime="{}" title="{}">{}</time>',
        when.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        relative(when),
    )
