"""`POST /api/v1/boards/<board_id>/webhooks/<webhook_id>`: where senders deliver payloads.

A plain Django view (no DRF, no session, no CSRF): senders authenticate with an HMAC of the
raw body, nothing else. The checks run cheapest first, each with its own status:

    rate limit per IP (429) -> webhook exists (404) -> enabled (410) -> body size while
    reading (413) -> signature (403) -> store (202, or 503 when the database is down)

and every error answers in the API's JSON shape.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.encryption import SecretUnreadable
from core.signing import verify_sha256_signature, verify_standard_webhook_signature
from missioncontrol.client_ip import client_ip_from_meta
from missioncontrol.errors import json_error
from missioncontrol.exceptions import DomainError, NotFound
from missioncontrol.metrics import WEBHOOK_INGESTS
from missioncontrol.ratelimits import hit
from webhooks import refusals, services
from webhooks.models import BoardWebhook

logger = logging.getLogger(__name__)

READ_CHUNK_BYTES = 64 * 1024
DATABASE_RETRY_AFTER_SECONDS = "10"
# The headers a sender's delivery id may come in, in order of preference.
DELIVERY_ID_HEADERS = ("webhook-id", "x-github-delivery", "idempotency-key")
INGEST_PATH_RE = re.compile(r"^/api/v1/boards/\d+/webhooks/\d+$")


def current_time() -> float:
    """The clock Standard Webhooks timestamps are checked against (a seam for tests)."""
    return time.time()


class PayloadTooLarge(Exception):
    pass


def read_body_limited(request: HttpRequest, limit: int) -> bytes:
    """The raw body, read from the stream in chunks; PayloadTooLarge once it passes `limit`.

    Content-Length is only trusted to refuse early: a body that claims to be small but is not
    (chunked, absent or lying length) is still cut off at the limit while reading. Not
    request.body: that would buffer everything first and apply DATA_UPLOAD_MAX_MEMORY_SIZE.
    """
    declared = request.META.get("CONTENT_LENGTH", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = request.read(min(READ_CHUNK_BYTES, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge
        chunks.append(chunk)


def request_headers(request: HttpRequest) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


def _source_ip(request: HttpRequest) -> str | None:
    candidate = client_ip_from_meta(request.META)
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def _reject(
    outcome: str, status: int, code: str, message: str, headers: dict[str, str] | None = None,
    *, webhook: BoardWebhook | None = None, webhook_id: int | None = None, require_known: bool = False,
):
    WEBHOOK_INGESTS.labels(outcome=outcome).inc()
    if webhook is not None:
        services.count_webhook_refusal(webhook=webhook, reason=outcome)
    # Per-minute counters in the cache for the alert rules' windows (webhooks.refusals).
    if webhook_id is not None or webhook is not None:
        refusals.record_refusal(webhook_id or webhook.pk, status, require_known=require_known)
    return json_error(status, code, message, headers=headers)


def check_signature(webhook: BoardWebhook, headers: dict[str, str], body: bytes) -> JsonResponse | None:
    """None when the payload is authentic (or the webhook is unsigned), else the 403 to send.

    The messages say which header is missing or that the signature does not match, never
    what was expected. Standard Webhooks headers win when present; otherwise the webhook's
    own header, else X-Hub-Signature-256, else X-Webhook-Signature carries `sha256=<hex>`.
    """
    valid_secrets = services.webhook_secrets(webhook)
    if not valid_secrets:
        return None
    if "webhook-signature" in headers:
        msg_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
        if not msg_id or not timestamp:
            return _reject("missing_signature", 403, "missing_signature",
                           "Standard Webhooks signatures need the webhook-id and webhook-timestamp headers.",
                           webhook=webhook)
        tolerance = settings.WEBHOOK_TOLERANCE_SECONDS
        if not timestamp.isdigit() or abs(current_time() - int(timestamp)) > tolerance:
            return _reject("invalid_timestamp", 403, "invalid_timestamp",
                           "The webhook-timestamp header is outside the allowed tolerance.", webhook=webhook)
        # Every secret is checked (no early exit), so timing does not say which one matched.
        results = [
            verify_standard_webhook_signature(secret, msg_id, timestamp, body, headers["webhook-signature"])
            for secret in valid_secrets
        ]
        header_name = "webhook-signature"
    else:
        if webhook.signature_header:
            header_name = webhook.signature_header.lower()
        elif "x-hub-signature-256" in headers:
            header_name = "x-hub-signature-256"
        else:
            header_name = "x-webhook-signature"
        value = headers.get(header_name)
        if not value:
            return _reject("missing_signature", 403, "missing_signature",
                           f"The {header_name} header with the payload's signature is missing.",
                           webhook=webhook)
        results = [verify_sha256_signature(secret, body, value) for secret in valid_secrets]
    if not any(results):
        return _reject("invalid_signature", 403, "invalid_signature",
                       f"The signature in {header_name} does not match the payload.", webhook=webhook)
    return None


def _delivery_id(headers: dict[str, str]) -> str | None:
    for name in DELIVERY_ID_HEADERS:
        value = headers.get(name, "").strip()
        if value:
            return value
    return None


@csrf_exempt
def ingest_webhook(request: HttpRequest, board_id: int, webhook_id: int) -> HttpResponse:
    source_ip = _source_ip(request)
    decision = hit("webhook_ingest", source_ip or "unknown", settings.WEBHOOK_INGEST_RATE)
    if not decision.allowed:
        return _reject("rate_limited", 429, "rate_limited", "Too many webhook requests from this address.",
                       headers={"Retry-After": str(decision.retry_after)}, webhook_id=webhook_id,
                       require_known=True)
    if request.method != "POST":
        return _reject("method_not_allowed", 405, "method_not_allowed", "Webhooks accept POST only.",
                       headers={"Allow": "POST"})
    try:
        webhook = services.get_webhook_for_ingest(board_id=board_id, webhook_id=webhook_id)
    except NotFound:
        return _reject("not_found", 404, "not_found", "Not found.")
    except DatabaseError:
        logger.warning("webhook ingest: database unavailable while looking up webhook %s", webhook_id)
        return _reject("unavailable", 503, "unavailable", "Storage is unavailable; retry later.",
                       headers={"Retry-After": DATABASE_RETRY_AFTER_SECONDS})
    refusals.mark_webhook_known(webhook.pk)
    if not webhook.enabled:
        return _reject("disabled", 410, "gone", "This webhook is disabled.", webhook=webhook)
    limit = settings.WEBHOOK_MAX_PAYLOAD_BYTES
    try:
        body = read_body_limited(request, limit)
    except PayloadTooLarge:
        return _reject("too_large", 413, "payload_too_large", f"The payload is larger than {limit} bytes.",
                       webhook=webhook)
    headers = request_headers(request)
    try:
        rejection = check_signature(webhook, headers, body)
    except SecretUnreadable:
        logger.error("webhook %s: its secret cannot be decrypted with the configured keys", webhook.pk)
        return _reject("secret_unreadable", 503, "unavailable", "This webhook cannot verify payloads now.",
                       headers={"Retry-After": DATABASE_RETRY_AFTER_SECONDS})
    if rejection is not None:
        return rejection
    try:
        result = services.ingest_webhook_payload(
            webhook=webhook,
            body=body,
            content_type=request.META.get("CONTENT_TYPE", ""),
            headers=headers,
            source_ip=source_ip,
            delivery_id=_delivery_id(headers),
        )
    except DomainError as exc:
        return _reject("invalid", exc.status_code, exc.code, exc.message, webhook=webhook)
    except DatabaseError as exc:
        # Never a 2xx for a payload that is not committed: the sender must retry.
        logger.warning("webhook %s: storing a payload failed: %s", webhook.pk, type(exc).__name__)
        return _reject("unavailable", 503, "unavailable", "Storage is unavailable; retry later.",
                       headers={"Retry-After": DATABASE_RETRY_AFTER_SECONDS})
    WEBHOOK_INGESTS.labels(outcome="duplicate" if result.duplicate else "stored").inc()
    return JsonResponse({"id": str(result.payload.pk), "duplicate": result.duplicate}, status=202)


@csrf_exempt
async def ingest_webhook_concurrently(request: HttpRequest, board_id: int, webhook_id: int) -> HttpResponse:
    """The route's view. Django runs every sync view of a process on one shared thread, one
    request at a time; ingest is mostly waiting on the database, so with
    WEBHOOK_INGEST_CONCURRENT it runs on the thread pool instead, several at once, each
    thread with its own (pooled) database connection."""
    if not settings.WEBHOOK_INGEST_CONCURRENT:
        return await sync_to_async(ingest_webhook, thread_sensitive=True)(request, board_id, webhook_id)
    return await sync_to_async(_ingest_off_the_request_thread, thread_sensitive=False)(
        request, board_id, webhook_id
    )


def _ingest_off_the_request_thread(request: HttpRequest, board_id: int, webhook_id: int) -> HttpResponse:
    try:
        return ingest_webhook(request, board_id, webhook_id)
    finally:
        # This pool thread is outside Django's request cycle, which would otherwise return
        # the connection (to the pool, or close it) at request_finished.
        connections.close_all()


class IngestBodyLimit:
    """ASGI wrapper: stops reading an ingest request's body one byte past the limit.

    Django's ASGI handler buffers the whole body before any view runs, so without this a
    sender could stream gigabytes into a temporary file before the view's 413. Past the limit
    the body is ended early (limit + 1 bytes), so the view answers 413 at once, and the
    response says `Connection: close` so the server drops the rest unread.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        is_ingest = scope["type"] == "http" and scope.get("method") == "POST"
        if not (is_ingest and INGEST_PATH_RE.match(scope["path"])):
            return await self.app(scope, receive, send)
        limit = settings.WEBHOOK_MAX_PAYLOAD_BYTES
        received = 0
        truncated = False
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        declared_too_large = declared.isdigit() and int(declared) > limit

        async def limited_receive():
            nonlocal received, truncated
            if truncated:
                # Django only listens for a disconnect now; reading on would pull in the
                # rest of the oversized body, so wait until the response is done instead.
                await asyncio.Future()
            if declared_too_large:
                # The view refuses it from the header alone; read none of it.
                truncated = True
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] != "http.request":
                return message
            body = message.get("body", b"")
            received += len(body)
            if received > limit:
                truncated = True
                keep = len(body) - (received - limit - 1)
                return {"type": "http.request", "body": body[:keep], "more_body": False}
            return message

        async def closing_send(message):
            if truncated and message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        return await self.app(scope, limited_receive, closing_send)
