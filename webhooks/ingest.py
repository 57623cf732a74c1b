"""`POST /api/v1/boards/<board_id>/webhooks/<webhook_id>`: where senders deliver payloads.

A DRF view with no session and no CSRF: senders authenticate with an HMAC of the raw body,
nothing else. The checks run cheapest first, each with its own status:

    rate limit per IP (429, the throttle) -> method (405) -> webhook exists (404) -> enabled
    (410) -> body size while reading (413, the parser) -> signature (403, the authentication)
    -> store (202 only after the commit, or 503 when the database is down)

DRF's own `initial()` would authenticate before throttling; WebhookIngestView.initial() runs
them in the order above. Every error answers in the API's JSON shape through the shared
exception handler, and counts in mc_webhook_ingests_total by outcome.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from rest_framework import exceptions, parsers, throttling
from rest_framework.authentication import BaseAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.encryption import SecretUnreadable
from core.signing import verify_sha256_signature, verify_standard_webhook_signature
from infra.client_ip import client_ip_from_meta
from infra.exceptions import DomainError, NotFound
from infra.metrics import WEBHOOK_INGESTS
from infra.ratelimits import hit
from webhooks import refusals, services
from webhooks.models import BoardWebhook

logger = logging.getLogger(__name__)

READ_CHUNK_BYTES = 64 * 1024
DATABASE_RETRY_AFTER_SECONDS = 10
# Refusals of a known webhook that its page counts per day (a misconfigured sender shows up there).
COUNTED_REFUSALS = {
    "disabled",
    "too_large",
    "missing_signature",
    "invalid_timestamp",
    "invalid_signature",
    "invalid",
}
# The headers a sender's delivery id may come in, in order of preference.
DELIVERY_ID_HEADERS = ("webhook-id", "x-github-delivery", "idempotency-key")


def current_time() -> float:
    """The clock Standard Webhooks timestamps are checked against (a seam for tests)."""
    return time.time()


# --- errors: each carries the outcome it is counted under ------------------------------------------


class IngestError(exceptions.APIException):
    outcome = "invalid"
    retry_after: int | None = None


class WebhookRateLimited(exceptions.Throttled):
    default_code = "rate_limited"
    outcome = "rate_limited"


class WebhookNotFound(IngestError):
    status_code, default_code, default_detail, outcome = 404, "not_found", "Not found.", "not_found"


class WebhookDisabled(IngestError):
    status_code, default_code, default_detail, outcome = 410, "gone", "This webhook is disabled.", "disabled"


class PayloadTooLarge(IngestError):
    status_code, default_code, outcome = 413, "payload_too_large", "too_large"


class SignatureRejected(IngestError):
    status_code = 403

    def __init__(self, code: str, message: str) -> None:
        super().__init__(detail=message, code=code)
        self.outcome = code


class StorageUnavailable(IngestError):
    status_code, default_code, outcome = 503, "unavailable", "unavailable"
    default_detail = "Storage is unavailable; retry later."
    retry_after = DATABASE_RETRY_AFTER_SECONDS


class SecretUnavailable(StorageUnavailable):
    default_detail, outcome = "This webhook cannot verify payloads now.", "secret_unreadable"


# --- the request, the parser, the throttle, the authentication ---------------------------------------


class RawBodyRequest(Request):
    """DRF's Request decides from Content-Length whether there is a body (absent or 0: none) and
    skips the parser without a Content-Type. A sender's body is read whatever the headers say;
    RawBodyParser bounds it."""

    def _load_stream(self) -> None:
        self._stream = self._request if not self._request._read_started else io.BytesIO(self._request.body)

    @property
    def content_type(self) -> str:
        return super().content_type or "application/octet-stream"


class RawBodyParser(parsers.BaseParser):
    """The body as bytes, read in chunks; 413 once it passes WEBHOOK_MAX_PAYLOAD_BYTES.

    Content-Length is only trusted to refuse early: a body that claims to be small but is not
    (chunked, absent or lying length) is still cut off at the limit while reading.
    """

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        limit = settings.WEBHOOK_MAX_PAYLOAD_BYTES
        too_large = PayloadTooLarge(f"The payload is larger than {limit} bytes.")
        declared = parser_context["request"].META.get("CONTENT_LENGTH", "") if parser_context else ""
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = stream.read(min(READ_CHUNK_BYTES, limit + 1 - total))
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > limit:
                raise too_large
            chunks.append(chunk)


class JSONOnlyNegotiation(BaseContentNegotiation):
    """Senders get JSON whatever they Accept; no negotiation work on the hot path."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def source_ip(request) -> str | None:
    try:
        return str(ipaddress.ip_address(client_ip_from_meta(request.META)))
    except ValueError:
        return None


