"""Every URL pattern of the project, walked from the URL conf, with a concrete URL for each.

Path parameters are filled with ids of objects of the first organization (tests.security.world),
so a member of another organization asking for them must be refused.

Excluded, on purpose:
- `admin/` (Django's admin: staff-only by Django itself; its CSRF and login are Django's own);
- static files (whitenoise serves them before the URL conf; they are public by design).
Format-suffix variants (`webhooks.json`) and trailing-slash aliases are NOT excluded: they are
checked under the row of the route name they share.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

EXCLUDED_PREFIXES = ("admin/", "static/", "media/")
WRITE_METHODS = ("post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    pattern: str  # the full pattern, e.g. "api/v1/^boards/(?P<pk>[^/.]+)/?$"
    name: str  # "namespace:name", or "" for an unnamed pattern
    callback: Any
    params: tuple[str, ...]

    @property
    def key(self) -> str:
        """The row of the expectations table that governs this route."""
        return self.name or self.pattern

    def write_methods(self) -> tuple[str, ...]:
        """The write methods the view declares; unknown (a plain function view): POST is tried."""
        actions = getattr(self.callback, "actions", None)
        if actions:
            return tuple(m for m in WRITE_METHODS if m in actions)
        cls = getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)
        if cls is not None:
            return tuple(m for m in WRITE_METHODS if hasattr(cls, m))
        return ("post",)


def _params(pattern_obj) -> list[str]:
    return list(pattern_obj.regex.groupindex)


def iter_routes(patterns=None, prefix: str = "", namespace: str = "", params=()) -> Iterator[Route]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        here = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from iter_routes(entry.url_patterns, here, ns, (*params, *_params(entry.pattern)))
        elif isinstance(entry, URLPattern):
            if here.lstrip("^").startswith(EXCLUDED_PREFIXES):
                continue
            name = f"{namespace}{entry.name}" if entry.name else ""
            yield Route(here, name, entry.callback, (*params, *_params(entry.pattern)))


_ROUTE_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def build_path(route: Route, values: dict[str, Any]) -> str:
    """The concrete path of a route: both path() converters and router regexes are filled in."""
    text = route.pattern
    # Regex groups first: "(?P<pk>...)" contains "<pk>", which the path() syntax would also match.
    text = _REGEX_PARAM.sub(lambda m: str(values[m.group("name")]), text)
    text = _ROUTE_PARAM.sub(lambda m: str(values[m.group("name")]), text)
    if "format" in route.params:
        # "webhooks\.json": the escaped dot before the suffix.
        text = text.replace("\\.", ".")
    text = text.replace("^", "").replace("$", "").replace("/?", "/")
    return "/" + text
