"""Personal API tokens for people's scripts: `Authorization: Token mcp_<public_id>_<secret>`.

Lookup is one indexed query by public id plus a constant-time digest compare. Failures are
counted per client address (AGENT_AUTH_RATE, the same budget as agent tokens) and logged with
the path and address only: never the token or any slice of it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from boards.models import PersonalToken
from missioncontrol.client_ip import client_ip_from_meta
from missioncontrol.ratelimits import hit

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "mcp_"  # noqa: S105 - a public prefix, not a secret
_TOKEN_RE = re.compile(r"^mcp_(?P<public_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43,128})$")
_DUMMY_DIGEST = hashlib.sha256(b"mission-control-no-such-personal-token").hexdigest()
AUTH_LIMITER = "personal_token_auth"
# last_used_at is informative; writing it on every call would make each API call a write.
LAST_USED_WRITE_INTERVAL = timedelta(seconds=60)


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


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw = header.strip().partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        client_ip = client_ip_from_meta(request.META)
        token = find_personal_token(raw.strip())
        if token is None:
            logger.warning(
                "personal token authentication failed: path=%s client_ip=%s", request.path, client_ip
            )
            decision = hit(AUTH_LIMITER, client_ip, settings.AGENT_AUTH_RATE)
            if not decision.allowed:
                raise exceptions.Throttled(wait=decision.retry_after)
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_WRITE_INTERVAL:
            PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "boards.api.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token mcp_…`, a personal API token created on the Tokens page.",
        }
