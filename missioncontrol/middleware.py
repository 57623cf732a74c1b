"""Request plumbing: request ids, the slow-request log and the security headers."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from missioncontrol.logs import current_request_id

logger = logging.getLogger("missioncontrol.requests")

# A caller-supplied id is kept only if it cannot smuggle anything into logs or headers.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI (served from drf-spectacular's local sidecar files) needs inline styles.
_DOCS_CSP = CONTENT_SECURITY_POLICY + "; style-src 'self' 'unsafe-inline'"


def incoming_request_id(header_value: str | None) -> str:
    if header_value and _REQUEST_ID_RE.match(header_value):
        return header_value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives every request an id (kept from X-Request-ID when well-formed), echoes it, logs slow ones."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _begin(self, request: HttpRequest):
        request_id = incoming_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        return request_id, current_request_id.set(request_id), time.perf_counter()

    def _finish(self, request: HttpRequest, response: HttpResponse, request_id: str, token, started: float):
        response["X-Request-ID"] = request_id
        duration_ms = (time.perf_counter() - started) * 1000
        if duration_ms >= settings.REQUEST_LOG_SLOW_MS:
            # The path only: query strings can carry tokens.
            logger.warning(
                "slow request %s %s %s %.0fms",
                request.method, request.path, response.status_code, duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(duration_ms, 1),
                },
            )
        current_request_id.reset(token)
        return response

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        request_id, token, started = self._begin(request)
        response = self.get_response(request)
        return self._finish(request, response, request_id, token, started)

    async def __acall__(self, request: HttpRequest):
        request_id, token, started = self._begin(request)
        response = await self.get_response(request)
        return self._finish(request, response, request_id, token, started)


class SecurityHeadersMiddleware:
    """The Content-Security-Policy (no inline script anywhere) on every response.

    X-Frame-Options, Referrer-Policy, nosniff and HSTS come from Django's own middleware,
    configured in settings.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    @staticmethod
    def _decorate(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        policy = _DOCS_CSP if request.path.startswith("/api/v1/docs") else CONTENT_SECURITY_POLICY
        response.setdefault("Content-Security-Policy", policy)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        return self._decorate(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest):
        return self._decorate(request, await self.get_response(request))
