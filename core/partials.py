"""The one answer to "does this request want a region of a page, not the whole page?".

A page region asks for itself through htmx (`hx-get`, `hx-post`, and live.js's refresh, which is
an htmx request too), so the signal is htmx's own `HX-Request` header. A boosted link also sends
it but wants the whole page. Views call `is_partial` and read no other header or parameter for
this (tests/test_partial_signal.py scans the views for the old ones).
"""

from __future__ import annotations

from django.http import HttpRequest


def is_partial(request: HttpRequest) -> bool:
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true"
