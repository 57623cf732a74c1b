"""Personal API tokens' format and lookup: `mcp_<public_id>_<secret>`, sent as `Authorization: Token …`.

Issuing (core.services) and checking (core.api.authentication) both import this module, so
neither imports the other. Lookup is one indexed query by public id plus a constant-time digest
compare; the raw token is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.utils import timezone

from core.models import PersonalToken

TOKEN_PREFIX = "mcp_"  # noqa: S105 - a public prefix, not a secret
_TOKEN_RE = re.compile(r"^mcp_(?P<public_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43,128})$")
_DUMMY_DIGEST = hashlib.sha256(b"mission-control-no-such-personal-token").hexdigest()


def new_personal_token() -> tuple[str, str]:
    """A fresh (public_id, raw token). The raw token is shown once and never stored."""
    public_id = secrets.token_hex(8)
    return public_id, f"{TOKEN_PREFIX}{public_id}_{secrets.token_urlsafe(32)}"


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def find_personal_token(raw: str) -> PersonalToken | None:
    match = _TOKEN_RE.match(raw or "")
    if match is None:
        return None
    digest = token_digest(raw)
    token = PersonalToken.objects.select_related("user").filter(public_id=match["public_id"]).first()
    if token is None:
        hmac.compare_digest(digest, _DUMMY_DIGEST)  # same work whether or not the id exists
        return None
    if not hmac.compare_digest(digest, token.digest):
        return None
    now = timezone.now()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if not token.user.is_active:
        return None
    return token
