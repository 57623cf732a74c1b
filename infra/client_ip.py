"""The client's address, trusting X-Forwarded-For only as far as TRUSTED_PROXY_COUNT says."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings


def client_ip_from_meta(meta: Mapping[str, str], trusted_proxy_count: int | None = None) -> str:
    """REMOTE_ADDR unless proxies are trusted; then the address the outermost trusted proxy saw.

    With N trusted proxies the last N entries of X-Forwarded-For were written by them, so the
    N-th from the right is the client as our first proxy saw it. Anything further left was
    written by the client and can be spoofed.
    """
    count = settings.TRUSTED_PROXY_COUNT if trusted_proxy_count is None else trusted_proxy_count
    remote = meta.get("REMOTE_ADDR", "") or "unknown"
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if not forwarded:
        return remote
    return forwarded[-count] if len(forwarded) >= count else forwarded[0]
