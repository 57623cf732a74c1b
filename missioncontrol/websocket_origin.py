"""Websocket origin check: the Origin must be one of ALLOWED_HOSTS or CSRF_TRUSTED_ORIGINS."""

from __future__ import annotations

from channels.security.websocket import OriginValidator as ChannelsOriginValidator
from django.conf import settings


def allowed_origins() -> list[str]:
    """Channels' pattern syntax: host names from ALLOWED_HOSTS, full origins from CSRF_TRUSTED_ORIGINS."""
    origins = [host.strip("[]") if host.startswith("[") else host for host in settings.ALLOWED_HOSTS]
    origins += list(settings.CSRF_TRUSTED_ORIGINS)
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        origins += ["localhost", "127.0.0.1", "::1"]
    return origins


class OriginValidator(ChannelsOriginValidator):
    """Refuses the handshake (403) from a foreign origin. A missing Origin (non-browser agents
    that authenticate with a token) is allowed, but its Cookie header is dropped: every browser
    sends an Origin on a websocket handshake, so a cookie without one is not a browser's and must
    not authenticate a session (the browser streams also refuse a handshake without Origin)."""

    def __init__(self, application) -> None:
        super().__init__(application, allowed_origins())

    async def __call__(self, scope, receive, send):
        headers = scope.get("headers") or []
        if scope.get("type") == "websocket" and not any(name == b"origin" for name, _ in headers):
            scope = dict(scope, headers=[(name, value) for name, value in headers if name != b"cookie"])
        return await super().__call__(scope, receive, send)

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)