class WebhookIngestThrottle(throttling.BaseThrottle):
    """WEBHOOK_INGEST_RATE per client address, over the shared limiter (fails open)."""

    def allow_request(self, request, view) -> bool:
        decision = hit("webhook_ingest", source_ip(request) or "unknown", settings.WEBHOOK_INGEST_RATE)
        self.retry_after = decision.retry_after
        return decision.allowed

    def wait(self) -> float:
        return self.retry_after


@dataclass(frozen=True)
class VerifiedSender:
    """request.user for a payload whose signature verified (or whose webhook is unsigned)."""

    webhook: BoardWebhook
    is_authenticated: bool = True


def _signature_headers(headers: dict[str, str], webhook: BoardWebhook) -> str:
    if webhook.signature_header:
        return webhook.signature_header.lower()
    if "x-hub-signature-256" in headers:
        return "x-hub-signature-256"
    return "x-webhook-signature"


def check_signature(webhook: BoardWebhook, headers: dict[str, str], body: bytes) -> None:
    """Returns when the payload is authentic (or the webhook is unsigned); else SignatureRejected.

    The messages say which header is missing or that the signature does not match, never
    what was expected. Standard Webhooks headers win when present; otherwise the webhook's
    own header, else X-Hub-Signature-256, else X-Webhook-Signature carries `sha256=<hex>`.
    """
    valid_secrets = services.webhook_secrets(webhook)
    if not valid_secrets:
        return
    if "webhook-signature" in headers:
        msg_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
        if not msg_id or not timestamp:
            raise SignatureRejected(
                "missing_signature",
                "Standard Webhooks signatures need the webhook-id and webhook-timestamp headers.",
            )
        tolerance = settings.WEBHOOK_TOLERANCE_SECONDS
        if not timestamp.isdigit() or abs(current_time() - int(timestamp)) > tolerance:
            raise SignatureRejected(
                "invalid_timestamp", "The webhook-timestamp header is outside the allowed tolerance."
            )
        # Every secret is checked (no early exit), so timing does not say which one matched.
        results = [
            verify_standard_webhook_signature(secret, msg_id, timestamp, body, headers["webhook-signature"])
            for secret in valid_secrets
        ]
        header_name = "webhook-signature"
    else:
        header_name = _signature_headers(headers, webhook)
        value = headers.get(header_name)
        if not value:
            raise SignatureRejected(
                "missing_signature", f"The {header_name} header with the payload's signature is missing."
            )
        results = [verify_sha256_signature(secret, body, value) for secret in valid_secrets]
    if not any(results):
        raise SignatureRejected(
            "invalid_signature", f"The signature in {header_name} does not match the payload."
        )


class WebhookSignatureAuthentication(BaseAuthentication):
    """Finds the webhook (404, 410), reads the body through the parser (413), verifies its HMAC
    over the raw bytes (403). Returns (VerifiedSender, webhook)."""

    def authenticate(self, request) -> tuple[VerifiedSender, BoardWebhook]:
        kwargs = request.parser_context["kwargs"]
        try:
            webhook = services.get_webhook_for_ingest(
                board_id=kwargs["board_id"], webhook_id=kwargs["webhook_id"]
            )
        except NotFound:
            raise WebhookNotFound() from None
        except DatabaseError:
            logger.warning(
                "webhook ingest: database unavailable while looking up webhook %s", kwargs["webhook_id"]
            )
            raise StorageUnavailable() from None
        # Refusals past this point are counted per webhook and day (WebhookIngestView.handle_exception).
        request._ingest_webhook = webhook
        refusals.mark_webhook_known(webhook.pk)
        if not webhook.enabled:
            raise WebhookDisabled()
        body = request.data
        try:
            check_signature(webhook, request_headers(request), body)
        except SecretUnreadable:
            logger.error("webhook %s: its secret cannot be decrypted with the configured keys", webhook.pk)
            raise SecretUnavailable() from None
        return VerifiedSender(webhook), webhook


