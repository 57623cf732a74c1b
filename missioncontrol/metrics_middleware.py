"""Counts every HTTP request and its latency, labelled by route template, never by raw path.

`/api/v1/boards/<int:board_id>/` is one label whatever the id, so the number of series stays
bounded by the number of routes. Requests no route matched share one label.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from missioncontrol.metrics import HTTP_LATENCY, HTTP_REQUESTS

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


class MetricsMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    @staticmethod
    def _observe(request: HttpRequest, response: HttpResponse, started: float) -> HttpResponse:
        route = route_label(request)
        method = request.method if request.method in _METHODS else "OTHER"
        HTTP_REQUESTS.labels(method=method, route=route, status=str(response.status_code)).inc()
        HTTP_LATENCY.labels(method=method, route=route).observe(time.perf_counter() - started)
        return response

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        started = time.perf_counter()
        return self._observe(request, self.get_response(request), started)

    async def __acall__(self, request: HttpRequest):
        started = time.perf_counter()
        return self._observe(request, await self.get_response(request), started)


# Anything else is folded into OTHER: a client must not be able to mint label values.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
