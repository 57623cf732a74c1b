"""Request plumbing: request ids, the slow-request log and the security headers."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import Token
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from infra.logs import current_request_id

logger = logging.getLogger("missioncontrol.requests")

# A caller-supplied id is kept only if it cannot smuggle anything into logs or headers.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI and ReDoc (served from drf-spectacular's local sidecar files) inject inline styles;
# ReDoc runs its search index in a blob: worker. Scripts stay 'self' only.
_DOCS_CSP = CONTENT_SECURITY_POLICY + "; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:"
_DOCS_PATHS = ("/api/v1/docs", "/api/v1/redoc")


def incoming_request_id(header_value: str | None) -> str:
    if header_value and _REQUEST_ID_RE.match(header_value):
        return header_value
    return uuid.uuid4().hex


class AroundMiddleware:
    """Base for middleware that runs code before and after the view in sync and async stacks
    alike, without the thread hop Django adds for sync-only middleware under ASGI.

    Subclasses implement `before(request) -> state` and `after(request, response, state)`.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def before(self, request: HttpRequest) -> Any:
        return None

    def after(self, request: HttpRequest, response: HttpResponse, state: Any) -> HttpResponse:
        return response

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        state = self.before(request)
        return self.after(request, self.get_response(request), state)

    async def __acall__(self, request: HttpRequest):
        state = self.before(request)
        return self.after(request, await self.get_response(request), state)


class RequestIdMiddleware(AroundMiddleware):
    """Gives every request an id (kept from X-Request-ID when well-formed), echoes it, logs slow ones."""

    def before(self, request: HttpRequest) -> tuple[Token, float]:
        request_id = incoming_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        return current_request_id.set(request_id), time.perf_counter()

    def after(self, request: HttpRequest, response: HttpResponse, state: tuple[Token, float]) -> HttpResponse:
        token, started = state
        response["X-Request-ID"] = request.request_id
        duration_ms = (time.perf_counter() - started) * 1000
        if duration_ms >= settings.REQUEST_LOG_SLOW_MS:
            # The path only: query strings can carry tokens.
            logger.warning(
                "slow request %s %s %s %.0fms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                # The id rides on the record itself, not only via the handler's filter: a
                # handler added later (a log shipper, pytest's capture) sees it too.
                extra={
                    "request_id": request.request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(duration_ms, 1),
                },
            )
        current_request_id.reset(token)
        return response


class SecurityHeadersMiddleware(AroundMiddleware):
    """The Content-Security-Policy (no inline script anywhere) on every response.

    X-Frame-Options, Referrer-Policy, nosniff and HSTS come from Django's own middleware,
    configured in settings.
    """

    def after(self, request: HttpRequest, response: HttpResponse, state: None) -> HttpResponse:
        policy = _DOCS_CSP if request.path.startswith(_DOCS_PATHS) else CONTENT_SECURITY_POLICY
        response.setdefault("Content-Security-Policy", policy)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response
