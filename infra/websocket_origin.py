"""Websocket origin check: the same rule Django's CSRF check applies to a form POST.

An `Origin` is accepted when it is the site itself — the scheme, host and port the handshake
reached (`Host`, checked against ALLOWED_HOSTS; https when the socket is TLS or, behind a trusted
proxy, when SECURE_PROXY_SSL_HEADER says so) — or one of CSRF_TRUSTED_ORIGINS (full origins,
`https://*.example.com` for subdomains). Ports and schemes count: `http://127.0.0.1:9999` is a
different origin from the site on `http://127.0.0.1:8000`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def normalised_origin(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the scheme's default port filled in; None if not an http(s) origin."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or _DEFAULT_PORTS[parts.scheme]


def _allowed_hosts() -> list[str]:
    # Django's HttpRequest.get_host() rule, including its DEBUG default.
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return list(settings.ALLOWED_HOSTS)


def _is_secure(scope: dict[str, Any]) -> bool:
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if not proxy_header:
        return False
    name, secure_value = proxy_header
    header_name = name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
    value = _header(scope, header_name)
    return value is not None and value.split(",", 1)[0].strip() == secure_value


def site_origin(scope: dict[str, Any]) -> tuple[str, str, int] | None:
    """The origin the handshake reached, or None when its Host is missing or not allowed."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host.lower())
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    scheme = "https" if _is_secure(scope) else "http"
    return normalised_origin(f"{scheme}://{host}")


def _trusted(origin: tuple[str, str, int]) -> bool:
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        if "*" in entry:
            trusted_scheme, _, netloc = entry.lower().partition("://")
            pattern = netloc.replace("*", "", 1)
            pattern_host, pattern_port = split_domain_port(pattern)
            wanted_port = int(pattern_port) if pattern_port else _DEFAULT_PORTS.get(trusted_scheme)
            if trusted_scheme == scheme and port == wanted_port and is_same_domain(host, pattern_host):
                return True
        elif normalised_origin(entry) == origin:
            return True
    return False


def origin_allowed(scope: dict[str, Any], origin: str) -> bool:
    parsed = normalised_origin(origin)
    if parsed is None:
        return False
    return parsed == site_origin(scope) or _trusted(parsed)


async def refuse_handshake(receive, send) -> None:
    """Close before accepting (the server answers 403). Plain ASGI, not channels' WebsocketDenier:
    a consumer opens a channel-layer receive (a Redis round trip, and a task left pending) for a
    socket that is refused anyway."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close"})


class OriginValidator:
    """Refuses the handshake (403) from a foreign origin. A missing Origin (non-browser agents
    that authenticate with a token) is allowed, but its Cookie header is dropped: every browser
    sends an Origin on a websocket handshake, so a cookie without one is not a browser's and must
    not authenticate a session (the browser streams also refuse a handshake without Origin)."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "websocket":
            return await self.application(scope, receive, send)
        origin = _header(scope, b"origin")
        if origin is None:
            headers = scope.get("headers") or []
            scope = dict(scope, headers=[(name, value) for name, value in headers if name != b"cookie"])
        elif not origin_allowed(scope, origin):
            return await refuse_handshake(receive, send)
        return await self.application(scope, receive, send)
