"""The outbound HTTP client: one POST, bounded in time and size, no redirects, SSRF guard.

A target is checked twice: when a subscription is saved (a clear validation error) and again
right before every send, after DNS resolution. The send then connects to the very address that
was checked (the URL is rewritten to the IP; Host header and TLS SNI keep the hostname), so a
DNS answer that changes between the check and the connection (rebinding) cannot reach an
internal address. Hosts listed in DELIVERY_ALLOWED_HOSTS skip the address check (for local
receivers in development and tests).
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import certifi
import httpx
from django.conf import settings

RESPONSE_EXCERPT_BYTES = 1000
USER_AGENT = "MissionControl-Webhooks/1"


class UnsafeTarget(Exception):
    """The URL is not an http(s) URL or its host resolves to an address we refuse to call."""


class UnresolvableTarget(UnsafeTarget):
    """DNS did not answer: at send time this is a network error (retried), not a refusal."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# NAT64: the well-known prefix carries an IPv4 address in its last 32 bits (RFC 6052); the
# local-use prefix (RFC 8215) places it anywhere the operator likes, so it is refused outright.
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address routes to: IPv4-mapped (::ffff:a.b.c.d), 6to4
    (2002:AABB:CCDD::/48) or NAT64 (64:ff9b::a.b.c.d). Python calls 6to4 and NAT64 addresses
    global whatever they carry, so 2002:7f00:1:: would otherwise pass as a public address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_refused_address(address: IPAddress) -> bool:
    """Loopback, private, link-local (incl. 169.254.169.254 metadata), reserved, multicast, CGNAT.

    `is_global` is False for all of those special-purpose ranges; IPv6 addresses that carry an
    IPv4 address (mapped, 6to4, NAT64) are judged by that IPv4 address, so ::ffff:127.0.0.1,
    2002:7f00:1:: and 64:ff9b::7f00:1 are loopback too.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address in NAT64_LOCAL_USE:
            return True
        address = embedded_ipv4(address) or address
    return (
        not address.is_global
        or address.is_multicast
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_reserved
        or address.is_unspecified
    )


def _split(url: str):
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeTarget("Only http and https URLs can be called.")
    if not parts.hostname:
        raise UnsafeTarget("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeTarget("Credentials in the URL are not allowed; sign with the secret instead.")
    return parts


def host_is_allowlisted(host: str) -> bool:
    allowed = {entry.strip().lower().strip("[]") for entry in settings.DELIVERY_ALLOWED_HOSTS}
    return host.lower().strip("[]") in allowed


def resolve_safe_address(url: str) -> IPAddress | None:
    """The address to connect to, checked; None when the host is allowlisted (connect by name).

    Every address the name resolves to must be acceptable: picking the first public one
    would let a name that also resolves to an internal address through on another resolver.
    """
    parts = _split(url)
    host = parts.hostname
    if host_is_allowlisted(host):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnresolvableTarget(f"The host {host!r} does not resolve.") from exc
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
        if not addresses:
            raise UnresolvableTarget(f"The host {host!r} does not resolve.")
    for address in addresses:
        if is_refused_address(address):
            raise UnsafeTarget(
                f"The host {host!r} resolves to a private, loopback, link-local or reserved "
                "address; add it to DELIVERY_ALLOWED_HOSTS if this is intended."
            )
    return addresses[0]


def check_target_url(url: str) -> None:
    """Save-time validation; raises UnsafeTarget with a message fit for a form or API error."""
    resolve_safe_address(url)


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
    parts = _split(url)
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