def request_headers(request) -> dict[str, str]:
    cached = getattr(request, "_lowercase_headers", None)
    if cached is None:
        cached = request._lowercase_headers = {name.lower(): value for name, value in request.headers.items()}
    return cached


def _delivery_id(headers: dict[str, str]) -> str | None:
    for name in DELIVERY_ID_HEADERS:
        value = headers.get(name, "").strip()
        if value:
            return value
    return None


# --- the view -----------------------------------------------------------------------------------------


class WebhookIngestView(APIView):
    authentication_classes = [WebhookSignatureAuthentication]
    permission_classes: list = []
    throttle_classes = [WebhookIngestThrottle]
    parser_classes = [RawBodyParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation
    http_method_names = ["post"]
    schema = None  # not part of the human API's schema; docs/webhooks.md documents it

    def initialize_request(self, request, *args, **kwargs) -> RawBodyRequest:
        return RawBodyRequest(
            request,
            parsers=self.get_parsers(),
            authenticators=self.get_authenticators(),
            negotiator=self.get_content_negotiator(),
            parser_context=self.get_parser_context(request),
        )

    def initial(self, request, *args, **kwargs) -> None:
        """The documented order: throttle, method, then authentication (lookup, size, signature)."""
        self.format_kwarg = None
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
        self.check_throttles(request)
        if request.method.lower() not in self.http_method_names:
            raise exceptions.MethodNotAllowed(request.method, detail="Webhooks accept POST only.")
        self.perform_authentication(request)

    def throttled(self, request, wait) -> None:
        raise WebhookRateLimited(wait=wait, detail="Too many webhook requests from this address.")

    def post(self, request, board_id: int, webhook_id: int) -> Response:
        webhook: BoardWebhook = request.auth
        headers = request_headers(request)
        try:
            result = services.ingest_webhook_payload(
                webhook=webhook,
                body=request.data,
                content_type=request.META.get("CONTENT_TYPE", ""),
                headers=headers,
                source_ip=source_ip(request),
                delivery_id=_delivery_id(headers),
            )
        except DatabaseError as exc:
            # Never a 2xx for a payload that is not committed: the sender must retry.
            logger.warning("webhook %s: storing a payload failed: %s", webhook.pk, type(exc).__name__)
            raise StorageUnavailable() from None
        WEBHOOK_INGESTS.labels(outcome="duplicate" if result.duplicate else "stored").inc()
        return Response({"id": str(result.payload.pk), "duplicate": result.duplicate}, status=202)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, exceptions.MethodNotAllowed):
            outcome = "method_not_allowed"
        elif isinstance(exc, DomainError):
            outcome = "invalid"
        else:
            outcome = getattr(exc, "outcome", "error")
        WEBHOOK_INGESTS.labels(outcome=outcome).inc()
        webhook = getattr(self.request, "_ingest_webhook", None)
        response = super().handle_exception(exc)
        # Per-minute counters in the cache for the alert rules' windows (webhooks.refusals).
        if webhook is not None and outcome in COUNTED_REFUSALS:
            services.count_webhook_refusal(webhook=webhook, reason=outcome)
            refusals.record_refusal(webhook.pk, response.status_code)
        elif outcome == "rate_limited":
            refusals.record_refusal(self.kwargs["webhook_id"], 429, require_known=True)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            response["Retry-After"] = str(retry_after)
        return response


ingest_webhook = WebhookIngestView.as_view()
