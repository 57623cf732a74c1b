"""The outbound address guard: which URLs Mission Control may call (SSRF), one copy for all.

Used when a URL is saved (a subscription's target, an agent's callback URL: a clear 400) and
again by deliveries.sending right before every send, after DNS resolution, where the connection
is then pinned to the checked address. Loopback, private, link-local (cloud metadata), reserved,
multicast and CGNAT addresses are refused, also when an IPv6 address carries one (IPv4-mapped,
6to4, NAT64). Hosts in DELIVERY_ALLOWED_HOSTS skip the address check (local receivers in
development and tests).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


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


def split_target_url(url: str):
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
    parts = split_target_url(url)
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


def check_url_at_save(url: str, *, allow_unresolvable: bool = False) -> None:
    """The save-time check; raises UnsafeTarget with a message fit for a form or API error.

    `allow_unresolvable`: a name that does not resolve yet is accepted
    (an agent registers its callback before its DNS exists); the send-time check, which runs
    after resolution, still refuses it if it then resolves to an internal address."""
    try:
        resolve_safe_address(url)
    except UnresolvableTarget:
        if not allow_unresolvable:
            raise
