"""Counts every HTTP request and its latency, labelled by route template, never by raw path.

`/api/v1/boards/<int:board_id>/` is one label whatever the id, so the number of series stays
bounded by the number of routes. Requests no route matched share one label.
"""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from infra.metrics import HTTP_LATENCY, HTTP_REQUESTS
from infra.middleware import AroundMiddleware

_ANCHORS = re.compile(r"(?:(?<=^)|(?<=/))\^|\$$|\$(?=/)")
UNMATCHED = "<unmatched>"
STATIC = "<static>"


def route_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        # DRF routers contribute regex routes ("^boards/(?P<pk>[^/.]+)/$"): drop the anchors.
        return "/" + _ANCHORS.sub("", match.route)
    if request.path.startswith(settings.STATIC_URL):
        return STATIC
    return UNMATCHED


class MetricsMiddleware(AroundMiddleware):
    def before(self, request: HttpRequest) -> float:
        return time.perf_counter()

    def after(self, request: HttpRequest, response: HttpResponse, started: float) -> HttpResponse:
        route = route_label(request)
        method = request.method if request.method in _METHODS else "OTHER"
        HTTP_REQUESTS.labels(method=method, route=route, status=str(response.status_code)).inc()
        HTTP_LATENCY.labels(method=method, route=route).observe(time.perf_counter() - started)
        return response


# Anything else is folded into OTHER: a client must not be able to mint label values.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
