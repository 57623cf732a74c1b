"""One error shape for the whole API: {"error": {"code": "...", "message": "..."}}."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from infra.exceptions import DomainError, RateLimited

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def json_error(
    status_code: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JsonResponse:
    """For plain Django views (webhook ingest, health) that answer in the API's error shape."""
    return JsonResponse(error_body(code, message, **extra), status=status_code, headers=headers)


# Django refuses a request body past its DATA_UPLOAD_* limits while DRF parses it, inside the
# view; DRF's own handler does not know these exceptions, so without this they were 500s.
REQUEST_LIMIT_ERRORS: tuple[tuple[type[Exception], str, str], ...] = (
    (
        TooManyFieldsSent,
        "too_many_fields",
        "The request has more form fields than DATA_UPLOAD_MAX_NUMBER_FIELDS allows; send JSON.",
    ),
    (
        TooManyFilesSent,
        "too_many_files",
        "The request has more files than DATA_UPLOAD_MAX_NUMBER_FILES allows.",
    ),
    (
        RequestDataTooBig,
        "request_too_large",
        "The request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE allows.",
    ),
)


def _request_limit_response(exc: Exception) -> Response | None:
    for exception_type, code, message in REQUEST_LIMIT_ERRORS:
        if isinstance(exc, exception_type):
            return Response(error_body(code, message), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, SuspiciousOperation):  # as Django answers it outside DRF: 400, no detail
        return Response(error_body("bad_request", "Bad request."), status=status.HTTP_400_BAD_REQUEST)
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, reshaped; unexpected exceptions become a logged 500 without a traceback."""
    if isinstance(exc, DomainError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return Response(error_body(exc.code, exc.message), status=exc.status_code, headers=headers)
    refused = _request_limit_response(exc)
    if refused is not None:
        return refused
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            error_body("server_error", "An unexpected error occurred."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", "The request has invalid fields.", fields=fields)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = str(detail) if not isinstance(detail, list | dict) else exc.default_detail
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response.data = error_body(str(code), str(message))
    if isinstance(exc, exceptions.Throttled) and exc.wait:
        response["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    return response


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/healthz", "/readyz", "/metrics"))


def handler404(request: HttpRequest, exception: Exception | None = None):
    if _wants_json(request):
        return json_error(404, "not_found", "Not found.")
    return render(request, "errors/404.html", status=404)


def handler500(request: HttpRequest):
    if _wants_json(request):
        return json_error(500, "server_error", "An unexpected error occurred.")
    # No request context: the page must render even when the database is what failed.
    return HttpResponseServerError(render_to_string("errors/500.html"))


def handler403(request: HttpRequest, exception: Exception | None = None):
    if _wants_json(request):
        return json_error(403, "permission_denied", "You do not have permission to do this.")
    # Our views raise PermissionDenied with a sentence written for the person; Django's own have none.
    reason = str(exception) if isinstance(exception, PermissionDenied) and exception.args else ""
    return render(request, "errors/403.html", {"reason": reason}, status=403)


def handler400(request: HttpRequest, exception: Exception | None = None):
    if _wants_json(request):
        return json_error(400, "bad_request", "Bad request.")
    return render(request, "errors/400.html", status=400)


def csrf_failure(request: HttpRequest, reason: str = ""):
    if _wants_json(request):
        return json_error(
            403, "csrf_failed", "CSRF check failed; send the csrftoken cookie's value in X-CSRFToken."
        )
    context = {"reason": "Your form expired; reload the page and try again."}
    return render(request, "errors/403.html", context, status=403)
