"""The outbound HTTP client: one POST, bounded in time and size, no redirects, SSRF guard.

The guard is infra.outbound_guard. A target is checked twice: when a subscription or
an agent's callback URL is saved (a clear validation error) and again right before every send,
after DNS resolution. The send then connects to the very address that
was checked (the URL is rewritten to the IP; Host header and TLS SNI keep the hostname), so a
DNS answer that changes between the check and the connection (rebinding) cannot reach an
internal address. Hosts listed in DELIVERY_ALLOWED_HOSTS skip the address check (for local
receivers in development and tests).
"""

from __future__ import annotations

import email.utils
import functools
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlunsplit

import certifi
import httpx
from django.conf import settings

from infra.outbound_guard import (
    IPAddress,
    UnresolvableTarget,
    UnsafeTarget,
    resolve_safe_address,
    split_target_url,
)

RESPONSE_EXCERPT_BYTES = 1000
USER_AGENT = "MissionControl-Webhooks/1"


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    duration_ms: int
    response_excerpt: str = ""
    retry_after: float | None = None
    error_class: str = ""
    error_message: str = ""
    refused: bool = False  # the SSRF guard said no: final, retrying would not help

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if unparsable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _pinned_request(url: str, address: IPAddress | None, headers: dict[str, str]):
    """URL and extensions that connect to `address` while speaking to the original host."""
    parts = split_target_url(url)
    if address is None:
        return url, headers, {}
    host_literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = host_literal + (f":{parts.port}" if parts.port else "")
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = parts.hostname + (f":{parts.port}" if parts.port else "")
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return pinned, {**headers, "Host": host_header}, extensions


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Built once per process: loading the CA bundle costs ~100 ms, more than a whole send.

    Only the context is shared, not a client: a pooled connection opened for one host name
    must never carry a request for another name that pins the same address.
    """
    return ssl.create_default_context(cafile=certifi.where())


def post(url: str, body: bytes, headers: dict[str, str]) -> SendResult:
    """POST once. Never raises for network trouble: the outcome is in the result."""
    timeout = settings.DELIVERY_TIMEOUT_SECONDS
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        address = resolve_safe_address(url)
    except UnresolvableTarget as exc:
        return SendResult(None, elapsed_ms(), error_class="DNSError", error_message=str(exc)[:500])
    except UnsafeTarget as exc:
        return SendResult(
            None, elapsed_ms(), error_class="UnsafeTarget", error_message=str(exc)[:500], refused=True
        )
    target, all_headers, extensions = _pinned_request(
        url, address, {"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers}
    )
    try:
        # trust_env=False: no proxy from the environment may route around the address check.
        with httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=_ssl_context()
        ) as client:
            request = client.build_request(
                "POST", target, content=body, headers=all_headers, extensions=extensions
            )
            response = client.send(request, stream=True)
            try:
                excerpt = b""
                # Read a bounded excerpt only, and stop at the time limit even if the server
                # trickles bytes: a receiver must not hold a worker beyond the timeout.
                for chunk in response.iter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= RESPONSE_EXCERPT_BYTES or time.monotonic() - started > timeout:
                        break
            finally:
                response.close()
            return SendResult(
                response.status_code,
                elapsed_ms(),
                response_excerpt=excerpt[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace"),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
    except httpx.TimeoutException as exc:
        return SendResult(
            None,
            elapsed_ms(),
            error_class=type(exc).__name__,
            error_message=f"No response within {timeout:g}s.",
        )
    except httpx.HTTPError as exc:
        return SendResult(None, elapsed_ms(), error_class=type(exc).__name__, error_message=str(exc)[:500])
